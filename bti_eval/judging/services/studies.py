"""Crowd study links: creating and closing them, a participant's arrival, and their completion.

**Arrival** (``participant_arrive``). The first visit of a participant creates their judge for
(round, platform, participant id), builds their assignments, and the view signs them in as an
invite does. A database constraint (``judge_unique_round_platform_participant``) keeps that one
judge, even when the same participant opens the link twice at the same moment: the second insert
waits for the first request to commit, fails on the constraint, and resumes the judge the first one
made. Arrivals of a round then take turns (its study links' row locks) for the quota and the
balance only, so the locks are held for a few statements.

**A later visit resumes** the judge only when it can show it is the same participant:

- the browser is already signed in as that judge (any study session: the participant came back,
  e.g. after returning and restarting on Prolific, and the new session is recorded); or
- the visit carries the same participant id *and* the same study session as the first one
  (Prolific's SESSION_ID, MTurk's assignmentId, a generic link's session parameter).

A participant id alone never resumes anyone: ids are not secrets (they show in the platform's
dashboards and exports, and a generic site's may be guessable), so anyone who knows one could
otherwise read and change that participant's ratings. A study session is drawn by the platform
for one attempt and reaches only the participant's browser. A visit with the id but another
session gets a clear 409 page and creates nothing; the researcher can give such a participant a
new one-time link from the judges page ("New link"), as for an invited judge. A generic link
without a session parameter therefore resumes in the same browser only.

**Balance** (k-per-item rounds). An arrival gets the link's ``items_per_participant`` real
explanations that are held by the fewest judges (``designs.arrival_share``; a judge holds an
explanation when they rated it, or still may: active, not finished, time not up), different pairs
first among equals. Screened-out participants hold nothing, so their items go to later arrivals.
Arrivals take turns (the row locks above), so every explanation reaches k judges as participants
come. Control items go to every participant, as to every judge.

**Completion** (``participant_finish``): once every item is rated the participant gets the link's
completion code, or, when the researcher turned the screen-out on and the participant does not
rate the control items lower (``controls.control_test``, the quality check of the results), its
screen-out code. A participant whose time limit passed first is timed out and gets no code. The
outcome is recorded once; the participant's ratings are final from then on.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging import crowd, queries
from bti_eval.judging.controls import control_test, control_test_can_pass, pairwise_control_flag
from bti_eval.judging.designs import arrival_share
from bti_eval.judging.models import Assignment, Judge, Participation, Rating, StudyLink
from bti_eval.judging.services.assignments import (
    assignments_build_new,
    round_done_explanations,
    round_real_explanations,
    seed_combine,
)
from bti_eval.judging.services.pairwise import pairwise_assignments_build
from bti_eval.rounds.models import EvaluationRound

Status = EvaluationRound.Status
Outcome = Participation.Outcome

MAX_LABEL_LENGTH = 200
MAX_QUOTA = 100_000
MAX_ITEMS_PER_PARTICIPANT = 10_000
MAX_TIME_LIMIT_MINUTES = 7 * 24 * 60

LINK_UNKNOWN = "This study link is not valid. Open the study again from the platform's page."
STUDY_CLOSED = "This study is closed and takes no more participants. Thank you for your interest."
STUDY_NOT_OPEN = "This study is not open yet. Please come back later, or return it on the platform."
STUDY_FULL = "This study is full: every place has been taken. Thank you for your interest."
OTHER_SESSION = (
    "You have already started this study in another browser or session. Please go on there. If you "
    "cannot, contact the researcher through the platform: they can send you a link to go on."
)
PARTICIPANT_ENDED = "The researcher has ended your participation in this study. Your ratings so far are kept."


# --- researchers: links ----------------------------------------------------------------------


def _bounded(value: int | None, *, what: str, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ApplicationError(f"The {what} must be a whole number from 1 to {high:,} (or empty).")
    return value


def _per_participant(round: EvaluationRound, items: int | None) -> tuple[int, int]:
    """(real, control) items each participant of ``round`` will get, as far as the round knows now."""
    pairs = round.pairs.count()
    real = pairs * len(round.methods or [])
    if round.status in (Status.RATING, Status.CLOSED):
        real = round_real_explanations(round.pk).count()
    if items is not None:
        real = min(real, items)
    return real, min(round.control_items or 0, pairs)


@transaction.atomic
def study_link_create(
    *,
    round: EvaluationRound,
    platform: str,
    label: str = "",
    completion_code: str = "",
    quota: int | None = None,
    items_per_participant: int | None = None,
    screen_out_failed_controls: bool = False,
    screen_out_code: str = "",
    time_limit_minutes: int | None = None,
    participant_param: str = "",
    session_param: str = "",
    by=None,
) -> StudyLink:
    """A new study link for ``round`` on ``platform`` (prolific, mturk or generic).

    ``completion_code``: the code a participant hands in (Prolific's own, pasted from the study's
    set-up); empty: a random one. ``quota``: participants at most (None: no cap).
    ``items_per_participant``: real explanations per participant in a k-per-item round (None: all
    of them; refused for an "all" round, where everyone rates everything). The screen-out needs a
    code and control items enough for ``control_test`` to be passable at all. ``time_limit_minutes``:
    per participant, from their arrival. Generic links name their ``participant_param`` (and
    optionally ``session_param``); other platforms' parameters are fixed. 409 for a closed round.
    """
    round = EvaluationRound.objects.select_for_update().get(pk=round.pk)
    if round.status == Status.CLOSED:
        raise ApplicationError("This round is closed; it can take no more participants.", status=409)
    if platform not in StudyLink.Platform.values:
        raise ApplicationError(f"Choose the platform: one of {', '.join(StudyLink.Platform.values)}.")
    label = _label_clean(label)
    quota = _bounded(quota, what="quota", high=MAX_QUOTA)
    items = _bounded(items_per_participant, what="number of items per participant", high=MAX_ITEMS_PER_PARTICIPANT)
    limit = _bounded(time_limit_minutes, what="time limit in minutes", high=MAX_TIME_LIMIT_MINUTES)
    if items is not None and round.design != EvaluationRound.Design.K_PER_ITEM:
        raise ApplicationError(
            "Items per participant apply to k-per-item rounds; in this round every participant rates every "
            "explanation. Leave it empty."
        )
    code = crowd.code_clean(completion_code, what="completion code") if completion_code else _new_code()
    screen_out_code = (screen_out_code or "").strip()
    if screen_out_failed_controls:
        screen_out_code = crowd.code_clean(screen_out_code, what="screen-out code")
        if screen_out_code == code:
            raise ApplicationError("The screen-out code must differ from the completion code.")
        real, control = _per_participant(round, items)
        pairwise = round.design == EvaluationRound.Design.PAIRWISE  # one control item can show a preference
        if not (control >= 1 if pairwise else control_test_can_pass(real, control)):
            raise ApplicationError(
                f"With {real} real and {control} control item(s) per participant the control-item test can never "
                "pass, so every participant would be screened out. Give the round more control items (or each "
                "participant more items), or leave the screen-out off."
            )
    elif screen_out_code:
        raise ApplicationError("A screen-out code is used only with the screen-out on; turn it on or leave it empty.")
    participant_param = (participant_param or "").strip()
    session_param = (session_param or "").strip()
    if platform == crowd.GENERIC:
        participant_param = crowd.param_name_clean(participant_param, what="participant parameter")
        if session_param:
            session_param = crowd.param_name_clean(session_param, what="session parameter")
            if session_param == participant_param:
                raise ApplicationError("The session parameter must differ from the participant parameter.")
    elif participant_param or session_param:
        raise ApplicationError(f"{crowd.PLATFORM_NAMES[platform]} names its own parameters; leave those empty.")
    return StudyLink.objects.create(
        round=round,
        platform=platform,
        label=label,
        token=secrets.token_hex(16),  # hex: never spells a method name on a judge's page
        participant_param=participant_param,
        session_param=session_param,
        quota=quota,
        items_per_participant=items,
        completion_code=code,
        screen_out_failed_controls=screen_out_failed_controls,
        screen_out_code=screen_out_code,
        time_limit_minutes=limit,
        created_by=by if getattr(by, "pk", None) else None,
    )


def _label_clean(label: str | None) -> str:
    label = (label or "").strip()
    if "\x00" in label or len(label) > MAX_LABEL_LENGTH:
        raise ApplicationError(f"The label must be at most {MAX_LABEL_LENGTH} characters, without NUL.")
    return label


def _new_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
    return "".join(secrets.choice(alphabet) for _ in range(8))


@transaction.atomic
def study_link_close(*, link: StudyLink) -> StudyLink:
    """Close a study link: new participants get the "closed" page; those who arrived go on and
    finish. Closing a closed link changes nothing."""
    link = StudyLink.objects.select_for_update().get(pk=link.pk)
    if link.closed_at is None:
        link.closed_at = timezone.now()
        link.save(update_fields=["closed_at"])
    return link


# --- participants: arrival -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Arrival:
    """What a study link visit led to: MTurk's preview (no judge), or the participant's judge,
    new (``created``) or resumed."""

    link: StudyLink
    visit: crowd.Visit
    judge: Judge | None = None
    created: bool = False

    @property
    def preview(self) -> bool:
        return self.visit.preview


def study_link_get(*, token: str) -> StudyLink:
    """The link behind ``token`` with its round, or 404."""
    plausible = len(token) <= 64 and "\x00" not in token  # PostgreSQL cannot even compare a NUL
    link = StudyLink.objects.select_related("round").filter(token=token).first() if plausible else None
    if link is None:
        raise ApplicationError(LINK_UNKNOWN, status=404)
    return link


def _refusal(message: str, status: int, reason: str) -> ApplicationError:
    return ApplicationError(message, status=status, extra={"reason": reason})


def _check_open(link: StudyLink, status: str | None) -> None:
    if link.closed_at is not None or status in (Status.CLOSED, None):
        raise _refusal(STUDY_CLOSED, 410, "closed")
    if status != Status.RATING:
        raise _refusal(STUDY_NOT_OPEN, 409, "not-open")


def _existing(link: StudyLink, visit: crowd.Visit) -> Judge | None:
    return (
        Judge.objects.select_related("user", "participation")
        .filter(round_id=link.round_id, platform=link.platform, participant_id=visit.participant_id)
        .first()
    )


def _resume(judge: Judge, visit: crowd.Visit, link: StudyLink, user) -> Arrival:
    """The participant's judge when this visit proves it is them (see the module docstring), else 409."""
    if not judge.user.is_active:
        raise _refusal(PARTICIPANT_ENDED, 403, "ended")
    participation = judge.participation
    same_browser = user is not None and user.is_authenticated and user.pk == judge.user_id
    if not same_browser and not (visit.study_session and visit.study_session == participation.study_session):
        raise _refusal(OTHER_SESSION, 409, "other-session")
    changed = {
        field: value
        for field, value in (
            ("study_session", visit.study_session),
            ("study_ref", visit.study_ref),
            ("submit_to", visit.submit_to),
        )
        if value and getattr(participation, field) != value and not participation.outcome
    }
    if changed:  # the same browser, a new attempt on the platform: hand the work in to that one
        Participation.objects.filter(pk=participation.pk).update(**changed)
    return Arrival(link=link, visit=visit, judge=judge)


def participant_arrive(*, token: str, params: Mapping[str, list[str]], user=None) -> Arrival:
    """A visit of a study link: MTurk's preview, a resumed participant, or a new one with their judge
    and assignments (see the module docstring). ``params``: the query (``{name: [values]}``);
    ``user``: who the browser is signed in as. Errors (nothing written): 404 unknown link, 400 a
    missing or malformed id, 409 another session / not open yet / full, 410 closed, 403 revoked."""
    link = study_link_get(token=token)
    visit = crowd.visit_parse(
        link.platform, params, participant_param=link.participant_param, session_param=link.session_param
    )
    if visit.preview:
        _check_open(link, link.round.status)
        return Arrival(link=link, visit=visit)
    existing = _existing(link, visit)
    if existing is not None:
        return _resume(existing, visit, link, user)
    _check_open(link, link.round.status)
    try:
        return _arrive(link, visit, user)
    except IntegrityError:
        # The same participant's other request inserted their judge first (the constraint decided).
        existing = _existing(link, visit)
        if existing is None:
            raise
        return _resume(existing, visit, link, user)


def _link_rows_locked(round_id: int) -> dict[int, StudyLink]:
    """Every study link of the round, row-locked in id order: arrivals of a round take turns."""
    return {link.pk: link for link in StudyLink.objects.select_for_update().filter(round_id=round_id).order_by("id")}


@transaction.atomic
def _arrive(link: StudyLink, visit: crowd.Visit, user) -> Arrival:
    """A new participant's judge, participation and assignments, in one transaction.

    The judge is inserted first, before any lock: a second request of the same participant waits
    on the unique constraint until this one commits, then fails (IntegrityError) and resumes this
    judge (``participant_arrive``). Only then do arrivals take turns (the round's study links'
    row locks), for as short as possible: the quota is counted with this participant in it, and
    the least-held explanations are picked and assigned. The round row is share-locked, as a
    rating does: closing the round waits for the arrival."""
    round = link.round  # read with the link, open for rating then: its explanations no longer change
    round_explanations = round_done_explanations(round.pk)
    status = queries.round_status_shared(round_id=round.pk)  # held until commit: the status stays
    _check_open(link, status)
    now = timezone.now()
    new_user = get_user_model()(username=f"judge-{secrets.token_hex(8)}")
    new_user.set_unusable_password()
    new_user.save()
    judge = Judge.objects.create(
        round_id=link.round_id,
        user=new_user,
        seed=secrets.randbits(62),
        platform=link.platform,
        participant_id=visit.participant_id,
        deadline_at=now + timedelta(minutes=link.time_limit_minutes) if link.time_limit_minutes else None,
    )
    Participation.objects.create(
        judge=judge,
        study_link=link,
        study_session=visit.study_session,
        study_ref=visit.study_ref,
        submit_to=visit.submit_to,
    )
    link = _link_rows_locked(round.pk)[link.pk]  # from here on, arrivals of the round take turns
    _check_open(link, status)  # the link closed while this request waited?
    if link.quota is not None and Participation.objects.filter(study_link=link).count() > link.quota:
        raise _refusal(STUDY_FULL, 409, "full")  # rolls this participant back
    if round.design == EvaluationRound.Design.PAIRWISE:  # comparisons: the judge's share of the least covered
        pairwise_assignments_build(judge=judge)
    else:
        assignments_build_new(
            judge=judge,
            explanation_ids=_arrival_items(link, round, judge, round_explanations, now=now),
            round_explanations=round_explanations,
        )
    return Arrival(link=link, visit=visit, judge=judge, created=True)


def _arrival_items(link: StudyLink, round: EvaluationRound, judge: Judge, round_explanations, *, now) -> list[int]:
    """The real explanations a new participant rates: all of them, or in a k-per-item round the
    link's ``items_per_participant`` least-held ones (``designs.arrival_share``)."""
    real = {explanation_id: pair_id for explanation_id, pair_id, is_control in round_explanations if not is_control}
    if round.design != EvaluationRound.Design.K_PER_ITEM or link.items_per_participant is None:
        return list(real)
    held = explanations_held(round_id=link.round_id, now=now)
    return arrival_share(
        {explanation_id: held.get(explanation_id, 0) for explanation_id in real},
        link.items_per_participant,
        seed=seed_combine(round.seed, judge.seed, "arrival"),
        groups=real,
    )


def explanations_held(*, round_id: int, now=None) -> dict[int, int]:
    """How many judges hold each explanation of the round that anyone holds (absent: none): they rated
    it, or still may (active, not finished, time not up); a screened-out participant holds none.
    One query over the round's assignments (controls included; callers look up real ones)."""
    now = now or timezone.now()
    may_still = Q(judge__finished_at__isnull=True) & (
        Q(judge__deadline_at__isnull=True) | Q(judge__deadline_at__gt=now)
    )
    not_screened = Q(judge__participation__isnull=True) | ~Q(judge__participation__outcome=Outcome.SCREENED_OUT)
    held = (
        Assignment.objects.filter(judge__round_id=round_id, judge__user__is_active=True)
        .filter(not_screened, Q(rating__isnull=False) | may_still)
        .order_by()
        .values_list("explanation_id")
        .annotate(n=Count("id"))
    )
    return dict(held)


# --- participants: completion ----------------------------------------------------------------


def time_is_up(judge: Judge, now=None) -> bool:
    """The participant's time limit has passed (never for a judge without one). No query."""
    return judge.deadline_at is not None and judge.deadline_at <= (now or timezone.now())


def rating_closed_for(judge: Judge) -> bool:
    """A crowd participant who finished, or whose time is up, rates no more. No query: both are
    columns of the judge row the hot path loads with the user."""
    return judge.finished_at is not None or time_is_up(judge)


def _fails_controls(judge: Judge) -> bool:
    """The results' control check on a participant's own answers: ``control_test`` on their 1-5
    scores, or in a pairwise round ``pairwise_control_flag`` on which side of each control item
    (a real explanation beside its degraded copy) they preferred."""
    if judge.round.design == EvaluationRound.Design.PAIRWISE:
        tally = {"real": 0, "degraded": 0, "same": 0}
        rows = Rating.objects.filter(judge=judge, assignment__right_explanation__isnull=False).values_list(
            "choice", "assignment__explanation__is_control", "assignment__right_explanation__is_control"
        )
        for choice, left_is_control, right_is_control in rows:
            if not (left_is_control or right_is_control):
                continue
            if choice == "same":
                tally["same"] += 1
            else:
                picked_control = left_is_control if choice == "left" else right_is_control
                tally["degraded" if picked_control else "real"] += 1
        return bool(pairwise_control_flag(**tally))
    scores = Rating.objects.filter(judge=judge).values_list("score", "assignment__explanation__is_control")
    real = [score for score, is_control in scores if not is_control]
    control = [score for score, is_control in scores if is_control]
    return bool(control_test(real, control)["flag"])


@transaction.atomic
def participant_finish(*, judge: Judge) -> Participation:
    """Record how a crowd participant's study ended, once: ``completed`` (the completion code) when
    every item is rated, ``screened-out`` (the screen-out code) instead when the link screens out
    and ``control_test`` flags the participant, ``timed-out`` (no code) when the time limit passed
    first. Returns the participation; its ``outcome`` stays "" while the participant is still rating."""
    judge = Judge.objects.select_for_update(of=("self",)).select_related("participation__study_link").get(pk=judge.pk)
    participation = judge.participation
    if participation.outcome:
        return participation
    total, rated = queries.judge_progress_row(judge_id=judge.pk)
    link = participation.study_link
    if rated >= total:
        outcome, code = Outcome.COMPLETED, link.completion_code
        if link.screen_out_failed_controls and _fails_controls(judge):
            outcome, code = Outcome.SCREENED_OUT, link.screen_out_code
    elif time_is_up(judge):
        outcome, code = Outcome.TIMED_OUT, ""
    else:
        return participation
    participation.outcome, participation.code = outcome, code
    participation.save(update_fields=["outcome", "code"])
    judge.finished_at = timezone.now()
    judge.save(update_fields=["finished_at"])
    return participation
