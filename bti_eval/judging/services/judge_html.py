"""The judges' explanation HTML, rendered once per explanation (``judging.blind``) and stored."""

from __future__ import annotations

import dataclasses

from bti_eval.judging.blind import (
    JUDGE_HTML_VERSION,
    explanation_judge_html,
    round_pair_similarities,
    round_pairs_shown,
)
from bti_eval.judging.models import Judge
from bti_eval.judging.selectors import JudgeItem, judge_item_get
from bti_eval.rounds.models import Explanation


def judge_item_rendered(*, judge: Judge, public_id: str) -> JudgeItem | None:
    """``selectors.judge_item_get`` with ``html`` (and a pairwise item's ``right_html``) always
    filled: an explanation whose stored HTML is missing or stale is rendered and stored by the first
    judge who opens it, for everyone after."""
    item = judge_item_get(judge=judge, public_id=public_id)
    if item is None:
        return None
    if item.html is None:
        item = dataclasses.replace(item, html=explanation_judge_html_store(explanation_id=item.explanation_id))
    if item.pairwise and item.right_html is None:
        right = explanation_judge_html_store(explanation_id=item.right_explanation_id)
        item = dataclasses.replace(item, right_html=right)
    return item


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
