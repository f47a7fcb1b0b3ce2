"""Writes for judging: invites, each judge's shuffled queue, and ratings.

Every service runs in ``transaction.atomic`` and raises ``ApplicationError`` (with the HTTP status
the API answers) for anything a user can cause.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
import secrets
from collections.abc import Collection
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging import queries
from bti_eval.judging.controls import CONTROL_METHOD, degrade
from bti_eval.judging.designs import allocate_k_per_item, fair_share, reassign, top_up
from bti_eval.judging.models import COMMENT_MAX_LENGTH, Assignment, Invite, Judge, Rating, RatingChange, new_public_id
from bti_eval.judging.ordering import spread_by_pair
from bti_eval.judging.selectors import (
    JUDGE_HTML_VERSION,
    JudgeItem,
    Progress,
    explanation_judge_html,
    judge_item_get,
    judge_next_and_progress,
    round_pair_similarities,
    round_pairs_shown,
)
from bti_eval.rounds.models import EvaluationRound, Explanation
from explainers.registry import available_methods

# A public id is random; one that happens to spell a word of a method's name ("bti", "vanilla",
# "gradient", "w2v", ...) would only look like a leak, so it is drawn again (keeps judge pages free
# of every method name, even by chance). The words come from the registry's names, in the singular.
PUBLIC_ID_AVOID = frozenset(word.removesuffix("s") for name in available_methods() for word in name.split("-"))
# Seconds on task are measured in the judge's browser from the moment the item was on screen
# (the page's first paint while visible) to the rating. A tab left open for hours says nothing
# about the task, so longer spans are clipped to this.
MAX_SECONDS_ON_TASK = 3600.0
MIN_SCORE, MAX_SCORE = 1, 5

SCORE_ERROR = "The score must be a whole number from 1 to 5."
ROUND_CLOSED = "This round is closed; ratings are frozen."
ROUND_NOT_OPEN = "This round is not open for rating yet; try again when the researcher opens it."
ASSIGNMENT_NOT_FOUND = "No such item in your queue."
OTHER_ITEM = (
    "This rating was given on another item than the one it was sent for, so it was not saved. "
    "Reload the page and rate the item you see."
)
COMMENT_TOO_LONG = f"The comment is too long: keep it to {COMMENT_MAX_LENGTH:,} characters."
COMMENT_NUL = "The comment contains a NUL character (\\0); remove it and send it again."


def token_hash(token: str) -> str:
    """sha256 hex digest of an invite token (only the hash is stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _blind_public_id() -> str:
    while True:
        public_id = new_public_id()
        if not any(word in public_id.lower() for word in PUBLIC_ID_AVOID):
            return public_id


# --- invites ---------------------------------------------------------------------------------


MAX_NAME_LENGTH = 200
MAX_BULK_INVITES = 500
INVITE_ROUND_CLOSED = "This round is closed; judges can no longer be invited."


def judge_name_clean(name: str | None) -> str:
    """A judge's name as given, stripped; ApplicationError for one that is too long or holds NUL
    (PostgreSQL cannot store NUL in text). An empty name stays empty (``judge_invite`` numbers it)."""
    name = (name or "").strip()
    if "\x00" in name:
        raise ApplicationError("The judge's name must not contain NUL characters.")
    if len(name) > MAX_NAME_LENGTH:
        raise ApplicationError(f"The judge's name must be at most {MAX_NAME_LENGTH} characters.")
    return name


def _invite_expiry(expires_in_hours: int | None):
    if expires_in_hours is None:
        return None
    if isinstance(expires_in_hours, bool) or not (1 <= expires_in_hours <= 24 * 365):
        raise ApplicationError("An invite must expire after 1 hour to 1 year (or never).")
    return timezone.now() + timedelta(hours=expires_in_hours)


def _round_for_invites(round: EvaluationRound) -> EvaluationRound:
    round = EvaluationRound.objects.select_for_update().get(pk=round.pk)  # orders us with round opening
    if round.status == EvaluationRound.Status.CLOSED:
        raise ApplicationError(INVITE_ROUND_CLOSED, status=409)
    return round


def _judge_create(*, round: EvaluationRound, name: str, expires_at) -> tuple[Judge, str]:
    """A judge, their user and invite (``round`` row-locked by the caller); returns (judge, token)."""
    if not name:  # "Judge N", N counting the round's judges with this one (the round row is locked)
        name = f"Judge {Judge.objects.filter(round=round).count() + 1}"
    user = get_user_model()(username=f"judge-{secrets.token_hex(8)}")
    user.set_unusable_password()
    user.save()
    judge = Judge.objects.create(round=round, user=user, name=name, seed=secrets.randbits(62))
    token = secrets.token_urlsafe(32)
    judge.invite = Invite.objects.create(judge=judge, token_hash=token_hash(token), expires_at=expires_at)
    if round.status == EvaluationRound.Status.RATING:
        assignments_build(judge=judge)
    return judge, token


@transaction.atomic
def judge_invite(*, round: EvaluationRound, name: str, expires_in_hours: int | None = 72) -> tuple[Judge, str]:
    """Create a judge for ``round`` and a one-time invite; returns (judge, raw token).

    The judge's user gets a random username and an unusable password (the invite link is the only
    way in). Only sha256(token) is stored, so the raw token can be shown once. If the round is
    already rating, the judge's queue is built at once. ``expires_in_hours=None``: never expires.
    An empty name becomes "Judge N", N counting the round's judges (this one included).
    """
    name = judge_name_clean(name)
    expires_at = _invite_expiry(expires_in_hours)
    round = _round_for_invites(round)
    return _judge_create(round=round, name=name, expires_at=expires_at)


@transaction.atomic
def judges_invite(
    *, round: EvaluationRound, names: list[str], expires_in_hours: int | None = 72
) -> list[tuple[Judge, str]]:
    """Invite several judges at once (``judge_invite`` for each name, in order): all or none. A bad
    name rejects the whole list, naming its line; empty names become "Judge N". At most
    ``MAX_BULK_INVITES`` per call."""
    if not names:
        raise ApplicationError("Give at least one name (an empty one becomes “Judge N”).")
    if len(names) > MAX_BULK_INVITES:
        raise ApplicationError(f"At most {MAX_BULK_INVITES} judges can be invited at once; got {len(names)}.")
    cleaned = []
    for line, name in enumerate(names, start=1):
        try:
            cleaned.append(judge_name_clean(name))
        except ApplicationError as exc:
            raise ApplicationError(f"Name {line}: {exc.message}", extra={"line": line}) from None
    expires_at = _invite_expiry(expires_in_hours)
    round = _round_for_invites(round)
    return [_judge_create(round=round, name=name, expires_at=expires_at) for name in cleaned]


@transaction.atomic
def invite_reissue(*, judge: Judge, expires_in_hours: int | None = 72) -> tuple[Judge, str]:
    """A new one-time link for the same judge; returns (judge, raw token). The old link stops
    working, and so does any session it opened (the user's unusable password is drawn again, which
    changes Django's session hash): the judge continues from the new link, on any device, with
    their queue, order and ratings as they were. The safe way for a judge to move to a second
    device. A revoked judge (409) must be invited again as a new judge; a closed round: 409."""
    judge = Judge.objects.select_for_update().select_related("user", "round").get(pk=judge.pk)
    if not judge.user.is_active:
        raise ApplicationError(
            "This judge was revoked; their link cannot be re-issued. Invite them again as a new judge.", status=409
        )
    if judge.round.status == EvaluationRound.Status.CLOSED:
        raise ApplicationError("This round is closed; links can no longer be re-issued.", status=409)
    expires_at = _invite_expiry(expires_in_hours)
    token = secrets.token_urlsafe(32)
    judge.invite, _ = Invite.objects.update_or_create(
        judge=judge,
        defaults={
            "token_hash": token_hash(token),
            "expires_at": expires_at,
            "used_at": None,
            "revoked_at": None,
            "created_at": timezone.now(),
        },
    )
    judge.user.set_unusable_password()  # a new session hash: the old device is signed out
    judge.user.save(update_fields=["password"])
    return judge, token


def invite_usable(*, token: str, user=None, lock: bool = False) -> Invite:
    """The invite behind ``token`` if it can still be used, else ApplicationError (nothing written).

    ``user`` is who the browser is already signed in as: the judge the link belongs to may always
    come back through it. Unknown → 404; revoked, used or expired → 410 with what to do.
    """
    invites = Invite.objects.select_related("judge__user").filter(token_hash=token_hash(token))
    invite = (invites.select_for_update() if lock else invites).first()
    if invite is None:
        raise ApplicationError(
            "This invite link is not valid. Check that you copied the whole link, or ask the researcher for a new one.",
            status=404,
        )
    if invite.revoked_at is not None:
        raise ApplicationError("This invite link was revoked; ask the researcher for a new one.", status=410)
    if invite.used_at is not None:
        if user is not None and user.is_authenticated and user.pk == invite.judge.user_id:
            return invite
        raise ApplicationError("This link was already used; ask the researcher for a new one.", status=410)
    if invite.expires_at is not None and invite.expires_at <= timezone.now():
        raise ApplicationError("This invite link has expired; ask the researcher for a new one.", status=410)
    return invite


@transaction.atomic
def invite_accept(*, token: str, user=None) -> Judge:
    """Use an invite: returns its judge, marking the invite used (single use, row-locked).

    A second use by the judge already signed in through it just continues (see ``invite_usable``).
    """
    invite = invite_usable(token=token, user=user, lock=True)
    if invite.used_at is None:
        invite.used_at = timezone.now()
        invite.save(update_fields=["used_at"])
    return invite.judge


@transaction.atomic
def invite_revoke(*, judge: Judge) -> Judge:
    """Revoke a judge's invite and access: the link stops working and the judge's user is deactivated
    (which ends any open session). Ratings already given stay. In a k-per-item round open for
    rating, the explanations the judge had not rated go to other active judges so that each keeps
    k of them (``assignments_reassign``); ``judge.reassigned`` says how many assignments that made.
    Revoking twice is harmless (and reassigns nothing the second time)."""
    judge = Judge.objects.select_for_update().select_related("user", "round").get(pk=judge.pk)
    now = timezone.now()
    Invite.objects.filter(judge=judge, revoked_at__isnull=True).update(revoked_at=now)
    judge.reassigned = 0
    if judge.user.is_active:
        judge.user.is_active = False
        judge.user.save(update_fields=["is_active"])
        judge.reassigned = assignments_reassign(judge=judge)
    return judge


def assignments_reassign(*, judge: Judge) -> int:
    """Give the real explanations a revoked judge left unrated in an open k-per-item round to other
    active judges, so that each is again queued for k active judges (``designs.reassign``: the
    least loaded first, seeded by the round's and the judge's seeds; appended to their queues,
    keeping the spread rule). Returns how many assignments were added; 0 for other designs and
    for rounds not open for rating. The revoked judge's own assignments and ratings stay. A judge
    gets two explanations of one pair here only when no other judge can take the second, so the
    appended items keep the spread rule wherever the queues allow it."""
    round = judge.round
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
    active = Judge.objects.filter(round=round, user__is_active=True).exclude(pk=judge.pk)
    loads = dict(active.annotate(n=Count("assignments")).order_by("id").values_list("id", "n"))
    holders: dict[int, set[int]] = {}
    for explanation_id, judge_id in Assignment.objects.filter(
        judge_id__in=list(loads), explanation_id__in=left
    ).values_list("explanation_id", "judge_id"):
        holders.setdefault(explanation_id, set()).add(judge_id)
    needed = {e: k - len(holders.get(e, ())) for e in left if len(holders.get(e, ())) < k}
    plan = reassign(needed, holders, loads, seed=_mix(round.seed, judge.seed, "revoked"), groups=pair_of)
    # assignments_build re-reads (and row-locks) each judge by id: no need to load them here.
    round_explanations = _round_done(round.pk)
    return sum(
        assignments_build(judge=Judge(pk=j), explanation_ids=items, round_explanations=round_explanations)
        for j, items in sorted(plan.items())
    )


def judge_is_revoked(*, judge: Judge) -> bool:
    return not judge.user.is_active


# --- queues ----------------------------------------------------------------------------------


@transaction.atomic
def assignments_build(
    *,
    judge: Judge,
    explanation_ids: Collection[int] | None = None,
    round_explanations: list[tuple[int, int, bool]] | None = None,
) -> int:
    """Build (or extend) a judge's queue from the round's DONE explanations; returns how many were added.

    Which explanations: ``explanation_ids`` when given (an allocation), else by the round's design:
    ``all`` → every real explanation; ``k-per-item`` → the ones already queued, or, for a judge with
    none yet (invited after the round opened), a top-up of the least-covered ones (judging.designs).
    Control items go to every judge in every design.

    Order: the new explanations (by id) shuffled with ``random.Random(judge.seed)``, then spread by
    ``spread_by_pair`` so that no two explanations of one pair are adjacent. Idempotent: explanations
    already queued are kept where they are and only missing ones are appended, continuing the spread.

    ``round_explanations``: the round's ``_round_done`` list when the caller has it already
    (``assignments_build_for_round`` reads it once for all its judges), else it is read here.
    """
    judge = Judge.objects.select_for_update().select_related("round").get(pk=judge.pk)  # one builder at a time
    existing = list(judge.assignments.order_by("position").values_list("explanation_id", "explanation__pair_id"))
    queued = {explanation_id for explanation_id, _ in existing}
    if round_explanations is None:
        round_explanations = _round_done(judge.round_id)
    if explanation_ids is None:
        real_ids = [explanation_id for explanation_id, _, is_control in round_explanations if not is_control]
        explanation_ids = _design_share(judge, queued, real_ids)
    wanted = set(explanation_ids) | {
        explanation_id for explanation_id, _, is_control in round_explanations if is_control
    }
    missing = [
        (explanation_id, pair_id)
        for explanation_id, pair_id, _ in round_explanations
        if explanation_id in wanted and explanation_id not in queued
    ]
    if not missing:
        return 0
    random.Random(judge.seed).shuffle(missing)
    ordered = spread_by_pair(
        missing, [pair_id for _, pair_id in missing], previous=existing[-1][1] if existing else None
    )
    start = len(existing)
    Assignment.objects.bulk_create(
        Assignment(judge=judge, explanation_id=explanation_id, position=start + offset, public_id=_blind_public_id())
        for offset, (explanation_id, _) in enumerate(ordered)
    )
    return len(ordered)


def _real_done(round_id: int):
    return Explanation.objects.filter(round_id=round_id, status=Explanation.Status.DONE, is_control=False)


def _round_done(round_id: int) -> list[tuple[int, int, bool]]:
    """``(id, pair_id, is_control)`` of every DONE explanation of a round, by id (one query)."""
    return list(
        Explanation.objects.filter(round_id=round_id, status=Explanation.Status.DONE)
        .order_by("id")
        .values_list("id", "pair_id", "is_control")
    )


def _design_share(judge: Judge, queued: set[int], real_ids: list[int]) -> set[int]:
    """The real explanations a judge should have under the round's design (see assignments_build);
    ``real_ids``: the round's DONE real explanations."""
    round = judge.round
    if round.design != EvaluationRound.Design.K_PER_ITEM:
        return set(real_ids)
    mine = queued.intersection(real_ids)
    if mine:
        return mine
    coverage = dict(
        _real_done(round.pk)
        .annotate(n=Count("assignments", filter=Q(assignments__judge__user__is_active=True)))
        .values_list("id", "n")
    )
    n_judges = Judge.objects.filter(round=round, user__is_active=True).count()
    share = fair_share(len(coverage), round.judges_per_explanation or 1, max(n_judges, 1))
    return set(top_up(coverage, share, seed=_mix(round.seed, judge.seed)))


def _mix(*seeds: int) -> int:
    """One deterministic seed from several (stable across processes, unlike hash())."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, seeds)).encode()).digest()[:8], "big")


def assignments_build_for_round(*, round: EvaluationRound) -> int:
    """Build every (non-revoked) judge's queue for ``round``; returns how many assignments were created.

    For ``k-per-item``, the judges who have no real explanation yet share them jointly
    (``allocate_k_per_item`` seeded by the round's seed) when there are several of them.
    """
    created = 0
    with transaction.atomic():
        judges = list(Judge.objects.filter(round=round, user__is_active=True).order_by("id"))
        round_explanations = _round_done(round.pk)  # read once for every judge
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
        for explanation in _real_done(round.pk).order_by("id"):
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
                payload=degrade(base[pair_id].payload or {}, rng=random.Random(_mix(round.seed, "control", pair_id))),
                started_at=now,
                finished_at=now,
                compute_seconds=0.0,
            )
            for pair_id in sorted(chosen)
        )
    return len(chosen)


# --- ratings ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SubmittedRating:
    """What ``rating_submit`` did: the rating, whether it was created, and the judge's progress."""

    rating: Rating
    created: bool
    changed: bool
    progress: Progress
    next_public_id: str | None


def _clean_score(score) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not MIN_SCORE <= score <= MAX_SCORE:
        raise ApplicationError(SCORE_ERROR, extra={"fields": {"score": [SCORE_ERROR]}})
    return score


def _clean_item(*, item: str | None, public_id: str) -> None:
    """The displayed item (``item``) must be the addressed one (``public_id``); None: not checked."""
    if item is not None and item != public_id:
        raise ApplicationError(OTHER_ITEM, status=409, extra={"fields": {"item": [OTHER_ITEM]}})


def _clean_comment(comment) -> str | None:
    """None stays None (leave the comment as it is); text is stripped and checked."""
    if comment is None:
        return None
    message = None
    if not isinstance(comment, str):
        message = "The comment must be text."
    elif "\x00" in comment:
        message = COMMENT_NUL
    elif len(comment.strip()) > COMMENT_MAX_LENGTH:
        message = COMMENT_TOO_LONG
    if message:
        raise ApplicationError(message, extra={"fields": {"comment": [message]}})
    return comment.strip()


def _clean_flagged(flagged) -> bool | None:
    if flagged is None or isinstance(flagged, bool):
        return flagged
    message = "flagged must be true or false."
    raise ApplicationError(message, extra={"fields": {"flagged": [message]}})


def _clean_seconds(seconds) -> float | None:
    """None stays None; a finite number ≥ 0 is kept, clipped to MAX_SECONDS_ON_TASK; anything else is a 400."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
        message = "seconds must be a number of seconds, 0 or more."
        raise ApplicationError(message, extra={"fields": {"seconds": [message]}})
    return min(float(seconds), MAX_SECONDS_ON_TASK)


@transaction.atomic
def rating_submit(
    *,
    judge: Judge,
    public_id: str,
    score: int,
    seconds: float | None,
    item: str | None = None,
    comment: str | None = None,
    flagged: bool | None = None,
) -> SubmittedRating:
    """Save a judge's 1-5 score for one of their own assignments, at once and atomically, with the
    judge's optional comment and "this item is broken" flag.

    ``item``: the public id of the item the judge's page displayed when the judge rated. When
    given, it must be ``public_id`` (409 otherwise, nothing saved): a rating is stored only for the
    item that was seen. The judge page always sends it; an API client may leave it out, since the
    URL names the item (and ratings queued in a browser before the field existed still arrive).

    ``comment`` (at most COMMENT_MAX_LENGTH characters after stripping, no NUL) and ``flagged``:
    None leaves the stored value as it is, so a client that sends only a score never wipes a
    judge's remark; the judge page sends both with every rating, and sends them again with the
    current score when the judge edits them after rating.

    The round row is share-locked first, so closing a round and rating in it are ordered: once the
    close commits, no rating changes. A repeat of the same score, comment and flag is the same one
    rating (a double submit); any change updates it and appends a RatingChange (the history holds
    every state, the first included). ``Rating.seconds`` sums the seconds of every decision that
    changed the score (a comment or flag edit adds none). Errors: 404 for an assignment that is not
    the judge's (existence is not revealed), 409 when the round is not rating or ``item`` is another
    item, 400 for a bad score, seconds, comment or flag.
    """
    _clean_item(item=item, public_id=public_id)
    score = _clean_score(score)
    seconds = _clean_seconds(seconds)
    comment = _clean_comment(comment)
    flagged = _clean_flagged(flagged)
    round_status, assignment_id, position, rating_id = queries.rating_target_row(judge=judge, public_id=public_id)
    if assignment_id is None or judge_is_revoked(judge=judge):
        raise ApplicationError(ASSIGNMENT_NOT_FOUND, status=404)
    if round_status == EvaluationRound.Status.CLOSED:
        raise ApplicationError(ROUND_CLOSED, status=409)
    if round_status != EvaluationRound.Status.RATING:
        raise ApplicationError(ROUND_NOT_OPEN, status=409)

    # A first rating (no row yet) goes straight to the insert; an existing one is re-read under a row lock.
    rating = Rating.objects.select_for_update().filter(pk=rating_id).first() if rating_id is not None else None
    created = changed = False
    if rating is None:
        rating = queries.rating_insert(
            assignment_id=assignment_id,
            judge_id=judge.pk,
            score=score,
            seconds=seconds,
            comment=comment or "",
            flagged=bool(flagged),
        )
        created = rating is not None
        if rating is None:  # a concurrent first rating won: this one is a repeat or a change of it
            rating = Rating.objects.select_for_update().get(assignment_id=assignment_id)
    if not created:
        changed = _rating_update(rating, score=score, seconds=seconds, comment=comment, flagged=flagged)
    following, progress = judge_next_and_progress(judge=judge, after_position=position)
    return SubmittedRating(rating=rating, created=created, changed=changed, progress=progress, next_public_id=following)


def _rating_update(rating: Rating, *, score: int, seconds: float | None, comment: str | None, flagged: bool | None):
    """Apply a new score, comment or flag to a locked rating and record the new state in the
    history; False (nothing written) when nothing differs."""
    new_score = rating.score != score
    new_comment = comment is not None and comment != rating.comment
    new_flag = flagged is not None and flagged != rating.flagged
    if not (new_score or new_comment or new_flag):
        return False
    decision_seconds = seconds if new_score else None
    rating.score = score
    if decision_seconds is not None:
        rating.seconds = decision_seconds + (rating.seconds or 0.0)
    if new_comment:
        rating.comment = comment
    if new_flag:
        rating.flagged = flagged
    rating.save(update_fields=["score", "seconds", "comment", "flagged", "updated_at"])
    RatingChange.objects.create(
        rating=rating, score=score, seconds=decision_seconds, comment=rating.comment, flagged=rating.flagged
    )
    return True


# --- the judges' explanation HTML ------------------------------------------------------------


def judge_item_rendered(*, judge: Judge, public_id: str) -> JudgeItem | None:
    """``selectors.judge_item_get`` with ``html`` always filled: an explanation whose stored HTML is
    missing or stale is rendered and stored by the first judge who opens it, for everyone after."""
    item = judge_item_get(judge=judge, public_id=public_id)
    if item is None or item.html is not None:
        return item
    return dataclasses.replace(item, html=explanation_judge_html_store(explanation_id=item.explanation_id))


def explanation_judge_html_store(*, explanation_id: int) -> str:
    """Render an explanation's blind judge HTML and store it with the renderer's version; returns it.

    Called the first time a judge opens the explanation; every later judge reads the stored HTML
    (``selectors.judge_item_get``). Two judges racing here store the same HTML.
    """
    explanation = Explanation.objects.select_related("pair", "round").get(pk=explanation_id)
    html = explanation_judge_html(explanation=explanation, pairs_shown=explanation.round.pairs_shown)
    Explanation.objects.filter(pk=explanation_id).update(judge_html=html, judge_html_version=JUDGE_HTML_VERSION)
    return html


RENDER_BATCH = 200


def round_judge_html_render(*, round_id: int) -> int:
    """Render and store the judge HTML of every DONE explanation of a round that lacks the current
    renderer's version; returns how many were rendered. Queued when a round opens
    (``bti_eval.render_judge_html``), so that no judge's request pays for a first render; an
    explanation it has not reached yet is rendered by the first judge who opens it. Idempotent."""
    similarity = round_pair_similarities(round_id=round_id)
    pairs_shown = round_pairs_shown(round_id=round_id)
    todo = (
        Explanation.objects.filter(round_id=round_id, status=Explanation.Status.DONE)
        .exclude(judge_html_version=JUDGE_HTML_VERSION)
        .select_related("pair")
        .only("id", "payload", "pair_id", "pair__text_a", "pair__text_b")
        .order_by("id")
    )
    rendered = 0
    batch: list[Explanation] = []
    for explanation in todo.iterator(chunk_size=RENDER_BATCH):
        explanation.judge_html = explanation_judge_html(
            explanation=explanation, similarity=similarity.get(explanation.pair_id), pairs_shown=pairs_shown
        )
        explanation.judge_html_version = JUDGE_HTML_VERSION
        batch.append(explanation)
        if len(batch) == RENDER_BATCH:
            rendered += Explanation.objects.bulk_update(batch, ["judge_html", "judge_html_version"])
            batch = []
    if batch:
        rendered += Explanation.objects.bulk_update(batch, ["judge_html", "judge_html_version"])
    return rendered
