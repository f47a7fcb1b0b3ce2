"""The encoder's similarity of text pairs, and where its tokenizer cuts them, without explaining them.

An explanation computed elsewhere (:mod:`explainers.imported`) takes these from the round's model,
so that the similarity it reports and the truncation cut a judge sees are exactly those of every
computed method of the same pair. The steps are :func:`explainers.pipeline.explain_pairs`' own
(tokenize, split words, batch by length under the token budget, one forward pass per batch with
the model's pooling, Eq. 1), with no gradient and no word scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .encoder import DEFAULT_TOKEN_BUDGET, Encoder
from .pipeline import _pair_lengths, _tokenized_sides, _validate, _words_read, make_batches
from .saliency import forward_only


@dataclass(frozen=True)
class PairReading:
    """What the model reads of one pair: ``similarity`` C(F_a, F_b) (the number every method's
    explanation reports), ``truncated`` (a paragraph exceeded the model's limit) and ``words_read``
    (per paragraph, the words before the cut, as :class:`explainers.Explanation` holds it; None
    unless truncated)."""

    similarity: float
    truncated: bool
    words_read: tuple[int, int] | None


def pair_readings(
    encoder: Encoder,
    pairs: Sequence[tuple[str, str]],
    *,
    batch_size: int | None = None,
    token_budget: int | None = None,
) -> list[PairReading]:
    """One :class:`PairReading` per pair (a, b), in input order: one forward pass per batch, under
    ``torch.inference_mode``. ``batch_size`` / ``token_budget`` as in ``explain_pairs``. Raises
    :class:`InputError` naming the pair and side for an empty paragraph or one without tokens."""
    pairs = list(pairs)
    budget = DEFAULT_TOKEN_BUDGET if token_budget is None else token_budget
    _validate(pairs, top_k=1, batch_size=batch_size, token_budget=budget, steps=1)
    if not pairs:
        return []
    texts = [text for pair in pairs for text in pair]
    sides = _tokenized_sides(encoder, texts)
    lengths = _pair_lengths(sides)
    readings: list[PairReading | None] = [None] * len(pairs)
    for batch_pairs in make_batches(lengths, token_budget=budget, batch_size=batch_size):
        rows = [sides[2 * i + s] for i in batch_pairs for s in (0, 1)]
        similarity = forward_only(encoder, encoder.batch([side.paragraph for side in rows])).similarity  # (k,)
        for k, index in enumerate(batch_pairs):
            side_a, side_b = rows[2 * k], rows[2 * k + 1]
            readings[index] = PairReading(
                similarity=float(similarity[k]),
                truncated=side_a.paragraph.truncated or side_b.paragraph.truncated,
                words_read=_words_read(side_a, side_b),
            )
    return readings  # type: ignore[return-value]
