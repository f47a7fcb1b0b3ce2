"""Integrated gradients (Sundararajan et al. 2017) of BTI's objective, with a zero baseline in
embedding space.

For paragraph p with word-piece embeddings T (positions untouched: the model is fed
``inputs_embeds = α·T`` and adds P itself), f(X) = C(F_other, F_p(X)) with the other paragraph's F
held constant at its real input. The attribution is T ∘ Σ_k w_k ∇f(α_k T) with Captum's default
Gauss-Legendre rule (α_k, w_k = leggauss(steps) mapped to [0, 1]), i.e. exactly
``captum.attr.IntegratedGradients(f).attribute(T, baselines=torch.zeros_like(T), n_steps=steps)``.
It is summed over the hidden dimension; a token's saliency is its absolute value. The α steps of
all rows are batched within the token budget (rows × padded length).

A family whose embedding LayerNorm sees α·T alone (DeBERTa-v2/v3 without position_biased_input and
without token types: E = T, nothing added) is scale-invariant along this path: f(α·T) = f(T) for
every α above LayerNorm's epsilon, and the whole difference f(T) − f(0) sits in a jump at α ≈ 0 that
no quadrature step sees. The attributions are then near zero and the completeness error, reported
in the diagnostics, is about |f(T) − f(0)|: a property of the zero baseline on such a model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as functional

from .encoder import DEFAULT_TOKEN_BUDGET, Batch, Encoder
from .saliency import BatchScores, _scores, pair_cosine


def gauss_legendre(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Captum's "gausslegendre" rule on [0, 1]: (alphas (steps,), step sizes (steps,))."""
    points, weights = np.polynomial.legendre.leggauss(steps)
    return 0.5 * (1 + points), 0.5 * weights


def attributions(
    encoder: Encoder, batch: Batch, *, steps: int = 50, token_budget: int = DEFAULT_TOKEN_BUDGET
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """IG attributions for every row of ``batch`` (rows 2j, 2j+1 = pair j).

    Returns (attributions summed over hidden (rows, length), similarity (k,), hidden (rows, length,
    hidden) of the real input, completeness error |Σ attributions − (f(T) − f(0))| (rows,)).
    """
    tokens = encoder.token_embeddings(batch.ids)  # T (rows, length, hidden)
    rows, length, _ = tokens.shape
    with torch.no_grad():
        hidden = encoder.hidden_states(tokens, batch.attention_mask)
        pooled = encoder.pool(hidden, batch)  # F at the real input (rows, hidden)
    other = pooled.view(-1, 2, pooled.shape[-1]).flip(1).reshape_as(pooled)  # row 2j <-> 2j+1

    alphas, weights = gauss_legendre(steps)
    # Every (row, α) combination, plus α = 0 per row for f(0) in the completeness check.
    alpha_all = np.concatenate([alphas, [0.0]])
    weight_all = np.concatenate([weights, [0.0]])
    row_index = np.repeat(np.arange(rows), alpha_all.size)
    alpha_index = np.tile(np.arange(alpha_all.size), rows)
    alpha_t = torch.as_tensor(alpha_all, dtype=tokens.dtype, device=tokens.device)
    weight_t = torch.as_tensor(weight_all, dtype=tokens.dtype, device=tokens.device)

    total = torch.zeros_like(tokens)  # Σ_k w_k ∇f(α_k T)  (rows, length, hidden)
    at_zero = torch.zeros(rows, dtype=tokens.dtype, device=tokens.device)
    chunk = max(1, token_budget // length)
    for start in range(0, row_index.size, chunk):
        r = torch.as_tensor(row_index[start : start + chunk], device=tokens.device)
        a = torch.as_tensor(alpha_index[start : start + chunk], device=tokens.device)
        scaled = (alpha_t[a].view(-1, 1, 1) * tokens[r]).detach()  # α·T  (chunk, length, hidden)
        with torch.enable_grad():
            scaled.requires_grad_(True)
            chunk_batch = batch.take(r)
            out = encoder.pool(encoder.hidden_states(scaled, chunk_batch.attention_mask), chunk_batch)
            value = functional.cosine_similarity(other[r], out, dim=-1)  # f(α·T) per chunk row
            (gradient,) = torch.autograd.grad(value.sum(), inputs=[scaled])
        total.index_add_(0, r, gradient * weight_t[a].view(-1, 1, 1))
        zero = a == alpha_all.size - 1
        at_zero[r[zero]] = value.detach()[zero]
    attribution = (tokens * total).sum(-1) * batch.attention_mask.to(tokens.dtype)  # (rows, length)
    at_input = functional.cosine_similarity(other, pooled, dim=-1)
    error = (attribution.sum(-1) - (at_input - at_zero)).abs()
    return attribution, pair_cosine(pooled), hidden, error


def integrated_gradients(
    encoder: Encoder, batch: Batch, *, steps: int = 50, token_budget: int = DEFAULT_TOKEN_BUDGET, **_: Any
) -> BatchScores:
    """Integrated-gradients token saliency |Σ_hidden attribution| per token; the completeness
    error of each paragraph goes to the pair's diagnostics."""
    attribution, similarity, hidden, error = attributions(encoder, batch, steps=steps, token_budget=token_budget)
    errors = error.view(-1, 2).tolist()
    return _scores(
        similarity, hidden, attribution.abs(), [{"steps": steps, "completeness_error": pair} for pair in errors]
    )
