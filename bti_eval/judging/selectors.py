"""Reads for judging: a judge's assignments and progress, researchers' judge lists.

The judge's own reads run on every judge request; their SQL is in ``judging.queries``. What a
judge sees of an explanation is ``judging.blind``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Max, QuerySet
from django.utils import timezone

from bti_eval.judging import queries
from bti_eval.judging.blind import JUDGE_HTML_VERSION
from bti_eval.judging.models import Assignment, Judge
from bti_eval.rounds.models import EvaluationRound


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
        .select_related("invite")
        .annotate(
            total=Count("assignments"),
            rated=Count("assignments__rating"),
            last_activity=Max("assignments__rating__updated_at"),
        )
        .order_by("id")
    )
