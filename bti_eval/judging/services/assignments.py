"""Each judge's assignments: which explanations a judge rates (the round's design) and in which
order (shuffled by the judge's seed, no two of one pair adjacent), and the round's control items."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from bti_eval.judging.controls import CONTROL_METHOD, degrade
from bti_eval.judging.designs import allocate_k_per_item, fair_share, reassign, top_up
from bti_eval.judging.models import Assignment, Judge, new_public_id
from bti_eval.judging.ordering import spread_by_pair
from bti_eval.rounds.models import EvaluationRound, Explanation
from explainers.registry import available_methods


def public_id_avoid(methods: Collection[str] = ()) -> frozenset[str]:
    """Words a public id must not contain. A public id is random; one that happens to spell a word
    of a method's name ("bti", "vanilla", "gradient", "w2v", a plugin's "grad", ...) would only look
    like a leak, so it is drawn again (keeps judge pages free of every method name, even by chance).
    The words come from the registry's names (built-ins and installed plugins) and ``methods`` (a
    round's own, which may name a plugin no longer installed), in the singular; read at each call,
    since a plugin's names are known only once the registry has read its entry points."""
    names = {*available_methods(), *methods}
    return frozenset(word.removesuffix("s") for name in names for word in name.split("-"))


def _blind_public_id(avoid: frozenset[str]) -> str:
    while True:
        public_id = new_public_id()
        if not any(word in public_id.lower() for word in avoid):
            return public_id


def assignments_reassign(*, judge: Judge) -> int:
    """Give the real explanations a revoked judge left unrated in an open k-per-item round to other
    active judges, so that each is again assigned to k active judges (``designs.reassign``: the
    least loaded first, seeded by the round's and the judge's seeds; appended to their assignments,
    keeping the spread rule). Returns how many assignments were added; 0 for other designs and
    for rounds not open for rating. The revoked judge's own assignments and ratings stay. A judge
    gets two explanations of one pair here only when no other judge can take the second, so the
    appended items keep the spread rule wherever the judges' orders allow it. Crowd participants get
    none of them (their study has a fixed number of items)."""
    round = judge.round
    if round.design == EvaluationRound.Design.PAIRWISE:  # comparisons, not explanations
        from bti_eval.judging.services.pairwise import pairwise_reassign

        return pairwise_reassign(judge=judge)
    if round.design != EvaluationRound.Design.K_PER_ITEM or round.status != EvaluationRound.Status.RATING:
        return 0
    k = round.judges_per_explanation or 1
    pair_of = dict(
        judge.assignments.filter(rating__isnull=True, explanation__is_control=False)
        .order_by("position")
        .values_list("explanation_id", "explanation__pair_id")
    )
    left = list(pair_of)
    if not left:
        return 0
    # Invited judges only: a crowd participant was promised their number of items (later arrivals
    # take the unrated ones instead: a revoked judge holds nothing, services.studies).
    active = Judge.objects.filter(round=round, user__is_active=True, platform="").exclude(pk=judge.pk)
    loads = dict(active.annotate(n=Count("assignments")).order_by("id").values_list("id", "n"))
    holders: dict[int, set[int]] = {}
    for explanation_id, judge_id in Assignment.objects.filter(
        judge_id__in=list(loads), explanation_id__in=left
    ).values_list("explanation_id", "judge_id"):
        holders.setdefault(explanation_id, set()).add(judge_id)
    needed = {e: k - len(holders.get(e, ())) for e in left if len(holders.get(e, ())) < k}
    plan = reassign(needed, holders, loads, seed=seed_combine(round.seed, judge.seed, "revoked"), groups=pair_of)
    # assignments_build re-reads (and row-locks) each judge by id: no need to load them here.
    round_explanations = round_done_explanations(round.pk)
    return sum(
        assignments_build(judge=Judge(pk=j), explanation_ids=items, round_explanations=round_explanations)
        for j, items in sorted(plan.items())
    )


@transaction.atomic
def assignments_build(
    *,
    judge: Judge,
    explanation_ids: Collection[int] | None = None,
    round_explanations: list[tuple[int, int, bool]] | None = None,
) -> int:
    """Build (or extend) a judge's assignments from the round's DONE explanations; returns how many were added.

    Which explanations: ``explanation_ids`` when given (an allocation), else by the round's design:
    ``all`` → every real explanation; ``k-per-item`` → the ones already assigned, or, for a judge with
    none yet (invited after the round opened), a top-up of the least-covered ones (judging.designs).
    Control items go to every judge in every design. A ``pairwise`` round's judge gets pairwise
    items instead (``services.pairwise.pairwise_assignments_build``).

    Order: the new explanations (by id) shuffled with ``random.Random(judge.seed)``, then spread by
    ``spread_by_pair`` so that no two explanations of one pair are adjacent. Idempotent: explanations
    already assigned are kept where they are and only missing ones are appended, continuing the spread.

    ``round_explanations``: the round's ``round_done_explanations`` list when the caller has it already
    (``assignments_build_for_round`` reads it once for all its judges), else it is read here.
    """
    # One builder at a time per judge; the round row is read, not locked (``of``): a crowd arrival
    # builds beside ratings of the round, which share-lock it.
    judge = Judge.objects.select_for_update(of=("self",)).select_related("round").get(pk=judge.pk)
    if judge.round.design == EvaluationRound.Design.PAIRWISE:  # comparisons, not explanations
        from bti_eval.judging.services.pairwise import pairwise_assignments_build

        return pairwise_assignments_build(judge=judge)
    existing = list(judge.assignments.order_by("position").values_list("explanation_id", "explanation__pair_id"))
    if round_explanations is None:
        round_explanations = round_done_explanations(judge.round_id)
    if explanation_ids is None:
        real_ids = [explanation_id for explanation_id, _, is_control in round_explanations if not is_control]
        explanation_ids = _design_share(judge, {explanation_id for explanation_id, _ in existing}, real_ids)
    return _assignments_append(judge, existing, explanation_ids, round_explanations)


def assignments_build_new(
    *, judge: Judge, explanation_ids: Collection[int], round_explanations: list[tuple[int, int, bool]]
) -> int:
    """``assignments_build`` for a judge created in the caller's transaction (a crowd arrival): no
    one else can see the judge yet, so there is nothing to lock and nothing assigned to read."""
    return _assignments_append(judge, [], explanation_ids, round_explanations)


def _assignments_append(
    judge: Judge,
    existing: list[tuple[int, int]],
    explanation_ids: Collection[int],
    round_explanations: list[tuple[int, int, bool]],
) -> int:
    """Append the judge's missing ``explanation_ids`` and the round's control items after
    ``existing`` ((explanation, pair) in order): shuffled by the judge's seed, spread by pair."""
    assigned = {explanation_id for explanation_id, _ in existing}
    wanted = set(explanation_ids) | {
        explanation_id for explanation_id, _, is_control in round_explanations if is_control
    }
    missing = [
        (explanation_id, pair_id)
        for explanation_id, pair_id, _ in round_explanations
        if explanation_id in wanted and explanation_id not in assigned
    ]
    if not missing:
        return 0
    random.Random(judge.seed).shuffle(missing)
    ordered = spread_by_pair(
        missing, [pair_id for _, pair_id in missing], previous=existing[-1][1] if existing else None
    )
    start, avoid = len(existing), public_id_avoid(judge.round.methods)
    Assignment.objects.bulk_create(
        Assignment(
            judge=judge, explanation_id=explanation_id, position=start + offset, public_id=_blind_public_id(avoid)
        )
        for offset, (explanation_id, _) in enumerate(ordered)
    )
    return len(ordered)


def round_real_explanations(round_id: int) -> QuerySet[Explanation]:
    """The round's DONE real (not control) explanations."""
    return Explanation.objects.filter(round_id=round_id, status=Explanation.Status.DONE, is_control=False)


def round_done_explanations(round_id: int) -> list[tuple[int, int, bool]]:
    """``(id, pair_id, is_control)`` of every DONE explanation of a round, by id (one query)."""
    return list(
        Explanation.objects.filter(round_id=round_id, status=Explanation.Status.DONE)
        .order_by("id")
        .values_list("id", "pair_id", "is_control")
    )


def _design_share(judge: Judge, assigned: set[int], real_ids: list[int]) -> set[int]:
    """The real explanations a judge should have under the round's design (see assignments_build);
    ``real_ids``: the round's DONE real explanations."""
    round = judge.round
    if round.design != EvaluationRound.Design.K_PER_ITEM:
        return set(real_ids)
    mine = assigned.intersection(real_ids)
    if mine:
        return mine
    coverage = dict(
        round_real_explanations(round.pk)
        .annotate(n=Count("assignments", filter=Q(assignments__judge__user__is_active=True)))
        .values_list("id", "n")
    )
    n_judges = Judge.objects.filter(round=round, user__is_active=True).count()
    share = fair_share(len(coverage), round.judges_per_explanation or 1, max(n_judges, 1))
    return set(top_up(coverage, share, seed=seed_combine(round.seed, judge.seed)))


def seed_combine(*seeds: int | str) -> int:
    """One deterministic seed from several seeds and labels (stable across processes, unlike hash())."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, seeds)).encode()).digest()[:8], "big")


def assignments_build_for_round(*, round: EvaluationRound) -> int:
    """Build every (non-revoked) judge's assignments for ``round``; returns how many assignments were created.

    For ``k-per-item``, the judges who have no real explanation yet share them jointly
    (``allocate_k_per_item`` seeded by the round's seed) when there are several of them.
    """
    if round.design == EvaluationRound.Design.PAIRWISE:  # comparisons, not explanations
        from bti_eval.judging.services.pairwise import pairwise_build_for_round

        return pairwise_build_for_round(round=round)
    created = 0
    with transaction.atomic():
        judges = list(Judge.objects.filter(round=round, user__is_active=True).order_by("id"))
        round_explanations = round_done_explanations(round.pk)  # read once for every judge
        allocation: dict[int, list[int]] = {}
        if round.design == EvaluationRound.Design.K_PER_ITEM:
            real_ids = [explanation_id for explanation_id, _, is_control in round_explanations if not is_control]
            busy = set(
                Assignment.objects.filter(judge__in=judges, explanation__is_control=False).values_list(
                    "judge_id", flat=True
                )
            )
            fresh = [judge.pk for judge in judges if judge.pk not in busy]
            if fresh and not busy:
                k = round.judges_per_explanation or 1
                allocation = allocate_k_per_item(real_ids, fresh, k, seed=round.seed)
        for judge in judges:
            created += assignments_build(
                judge=judge, explanation_ids=allocation.get(judge.pk), round_explanations=round_explanations
            )
    return created


def controls_create(*, round: EvaluationRound) -> int:
    """Add the round's ``control_items`` control explanations (once); returns how many were created.

    Each is a degraded copy (judging.controls.degrade) of the first DONE real explanation of a
    distinct pair drawn with ``random.Random(round.seed)``; it is stored DONE with ``is_control``
    and method "control". At most one per pair, so at most the round's number of pairs.
    """
    wanted = round.control_items or 0
    with transaction.atomic():
        if wanted <= 0 or Explanation.objects.filter(round=round, is_control=True).exists():
            return 0
        base: dict[int, Explanation] = {}
        for explanation in round_real_explanations(round.pk).order_by("id"):
            base.setdefault(explanation.pair_id, explanation)
        pair_ids = sorted(base)
        chosen = random.Random(round.seed).sample(pair_ids, min(wanted, len(pair_ids)))
        now = timezone.now()
        Explanation.objects.bulk_create(
            Explanation(
                round=round,
                pair_id=pair_id,
                method=CONTROL_METHOD,
                is_control=True,
                status=Explanation.Status.DONE,
                payload=degrade(
                    base[pair_id].payload or {}, rng=random.Random(seed_combine(round.seed, "control", pair_id))
                ),
                started_at=now,
                finished_at=now,
                compute_seconds=0.0,
            )
            for pair_id in sorted(chosen)
        )
    return len(chosen)
