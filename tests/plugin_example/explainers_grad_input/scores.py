"""Gradient × input (Denil et al. 2014; Shrikumar et al. 2016), signed, for text similarity.

For row r of a batch (rows 2j, 2j+1 are a pair's paragraphs), token i's score is
s_i = Σ_k T_ik · g_ik with T the word-piece embeddings fed to the model and g = dC/dT the gradient
of the pair's cosine with the other paragraph held constant (BTI's Eq. 3 gradient). Unlike BTI
(Eq. 4) there is no ReLU: a token whose embedding pushes the similarity down gets a negative score,
and the scores of a paragraph sum to the first-order change of C when its embeddings are scaled,
Σ_i s_i = d/dε C((1 + ε) T) at ε = 0. Word saliency (max over a word's tokens, min-max per
paragraph), MatchWords and TopWords are the pipeline's, as for every method.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explainers.encoder import Batch, Encoder
from explainers.saliency import BatchScores, embedding_gradients


def grad_times_input(encoder: Encoder, batch: Batch, **_: Any) -> BatchScores:
    """``similarity`` (k,), ``hidden`` (2k, length, hidden) and ``token_scores`` (2k, length) of the batch."""
    similarity, hidden, tokens, gradient = embedding_gradients(encoder, batch)
    token_scores = (tokens * gradient).sum(-1)  # (2k, length), signed
    return BatchScores(
        similarity=similarity.detach().cpu().numpy().astype(np.float64),
        hidden=hidden.detach().float().cpu().numpy(),
        token_scores=token_scores.detach().float().cpu().numpy(),
    )
