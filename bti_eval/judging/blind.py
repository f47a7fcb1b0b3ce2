"""Blind rendering: an explanation as every judge sees it, whatever its method.

Blindness lives here: ``blind_payload`` keeps only the fields of the explanation contract that
every method fills the same way, so nothing that names a method reaches the renderer or a judge.
"""

from __future__ import annotations

from typing import Any

from bti_eval.rounds.models import EvaluationRound, Explanation
from explainers.render import render_html

# The explanation contract's method-neutral fields (DESIGN.md) that the renderer draws; "method",
# "model", "diagnostics" (and anything a method adds) never reach a judge. "words_read" (where the
# model's tokenizer cut a long paragraph) depends on the pair and the round's model only.
BLIND_TOP_LEVEL = ("similarity", "truncated", "words_read", "words", "pairs")
BLIND_WORD_FIELDS = ("text", "start", "end", "saliency")
BLIND_PAIR_FIELDS = ("a", "b", "word_similarity", "score")
# The version of the judges' explanation HTML, stored with it (``Explanation.judge_html_version``;
# 0 there means never rendered). Bump it whenever what a judge sees changes: the renderer
# (``explainers.render``: markup, row budget, scale), the BLIND_* fields, ``pair_similarity`` or the
# arguments ``explanation_judge_html`` passes. Stored HTML of another version is rendered again,
# so a judge never sees HTML made by an older renderer. 3: an explicit number (until 2 it was a
# fingerprint of the renderer's source; 2 added the round's row budget and the truncation cut).
JUDGE_HTML_VERSION = 3


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


def explanation_judge_html(
    *, explanation: Explanation, similarity: float | None = None, pairs_shown: int | None = None
) -> str:
    """The explanation as the explainers' HTML fragment (escaped, the paragraphs included), built
    from the blind payload only. The same for every judge: stored once per explanation
    (``services.judge_html``).
    ``similarity``: the pair's shown similarity when the caller knows it (else ``pair_similarity``);
    ``pairs_shown``: the round's row budget when the caller knows it (else read from the round).

    Every method of the round goes through the same budget, merging and relative scale (see
    ``explainers.render``); the stored payload keeps the method's full selection."""
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
