"""Each judge's pairwise items (design "pairwise"): which comparisons a judge gets, on which side
each method is shown, and in which order. The schedule's rules are ``judging.pairwise``'s; this
module reads the round, applies them and writes the assignments.

A pairwise item is an ``Assignment`` whose ``explanation`` is shown on the left and
``right_explanation`` on the right. The order is the judge's seeded shuffle spread so that no two
items of one pair are adjacent (``ordering.spread_by_pair``), as in rating rounds.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count

from bti_eval.judging.designs import fair_share, reassign
from bti_eval.judging.models import Assignment, Judge
from bti_eval.judging.ordering import spread_by_pair
from bti_eval.judging.pairwise import (
    Comparison,
    allocate_pairwise,
    comparisons,
    control_partner,
    left_first,
    top_up_pairwise,
)
from bti_eval.judging.services.assignments import _blind_public_id, public_id_avoid, seed_combine
from bti_eval.rounds.models import EvaluationRound, Explanation

# The key of a control item in a judge's plan: ("control", the control explanation's pair).
CONTROL = "control"


@dataclass
class PairwiseCatalog:
    """A round's DONE explanations as the pairwise schedule needs them (one query)."""

    methods: list[str]
    real: dict[tuple[int, str], int] = field(default_factory=dict)  # (pair, method) -> explanation id
    controls: dict[int, int] = field(default_factory=dict)  # pair -> control explanation id
    about: dict[int, tuple[int, str, bool]] = field(default_factory=dict)  # id -> (pair, method, is_control)

    @classmethod
    def of(cls, round: EvaluationRound) -> PairwiseCatalog:
        catalog = cls(methods=list(round.methods))
        rows = (
            Explanation.objects.filter(round=round, status=Explanation.Status.DONE)
            .order_by("id")
            .values_list("id", "pair_id", "method", "is_control")
        )
        for explanation_id, pair_id, method, is_control in rows:
            catalog.about[explanation_id] = (pair_id, method, is_control)
            if is_control:
                catalog.controls[pair_id] = explanation_id
            else:
                catalog.real[(pair_id, method)] = explanation_id
        return catalog

    def explained(self, pair: int) -> list[str]:
        """The round's methods with a real explanation of ``pair``, in the round's order."""
        return [m for m in self.methods if (pair, m) in self.real]

    def comparisons(self) -> list[Comparison]:
        pairs: dict[int, set[str]] = {}
        for pair, method in self.real:
            pairs.setdefault(pair, set()).add(method)
        return comparisons(pairs, self.methods)

    def key(self, left: int, right: int) -> Comparison | tuple[str, int]:
        """The plan key of the item showing explanations ``left`` and ``right``: its comparison
        (methods in the round's order), or ``("control", pair)`` for a control item."""
        (pair, left_method, left_control), (_, right_method, right_control) = self.about[left], self.about[right]
        if left_control or right_control:
            return (CONTROL, pair)
        a, b = sorted((left_method, right_method), key=self._rank)
        return (pair, a, b)

    def _rank(self, method: str) -> tuple[int, str]:
        return (self.methods.index(method), method) if method in self.methods else (len(self.methods), method)

    def sides(self, key, judge_seed: int) -> tuple[int, int]:
        """(left explanation id, right explanation id) of a plan key for a judge (random sides)."""
        if key[0] == CONTROL:
            pair = key[1]
            partner = control_partner(judge_seed, pair, self.explained(pair))
            first, second = self.real[(pair, partner)], self.controls[pair]
        else:
            pair, a, b = key
            first, second = self.real[(pair, a)], self.real[(pair, b)]
        return (first, second) if left_first(judge_seed, key) else (second, first)


def _held(judge: Judge) -> list[tuple[int, int, int]]:
    """The judge's items as (left id, right id, pair id), in their order."""
    return list(
        judge.assignments.order_by("position").values_list(
            "explanation_id", "right_explanation_id", "explanation__pair_id"
        )
    )


def pairwise_assignments_build(
    *, judge: Judge, comparisons: Collection[Comparison] | None = None, catalog: PairwiseCatalog | None = None
) -> int:
    """Build (or extend) a pairwise judge's items; returns how many were added. ``judge``: the
    caller holds its row lock (``assignments_build`` does), with ``judge.round`` loaded.

    Which comparisons: ``comparisons`` when given (an allocation), else the judge's share
    (``_share``); every control item of the round besides. Sides: ``PairwiseCatalog.sides``.
    Order: the new items shuffled with ``random.Random(judge.seed)``, spread by pair. Idempotent:
    items the judge holds stay where they are; only missing ones are appended."""
    catalog = catalog or PairwiseCatalog.of(judge.round)
    existing = _held(judge)
    held = {catalog.key(left, right) for left, right, _ in existing if right is not None}
    if comparisons is None:
        comparisons = _share(judge, held, catalog)
    wanted = [c for c in comparisons if c not in held]
    wanted += [(CONTROL, pair) for pair in sorted(catalog.controls) if (CONTROL, pair) not in held]
    if not wanted:
        return 0
    items = [(*catalog.sides(key, judge.seed), key[1] if key[0] == CONTROL else key[0]) for key in wanted]
    random.Random(judge.seed).shuffle(items)
    ordered = spread_by_pair(items, [pair for _, _, pair in items], previous=existing[-1][2] if existing else None)
    start, avoid = len(existing), public_id_avoid(judge.round.methods)
    Assignment.objects.bulk_create(
        Assignment(
            judge=judge,
            explanation_id=left,
            right_explanation_id=right,
            position=start + offset,
            public_id=_blind_public_id(avoid),
        )
        for offset, (left, right, _) in enumerate(ordered)
    )
    return len(ordered)


def _coverage(round: EvaluationRound, catalog: PairwiseCatalog) -> Counter:
    """How many active judges hold each comparison of the round."""
    rows = Assignment.objects.filter(
        judge__round=round, judge__user__is_active=True, right_explanation__isnull=False
    ).values_list("explanation_id", "right_explanation_id")
    return Counter(catalog.key(left, right) for left, right in rows)


def _share(judge: Judge, held: set, catalog: PairwiseCatalog) -> list[Comparison]:
    """The comparisons a judge should have: all of them without k; with k, the ones held already,
    or for a judge with none yet (invited after the round opened) a fair share ⌈N·k/J⌉ of the
    least-covered ones (``top_up_pairwise``)."""
    everything = catalog.comparisons()
    round = judge.round
    if not round.judges_per_explanation:
        return everything
    mine = [c for c in everything if c in held]
    if mine:
        return mine
    coverage = _coverage(round, catalog)
    n_judges = Judge.objects.filter(round=round, user__is_active=True).count()
    share = fair_share(len(everything), round.judges_per_explanation, max(n_judges, 1))
    counts = {c: coverage.get(c, 0) for c in everything}
    return top_up_pairwise(counts, share, seed=seed_combine(round.seed, judge.seed))


def pairwise_build_for_round(*, round: EvaluationRound) -> int:
    """Build every active judge's pairwise items when the round opens; returns how many were made.
    With k, the judges who have no items yet share the comparisons jointly (``allocate_pairwise``,
    seeded by the round's seed) when none has any yet."""
    created = 0
    with transaction.atomic():
        judges = list(Judge.objects.filter(round=round, user__is_active=True).order_by("id"))
        catalog = PairwiseCatalog.of(round)
        allocation: dict[int, list[Comparison]] = {}
        if round.judges_per_explanation:
            busy = set(
                Assignment.objects.filter(judge__in=judges, right_explanation__isnull=False).values_list(
                    "judge_id", flat=True
                )
            )
            fresh = [judge.pk for judge in judges if judge.pk not in busy]
            if fresh and not busy:
                allocation = allocate_pairwise(
                    catalog.comparisons(), fresh, round.judges_per_explanation, seed=round.seed
                )
        for judge in judges:
            locked = Judge.objects.select_for_update().select_related("round").get(pk=judge.pk)
            created += pairwise_assignments_build(judge=locked, comparisons=allocation.get(judge.pk), catalog=catalog)
    return created


def pairwise_reassign(*, judge: Judge) -> int:
    """Give the comparisons a revoked judge left unjudged in an open pairwise round with k to other
    active judges, so that each is again held by k active judges (``designs.reassign``: the least
    loaded first, no judge given a comparison they hold on either side, items of one pair to one
    judge only when nothing else fits). Returns how many items were added; 0 without k."""
    round = judge.round
    k = round.judges_per_explanation
    if not k or round.status != EvaluationRound.Status.RATING:
        return 0
    catalog = PairwiseCatalog.of(round)
    rows = judge.assignments.filter(rating__isnull=True, right_explanation__isnull=False).order_by("position")
    left = [catalog.key(a, b) for a, b in rows.values_list("explanation_id", "right_explanation_id")]
    left = [key for key in left if key[0] != CONTROL]
    if not left:
        return 0
    active = Judge.objects.filter(round=round, user__is_active=True).exclude(pk=judge.pk)
    loads = dict(active.annotate(n=Count("assignments")).order_by("id").values_list("id", "n"))
    holders: dict[Comparison, set[int]] = {}
    wanted = set(left)
    for a, b, judge_id in Assignment.objects.filter(
        judge_id__in=list(loads), right_explanation__isnull=False
    ).values_list("explanation_id", "right_explanation_id", "judge_id"):
        key = catalog.key(a, b)
        if key in wanted:
            holders.setdefault(key, set()).add(judge_id)
    needed = {key: k - len(holders.get(key, ())) for key in left if len(holders.get(key, ())) < k}
    plan = reassign(
        needed,
        holders,
        loads,
        seed=seed_combine(round.seed, judge.seed, "revoked"),
        groups={key: key[0] for key in needed},
    )
    created = 0
    for judge_id, items in sorted(plan.items()):
        locked = Judge.objects.select_for_update().select_related("round").get(pk=judge_id)
        created += pairwise_assignments_build(judge=locked, comparisons=items, catalog=catalog)
    return created
