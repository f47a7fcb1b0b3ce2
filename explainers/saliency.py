"""Token saliency of BTI (Eq. 2-4) and its Table 1 ablations, for one padded batch of pairs.

A batch holds both paragraphs of k pairs as rows 2j (paragraph a) and 2j+1 (paragraph b), padded
with an attention mask. One forward pass gives F for every row by the encoder's pooling (Eq. 1's
mean over content tokens for a plain transformers dir, the model's own pooling for a
sentence-transformers dir: ``encoder.pool(hidden, batch)``); the loss
Σ_pairs C(F_a.detach(), F_b) + C(F_a, F_b.detach()) has, per row, the gradient of the cosine with
the other paragraph's F held constant (Eq. 3), so ONE ``torch.autograd.grad`` call serves all rows.

The model is fed ``inputs_embeds = T`` (word-piece embeddings, a fresh leaf we own), so it adds
positions and segments as usual. E = T + P (Eq. 2, no segment embedding, before LayerNorm), hence
dC/dE = dC/dT; P comes from the encoder family's own position embeddings (zero for a family without
absolute positions, such as DeBERTa-v2/v3: E = T; see :mod:`explainers.families`). Gradients are
taken w.r.t. that leaf only (``autograd.grad(inputs=[T])``): no parameter gradient is computed and
no ``requires_grad`` flag of the caller or model is changed.
Methods that need no gradient run under ``torch.inference_mode``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as functional

from .encoder import Batch, Encoder


@dataclass
class BatchScores:
    """What a method computes for a batch of k pairs (2k rows).

    ``similarity`` (k,): encoder cosine C(F_a, F_b) of each pair; ``hidden`` (2k, length, hidden):
    last-layer token vectors for word vectors (None when not needed); ``token_scores`` (2k, length): raw token saliency
    (None when the method scores words another way); ``diagnostics``: one dict per pair; ``pair_scores``: None, or
    per pair a token × token score matrix (content tokens of a, content tokens of b), from which the pipeline
    scores word pairs (summed over the two words' tokens) instead of U (Eq. 6).
    """

    similarity: np.ndarray
    hidden: np.ndarray | None
    token_scores: np.ndarray | None
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    pair_scores: list[np.ndarray] | None = None


def pair_cosine(pooled: torch.Tensor) -> torch.Tensor:
    """C(F_a, F_b) for rows (2j, 2j+1) of ``pooled`` (2k, hidden) -> (k,)."""
    return functional.cosine_similarity(pooled[0::2], pooled[1::2], dim=-1)


def objective(pooled: torch.Tensor) -> torch.Tensor:
    """Σ_pairs C(F_a.detach(), F_b) + C(F_a, F_b.detach()): its gradient w.r.t. a row is that
    row's cosine gradient with the other paragraph held constant (Eq. 3)."""
    a, b = pooled[0::2], pooled[1::2]
    return (
        functional.cosine_similarity(a.detach(), b, dim=-1).sum()
        + functional.cosine_similarity(a, b.detach(), dim=-1).sum()
    )


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().cpu().numpy()


def embedding_gradients(
    encoder: Encoder, batch: Batch
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One forward and one backward over the batch.

    Returns (similarity (k,), hidden (2k, length, hidden), T (2k, length, hidden),
    g = dC/dT = dC/dE (2k, length, hidden)).
    """
    with torch.inference_mode(False), torch.enable_grad():
        tokens = encoder.token_embeddings(batch.ids).clone()  # (rows, length, hidden), our own leaf
        tokens.requires_grad_(True)
        hidden = encoder.hidden_states(tokens, batch.attention_mask)
        pooled = encoder.pool(hidden, batch)
        (gradient,) = torch.autograd.grad(objective(pooled), inputs=[tokens])
    return pair_cosine(pooled).detach(), hidden.detach(), tokens.detach(), gradient


def _scores(
    similarity: torch.Tensor,
    hidden: torch.Tensor | None,
    token_scores: torch.Tensor | None,
    diagnostics: list[dict[str, Any]] | None = None,
    pair_scores: list[np.ndarray] | None = None,
) -> BatchScores:
    """:class:`BatchScores` of the method's tensors, as numpy (similarity float64, the rest float32;
    ``pair_scores`` as given)."""
    return BatchScores(
        similarity=_numpy(similarity).astype(np.float64),
        hidden=None if hidden is None else _numpy(hidden),
        token_scores=None if token_scores is None else _numpy(token_scores),
        diagnostics=diagnostics or [],
        pair_scores=pair_scores,
    )


def bti(encoder: Encoder, batch: Batch, **_: Any) -> BatchScores:
    """BTI (Eq. 4): s_i = Σ_k ReLU(E_i ∘ g_i)_k with E = T + P."""
    similarity, hidden, tokens, gradient = embedding_gradients(encoder, batch)
    activation = tokens + encoder.position_embeddings(tokens.shape[1])  # E (Eq. 2)
    return _scores(similarity, hidden, torch.relu(activation * gradient).sum(-1))


def bti_gradients(encoder: Encoder, batch: Batch, **_: Any) -> BatchScores:
    """BTI, gradients only: s_i = Σ_k ReLU(g_i)_k."""
    similarity, hidden, _tokens, gradient = embedding_gradients(encoder, batch)
    return _scores(similarity, hidden, torch.relu(gradient).sum(-1))


def vanilla_gradients(encoder: Encoder, batch: Batch, **_: Any) -> BatchScores:
    """Vanilla gradients: s_i = ||dC/dT_i||_2 over the hidden dimension (the paper's Fig. 2)."""
    similarity, hidden, _tokens, gradient = embedding_gradients(encoder, batch)
    return _scores(similarity, hidden, gradient.norm(dim=-1))


def bti_activations(encoder: Encoder, batch: Batch, **_: Any) -> BatchScores:
    """BTI, activations only: s_i = Σ_k ReLU(E_i)_k, no gradient."""
    with torch.inference_mode():
        tokens = encoder.token_embeddings(batch.ids)
        hidden = encoder.hidden_states(tokens, batch.attention_mask)
        similarity = pair_cosine(encoder.pool(hidden, batch))
        activation = tokens + encoder.position_embeddings(tokens.shape[1])
        return _scores(similarity, hidden, torch.relu(activation).sum(-1))


def bti_last_layer(encoder: Encoder, batch: Batch, **_: Any) -> BatchScores:
    """BTI on the last layer: s_i = Σ_k ReLU(H_i ∘ dC/dH_i)_k with H = last_hidden_state.

    The forward runs without a graph; only pooling and the cosine are differentiated.
    """
    with torch.inference_mode(False):
        with torch.no_grad():
            hidden = encoder.hidden_states(encoder.token_embeddings(batch.ids), batch.attention_mask)
        hidden = hidden.detach().clone()
    with torch.inference_mode(False), torch.enable_grad():
        hidden.requires_grad_(True)
        pooled = encoder.pool(hidden, batch)
        (gradient,) = torch.autograd.grad(objective(pooled), inputs=[hidden])
    hidden = hidden.detach()
    return _scores(pair_cosine(pooled).detach(), hidden, torch.relu(hidden * gradient).sum(-1))


def forward_only(encoder: Encoder, batch: Batch, **_: Any) -> BatchScores:
    """The encoder's similarity only (for methods that score words without the model: tfidf-w2v)."""
    with torch.inference_mode():
        hidden = encoder.hidden_states(encoder.token_embeddings(batch.ids), batch.attention_mask)
        similarity = pair_cosine(encoder.pool(hidden, batch))
        return _scores(similarity, None, None)
