"""Reads for judging: a judge's queue and progress, the blind explanation display, researchers' judge lists.

Blindness lives here: ``blind_payload`` keeps only the fields of the explanation contract that
every method fills the same way, so nothing that names a method reaches the renderer or a judge.
"""

from __future__ import annotations

import inspect
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Max, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from bti_eval.judging import queries
from bti_eval.judging.models import Assignment, Invite, Judge
from bti_eval.rounds.models import EvaluationRound, Explanation

# The explanation contract's method-neutral fields (DESIGN.md) that the renderer draws; "method",
# "model", "diagnostics" (and anything a method adds) never reach a judge. "words_read" (where the
# model's tokenizer cut a long paragraph) depends on the pair and the round's model only.
BLIND_TOP_LEVEL = ("similarity", "truncated", "words_read", "words", "pairs")
BLIND_WORD_FIELDS = ("text", "start", "end", "saliency")
BLIND_PAIR_FIELDS = ("a", "b", "word_similarity", "score")
JUDGE_HTML_FORMAT = 2  # 2: the round's row budget (pairs_shown) and the truncation cut


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
    (``JUDGE_HTML_VERSION``), else None (see ``services.explanation_judge_html_store``).
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


def judge_queue(*, judge: Judge) -> QuerySet[Assignment]:
    """The judge's own assignments in their own order, each annotated with ``score`` (None if unrated)."""
    return judge.assignments.order_by("position").annotate(score=F("rating__score"))


def judge_item_get(*, judge: Judge, public_id: str) -> JudgeItem | None:
    """One of the judge's own assignments by public id, with its neighbours, the judge's score and
    progress, and the stored explanation HTML (one query); None when absent or another judge's."""
    row = queries.judge_item_row(judge_id=judge.pk, public_id=public_id, html_version=JUDGE_HTML_VERSION)
    if row is None:
        return None
    public_id, position, explanation_id, text_a, text_b, score, previous, following, total, rated, html = row[:11]
    comment, flagged = row[11:]
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
    )


def judge_next_and_progress(*, judge: Judge, after_position: int) -> tuple[str | None, Progress]:
    """Public id of the first unrated assignment after ``after_position`` (wrapping round to the
    start; None when all are rated) and the judge's progress, in one query."""
    following, total, rated = queries.judge_next_unrated_row(judge_id=judge.pk, after_position=after_position)
    return following, Progress(rated=rated, total=total)


def judge_first_unrated_public_id(*, judge: Judge) -> str | None:
    """Public id of the judge's first unrated assignment in their order, or None (one plain query:
    the ``/rate/next/`` redirect every judge follows before each item)."""
    return queries.judge_first_unrated(judge_id=judge.pk)


def blind_payload(payload: dict[str, Any] | None, *, similarity: float | None = None) -> dict[str, Any]:
    """Copy of an explanation payload with only method-neutral fields (see BLIND_*).

    In: the stored explanation JSON and, optionally, the pair's similarity to show instead of the
    payload's. Out: ``{"similarity", "truncated", "words_read", "words", "pairs"}`` (the first three
    when present) with words and pairs reduced to their contract fields; method, model,
    diagnostics and anything else are dropped.
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


def _judge_html_version() -> int:
    """A 31-bit fingerprint of what the judge HTML is made from: the renderer's source and the blind
    fields (bump ``JUDGE_HTML_FORMAT`` when ``blind_payload`` or ``pair_similarity`` change meaning).
    Stored HTML of another version is rendered again, so a renderer change never shows stale HTML."""
    from explainers import render

    fields = (JUDGE_HTML_FORMAT, BLIND_TOP_LEVEL, BLIND_WORD_FIELDS, BLIND_PAIR_FIELDS)
    source = inspect.getsource(render) + repr(fields)
    return zlib.crc32(source.encode()) & 0x7FFFFFFF or 1  # 0 is the column's "never rendered"


def explanation_judge_html(
    *, explanation: Explanation, similarity: float | None = None, pairs_shown: int | None = None
) -> str:
    """The explanation as the explainers' HTML fragment (escaped, the paragraphs included), built
    from the blind payload only. The same for every judge: stored once per explanation
    (``services.explanation_judge_html_store`` and ``services.round_judge_html_render``).
    ``similarity``: the pair's shown similarity when the caller knows it (else ``pair_similarity``);
    ``pairs_shown``: the round's row budget when the caller knows it (else read from the round).

    Every method of the round goes through the same budget, merging and relative scale (see
    ``explainers.render``); the stored payload keeps the method's full selection."""
    from explainers.render import render_html

    pair = explanation.pair
    if similarity is None:
        similarity = pair_similarity(explanation=explanation)
    if pairs_shown is None:
        pairs_shown = round_pairs_shown(round_id=explanation.round_id)
    payload = blind_payload(explanation.payload, similarity=similarity)
    return render_html(payload, texts=(pair.text_a, pair.text_b), max_pairs=pairs_shown)


def round_pairs_shown(*, round_id: int) -> int:
    """The round's row budget: how many rows of matched words a judge sees at most."""
    return EvaluationRound.objects.values_list("pairs_shown", flat=True).get(pk=round_id)


def round_pair_similarities(*, round_id: int) -> dict[int, float | None]:
    """``pair_similarity`` of every pair of a round at once: ``{pair_id: similarity}``."""
    shown: dict[int, float | None] = {}
    rows = (
        Explanation.objects.filter(round_id=round_id, status=Explanation.Status.DONE)
        .order_by("id")
        .values_list("pair_id", "payload__similarity")
    )
    for pair_id, similarity in rows.iterator(chunk_size=2000):
        shown.setdefault(pair_id, similarity)
    return shown


def assignment_explanation_html(*, assignment: Assignment) -> str:
    """``explanation_judge_html`` of an assignment's explanation."""
    return explanation_judge_html(explanation=assignment.explanation)


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


def judge_invite_status(*, judge: Judge) -> str:
    """``invite_status`` of a judge's invite (loaded with the judge by ``round_judges_with_progress``)."""
    return invite_status(invite=getattr(judge, "invite", None))


def invite_url(request: HttpRequest, token: str) -> str:
    """The absolute invite link of a raw token (shown to the researcher once, never stored)."""
    return request.build_absolute_uri(reverse("judging:invite-accept", kwargs={"token": token}))


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


JUDGE_HTML_VERSION = _judge_html_version()
