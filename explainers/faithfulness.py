"""Faithfulness of an explanation of similarity, by erasure (DeYoung et al., ERASER, 2020, adapted
to a pair of paragraphs).

The k most salient words of *each* paragraph are ranked by the explanation's word saliency
(ties: words in a selected pair first, then text order). With s = cos(F(a), F(b)) the encoder's
similarity (the encoder's pooling: Eq. 1, or the model's own):

- comprehensiveness(k) = s − cos(F(a without its top-k words), F(b without its top-k words)):
  a faithful explanation names words whose removal lowers the similarity (higher is better);
- sufficiency(k) = s − cos(F(only a's top-k words), F(only b's top-k words)): a faithful
  explanation's words alone keep the similarity (lower is better);
- AOPC = the mean over k = 1..5 (area over the perturbation curve).

Removing a word cuts its characters out of the text (the rest is kept as written); keeping only
words joins them with spaces in text order. An emptied paragraph has similarity 0 to anything.

Batching: every perturbed text of every item (deduplicated) goes through the encoder in
length-sorted batches of at most ``token_budget`` rows × padded tokens, as the explanation pipeline
batches its pairs, so n items cost about n × (1 + 2·|ks|) × 2 texts / (budget / length) forwards
rather than one forward per perturbation. Batching changes nothing but float rounding: a budget of
1 (one text per forward) gives the same numbers to 1e-5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .encoder import DEFAULT_TOKEN_BUDGET, Encoder
from .retrieval import embed_texts

__all__ = ["KS", "erase", "faithfulness", "keep_only", "ranked_words"]

KS = (1, 2, 3, 4, 5)


def ranked_words(explanation: Mapping[str, Any], side: int) -> list[int]:
    """Indices of ``words[side]`` from most to least salient (ties: selected-pair words, then order)."""
    words = explanation["words"][side]
    selected = {p["a" if side == 0 else "b"] for p in explanation.get("pairs") or []}
    return sorted(range(len(words)), key=lambda i: (-float(words[i]["saliency"]), i not in selected, i))


def erase(text: str, words: Sequence[Mapping[str, Any]], indices: Sequence[int]) -> str:
    """``text`` with the characters of ``words[i]`` for i in ``indices`` cut out, whitespace tidied."""
    cut = sorted((int(words[i]["start"]), int(words[i]["end"])) for i in indices)
    pieces, last = [], 0
    for start, end in cut:
        pieces.append(text[last:start])
        last = max(last, end)
    pieces.append(text[last:])
    return " ".join("".join(pieces).split())


def keep_only(words: Sequence[Mapping[str, Any]], indices: Sequence[int]) -> str:
    """The words ``indices`` alone, in text order, joined by spaces."""
    return " ".join(str(words[i]["text"]) for i in sorted(indices))


def _cosines(encoder: Encoder, pairs: list[tuple[str, str]], token_budget: int) -> list[float]:
    """cos(F(a), F(b)) for each pair; an empty side gives 0. Each distinct text is embedded once, in
    token-budgeted batches (``embed_texts``: longest first, rows × padded length <= ``token_budget``)."""
    texts = sorted({t for pair in pairs for t in pair if t.strip()})
    index = {t: i for i, t in enumerate(texts)}
    if not texts:
        return [0.0] * len(pairs)
    vectors = embed_texts(encoder, texts, batch_tokens=token_budget)  # (n_texts, hidden)
    rows_a, rows_b = (
        torch.tensor([index.get(pair[side], -1) for pair in pairs], dtype=torch.long, device=vectors.device)
        for side in (0, 1)
    )
    cosines = torch.nn.functional.cosine_similarity(vectors[rows_a.clamp_min(0)], vectors[rows_b.clamp_min(0)], dim=1)
    return torch.where((rows_a >= 0) & (rows_b >= 0), cosines, 0.0).tolist()


def faithfulness(
    encoder: Encoder,
    items: Sequence[tuple[str, str, Mapping[str, Any]]],
    *,
    ks: Sequence[int] = KS,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
) -> list[dict[str, Any]]:
    """Comprehensiveness and sufficiency of explanations at each k, and their AOPC.

    In: (text_a, text_b, explanation dict) per item; the explanation's words index those texts.
    ``token_budget``: at most that many rows × padded tokens per forward pass (1: one text each).
    Out, per item: ``{"similarity", "comprehensiveness": [per k], "sufficiency": [per k],
    "comprehensiveness_aopc", "sufficiency_aopc"}``.
    """
    ks = list(ks)
    if not ks or any(k < 1 for k in ks):
        raise ValueError("ks must be positive word counts, e.g. (1, 2, 3, 4, 5)")
    pairs: list[tuple[str, str]] = []
    for text_a, text_b, explanation in items:
        words = explanation["words"]
        ranks = (ranked_words(explanation, 0), ranked_words(explanation, 1))
        pairs.append((text_a, text_b))
        for k in ks:
            pairs.append((erase(text_a, words[0], ranks[0][:k]), erase(text_b, words[1], ranks[1][:k])))
        for k in ks:
            pairs.append((keep_only(words[0], ranks[0][:k]), keep_only(words[1], ranks[1][:k])))
    if isinstance(token_budget, bool) or not isinstance(token_budget, int) or token_budget < 1:
        raise ValueError(f"token_budget must be a positive integer, got {token_budget!r}")
    cosines = _cosines(encoder, pairs, token_budget)
    out = []
    step = 1 + 2 * len(ks)
    for start in range(0, len(cosines), step):
        full = cosines[start]
        removed = cosines[start + 1 : start + 1 + len(ks)]
        kept = cosines[start + 1 + len(ks) : start + step]
        comprehensiveness = [full - c for c in removed]
        sufficiency = [full - c for c in kept]
        out.append(
            {
                "similarity": full,
                "comprehensiveness": comprehensiveness,
                "sufficiency": sufficiency,
                "comprehensiveness_aopc": sum(comprehensiveness) / len(ks),
                "sufficiency_aopc": sum(sufficiency) / len(ks),
            }
        )
    return out
