"""Reads for judging: a judge's assignments and progress, researchers' judge lists.

The judge's own reads run on every judge request; their SQL is in ``judging.queries``. What a
judge sees of an explanation is ``judging.blind``'s.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone

from bti_eval.judging import queries
from bti_eval.judging.blind import JUDGE_HTML_VERSION, explanation_judge_html
from bti_eval.judging.models import Assignment, Judge, Participation, StudyLink
from bti_eval.rounds.models import EvaluationRound, Explanation


@dataclass(frozen=True)
class Progress:
    """How many of a judge's assignments carry a rating."""

    rated: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.rated / self.total) if self.total else 0

    def as_dict(self) -> dict[str, int]:
        return {"rated": self.rated, "total": self.total}


@dataclass(frozen=True)
class JudgeItem:
    """One of a judge's assignments as the rating page and the judge API show it.

    ``html`` is the explanation's stored judge HTML when it was rendered by the current renderer
    (``JUDGE_HTML_VERSION``), else None (see ``services.judge_html.explanation_judge_html_store``).
    """

    public_id: str
    position: int
    explanation_id: int
    text_a: str
    text_b: str
    score: int | None
    previous: str | None
    next: str | None
    progress: Progress
    html: str | None
    comment: str = ""  # the judge's own remark and "this item is broken" flag, saved with the rating
    flagged: bool = False
    # A pairwise item: ``explanation_id``/``html`` are shown on the left, these on the right, and the
    # judge answers with ``choice`` (left, right or same) instead of a score. None on a rating item.
    right_explanation_id: int | None = None
    right_html: str | None = None
    choice: str | None = None

    @property
    def pairwise(self) -> bool:
        return self.right_explanation_id is not None


_USER_JUDGE = Judge.user.field.related_model.judge  # the reverse one-to-one descriptor: ``user.judge``


def judge_for_user(*, user) -> Judge | None:
    """The Judge row of a signed-in user, or None for anonymous users, researchers and revoked judges."""
    if not user or not user.is_authenticated or not user.is_active:
        return None
    if _USER_JUDGE.is_cached(user):  # loaded with the user (judging.auth.JudgeAwareBackend): no query
        try:
            return user.judge
        except Judge.DoesNotExist:
            return None
    found = queries.user_with_judge(user.pk)  # runs on every judge request: one plain statement
    judge = found[1] if found is not None else None
    if judge is not None:
        judge.user = user  # the caller's user object: ``judge.user`` costs no second query
    return judge


def judge_progress(*, judge: Judge) -> Progress:
    """How many of the judge's assignments there are and how many carry a rating (one query)."""
    total, rated = queries.judge_progress_row(judge_id=judge.pk)
    return Progress(rated=rated, total=total)


def judge_assignments(*, judge: Judge) -> QuerySet[Assignment]:
    """The judge's own assignments in their own order, each annotated with ``score`` and ``choice``
    (a pairwise item's; None if unrated)."""
    return judge.assignments.order_by("position").annotate(score=F("rating__score"), choice=F("rating__choice"))


def judge_item_get(*, judge: Judge, public_id: str) -> JudgeItem | None:
    """One of the judge's own assignments by public id, with its neighbours, the judge's score and
    progress, and the stored explanation HTML (one query); None when absent or another judge's."""
    if "\x00" in public_id:  # no public id holds one, and PostgreSQL cannot compare it: absent
        return None
    row = queries.judge_item_row(judge_id=judge.pk, public_id=public_id, html_version=JUDGE_HTML_VERSION)
    if row is None:
        return None
    public_id, position, explanation_id, text_a, text_b, score, previous, following, total, rated, html = row[:11]
    comment, flagged, right_explanation_id, right_html, choice = row[11:]
    return JudgeItem(
        public_id=public_id,
        position=position,
        explanation_id=explanation_id,
        text_a=text_a,
        text_b=text_b,
        score=score,
        previous=previous,
        next=following,
        progress=Progress(rated=rated, total=total),
        html=html,
        comment=comment or "",
        flagged=bool(flagged),
        right_explanation_id=right_explanation_id,
        right_html=right_html,
        choice=choice,
    )


def judge_next_and_progress(*, judge: Judge, after_position: int) -> tuple[str | None, Progress]:
    """Public id of the first unrated assignment after ``after_position`` (wrapping round to the
    start; None when all are rated) and the judge's progress, in one query."""
    following, total, rated = queries.judge_next_unrated_row(judge_id=judge.pk, after_position=after_position)
    return following, Progress(rated=rated, total=total)


def judge_invite_status(*, judge: Judge, now: datetime | None = None) -> str:
    """``pending``, ``used``, ``expired`` or ``revoked`` (``none`` for a judge without an invite) of
    a judge's invite (loaded with the judge by ``round_judges_with_progress``)."""
    invite = getattr(judge, "invite", None)
    if invite is None:
        return "none"
    if invite.revoked_at:
        return "revoked"
    if invite.used_at:
        return "used"
    if invite.expires_at and invite.expires_at <= (now or timezone.now()):
        return "expired"
    return "pending"


def round_judges_with_progress(*, round: EvaluationRound) -> QuerySet[Judge]:
    """A round's judges with ``rated``, ``total`` and ``last_activity`` (latest rating time) annotated."""
    return (
        Judge.objects.filter(round=round)
        .select_related("invite", "participation")
        .annotate(
            total=Count("assignments"),
            rated=Count("assignments__rating"),
            last_activity=Max("assignments__rating__updated_at"),
        )
        .order_by("id")
    )


# --- crowd study links (researchers only) ------------------------------------------------------

Outcome = Participation.Outcome


def round_study_links(*, round: EvaluationRound) -> QuerySet[StudyLink]:
    """A round's study links, oldest first, with ``arrivals``, ``completed``, ``screened_out`` and
    ``timed_out`` counted."""
    return (
        StudyLink.objects.filter(round=round)
        .annotate(
            arrivals=Count("participations"),
            completed=Count("participations", filter=Q(participations__outcome=Outcome.COMPLETED)),
            screened_out=Count("participations", filter=Q(participations__outcome=Outcome.SCREENED_OUT)),
            timed_out=Count("participations", filter=Q(participations__outcome=Outcome.TIMED_OUT)),
        )
        .order_by("id")
    )


def round_participants(*, round: EvaluationRound) -> list[dict[str, Any]]:
    """Every crowd participant of the round, in arrival order: ``judge_id``, ``platform``,
    ``participant_id``, ``study_session``, ``study`` (Prolific's study, MTurk's HIT),
    ``study_link`` (id) and ``study_link_label``, ``arrived_at``, ``finished_at``, ``minutes``
    (arrival to finish), ``outcome`` ("" while rating), ``code`` (the one given), ``rated``, ``total``.
    For researchers only: participant ids never reach a judge."""
    rows = (
        Participation.objects.filter(judge__round=round)
        .select_related("judge", "study_link")
        .annotate(total=Count("judge__assignments"), rated=Count("judge__assignments__rating"))
        .order_by("judge__created_at", "judge_id")
    )
    participants = []
    for row in rows:
        judge = row.judge
        minutes = (judge.finished_at - judge.created_at).total_seconds() / 60 if judge.finished_at else None
        participants.append(
            {
                "judge_id": judge.pk,
                "platform": judge.platform,
                "participant_id": judge.participant_id,
                "study_session": row.study_session,
                "study": row.study_ref,
                "study_link": row.study_link_id,
                "study_link_label": str(row.study_link),
                "arrived_at": judge.created_at,
                "finished_at": judge.finished_at,
                "minutes": float(f"{minutes:.2f}") if minutes is not None else None,  # ``round`` is the round here
                "outcome": row.outcome,
                "code": row.code,
                "rated": row.rated,
                "total": row.total,
            }
        )
    return participants


def crowd_summary(participants: list[dict[str, Any]]) -> dict[str, Any]:
    """Arrivals, completions, screen-outs, time-outs, participants still rating, and the median
    minutes from arrival to finish of those who finished with a code (completed or screened out)."""
    outcomes = [p["outcome"] for p in participants]
    minutes = [p["minutes"] for p in participants if p["outcome"] in (Outcome.COMPLETED, Outcome.SCREENED_OUT)]
    return {
        "arrivals": len(participants),
        "completed": outcomes.count(Outcome.COMPLETED),
        "screened_out": outcomes.count(Outcome.SCREENED_OUT),
        "timed_out": outcomes.count(Outcome.TIMED_OUT),
        "rating": outcomes.count(""),
        "median_minutes": round(statistics.median(minutes), 1) if minutes else None,
    }


def round_sample_html(*, round_id: int) -> str:
    """One real explanation of the round as a judge sees it (MTurk's preview): the first DONE one's
    stored judge HTML when current, else rendered now (nothing stored). "" when none is done."""
    explanation = (
        Explanation.objects.select_related("pair")
        .filter(round_id=round_id, status=Explanation.Status.DONE, is_control=False)
        .order_by("id")
        .first()
    )
    if explanation is None:
        return ""
    if explanation.judge_html and explanation.judge_html_version == JUDGE_HTML_VERSION:
        return explanation.judge_html
    return explanation_judge_html(explanation=explanation)
