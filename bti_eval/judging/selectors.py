"""Reads for judging: a judge's queue and progress, the blind explanation display, researchers' judge lists.

Blindness lives here: ``blind_payload`` keeps only the fields of the explanation contract that
every method fills the same way, so nothing that names a method reaches the renderer or a judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Max, QuerySet
from django.utils import timezone

from bti_eval.judging.models import Assignment, Invite, Judge
from bti_eval.rounds.models import EvaluationRound, Explanation

# The explanation contract's method-neutral fields (DESIGN.md) that the renderer draws; "method",
# "model", "diagnostics" (and anything a method adds) never reach a judge.
BLIND_TOP_LEVEL = ("similarity", "words", "pairs")
BLIND_WORD_FIELDS = ("text", "start", "end", "saliency")
BLIND_PAIR_FIELDS = ("a", "b", "word_similarity", "score")


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


def judge_for_user(*, user) -> Judge | None:
    """The Judge row of a signed-in user, or None for anonymous users, researchers and revoked judges."""
    if not user or not user.is_authenticated or not user.is_active:
        return None
    judge = Judge.objects.select_related("round").filter(user=user).first()
    if judge is not None:
        judge.user = user  # already loaded: ``judge.user`` costs no second query
    return judge


def judge_progress(*, judge: Judge) -> Progress:
    counts = judge.assignments.aggregate(total=Count("id"), rated=Count("rating"))
    return Progress(rated=counts["rated"], total=counts["total"])


def judge_queue(*, judge: Judge) -> QuerySet[Assignment]:
    """The judge's own assignments in their own order, each annotated with ``score`` (None if unrated)."""
    return judge.assignments.order_by("position").annotate(score=F("rating__score"))


def judge_assignment_get(*, judge: Judge, public_id: str) -> Assignment | None:
    """One of the judge's own assignments by public id; None when absent or another judge's."""
    return (
        Assignment.objects.select_related("explanation__pair", "judge__round", "rating")
        .filter(judge=judge, public_id=public_id)
        .first()
    )


def judge_next_unrated(*, judge: Judge, after_position: int | None = None) -> Assignment | None:
    """The first unrated assignment after ``after_position`` (wrapping round to the start), or None."""
    unrated = judge.assignments.filter(rating__isnull=True).order_by("position")
    if after_position is not None:
        later = unrated.filter(position__gt=after_position).first()
        if later is not None:
            return later
    return unrated.first()


def assignment_neighbours(*, assignment: Assignment) -> tuple[str | None, str | None]:
    """Public ids of the previous and next assignment in the judge's order (None at either end)."""
    siblings = Assignment.objects.filter(judge_id=assignment.judge_id)
    previous = siblings.filter(position__lt=assignment.position).order_by("-position").first()
    following = siblings.filter(position__gt=assignment.position).order_by("position").first()
    return (previous.public_id if previous else None, following.public_id if following else None)


def assignment_score(*, assignment: Assignment) -> int | None:
    rating = getattr(assignment, "rating", None)
    return rating.score if rating is not None else None


def blind_payload(payload: dict[str, Any] | None, *, similarity: float | None = None) -> dict[str, Any]:
    """Copy of an explanation payload with only method-neutral fields (see BLIND_*).

    In: the stored explanation JSON and, optionally, the pair's similarity to show instead of the
    payload's. Out: ``{"similarity", "words", "pairs"}`` with words and pairs reduced to their
    contract fields; method, model, diagnostics and anything else are dropped.
    """
    payload = payload or {}
    blind: dict[str, Any] = {key: payload[key] for key in BLIND_TOP_LEVEL if key in payload}
    if similarity is not None:
        blind["similarity"] = similarity
    blind["words"] = [
        [{key: word[key] for key in BLIND_WORD_FIELDS if key in word} for word in side]
        for side in payload.get("words") or [[], []]
    ]
    blind["pairs"] = [
        {key: pair[key] for key in BLIND_PAIR_FIELDS if key in pair} for pair in payload.get("pairs") or []
    ]
    return blind


def pair_similarity(*, explanation: Explanation) -> float | None:
    """The similarity shown for a pair: that of the round's first done explanation of the pair.

    Every method reports the same encoder cosine (the explanation contract), so this only rules out
    float noise between batches showing up as a different number on one method's items.
    """
    return (
        Explanation.objects.filter(
            round_id=explanation.round_id, pair_id=explanation.pair_id, status=Explanation.Status.DONE
        )
        .order_by("id")
        .values_list("payload__similarity", flat=True)
        .first()
    )


def assignment_explanation_html(*, assignment: Assignment) -> str:
    """The explanation as the explainers' HTML fragment (escaped, the paragraphs included), built
    from the blind payload only."""
    from explainers.render import render_html

    explanation = assignment.explanation
    pair = explanation.pair
    payload = blind_payload(explanation.payload, similarity=pair_similarity(explanation=explanation))
    return render_html(payload, texts=(pair.text_a, pair.text_b))


def explanation_css() -> str:
    """The renderer's stylesheet (the same for every method)."""
    from explainers.render import RENDER_CSS

    return RENDER_CSS


def invite_status(*, invite: Invite | None, now: datetime | None = None) -> str:
    """``pending``, ``used``, ``expired`` or ``revoked`` (``none`` for a judge without an invite)."""
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
