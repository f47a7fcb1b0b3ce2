"""Integrated Jacobians (Möller et al., EMNLP'23, "An Attribution Method for Siamese Encoders"):
a token × token attribution matrix of the similarity of two paragraphs, for one padded batch of pairs.

Score. s(a, b) = f(a) · f(b) with f the L2-normalised pooled embedding (``encoder.pool``, Eq. 1),
i.e. the cosine the encoder is trained for. Putting the normalisation inside f makes the
decomposition exact for the cosine; the reference code (xsbert) instead attributes the dot product
of the unnormalised embeddings and divides by their norms, which is exact only for the dot product.

Reference. Each paragraph's reference r keeps the special tokens ([CLS], [SEP]) and puts the
padding token's word-piece embedding at every content position, with the same attention mask:
xsbert's reference (``[<s>, <pad> × n, </s>]``), which keeps the reference a sequence of real
vocabulary embeddings of the same length (the model adds positions to it as to the input). For
RoBERTa / MPNet the padding row of the embedding matrix is zero, so there it is also the zero
reference. The special tokens are the same in a and r, so they get no attribution.

Attribution. Along the straight path x(α) = r + α (a − r) in the word-piece embedding space T
(the model adds positions itself, as for BTI and integrated gradients; this is the exact method,
not the EACL'24 approximation that attributes to an intermediate layer), with
J̄[d, i, k] = ∫₀¹ ∂f_d/∂x_ik (x(α)) dα,

    U_a[d, i] = Σ_k (a − r_a)_ik J̄_a[d, i, k]          (D, n_a): token i's share of f_d(a) − f_d(r_a)
    A = U_aᵀ U_b                                        (n_a, n_b) over content tokens

so that ΣA = (f(a) − f(r_a)) · (f(b) − f(r_b)) = s(a, b) − s(r_a, b) − s(a, r_b) + s(r_a, r_b)
(completeness). The integral uses the Gauss-Legendre rule of :mod:`integrated_gradients` (Captum's
default) with ``steps`` nodes rather than xsbert's right Riemann sum over N steps: for this smooth
integrand its error falls much faster with the number of nodes. The absolute completeness error and
the error relative to |s(a, b)| go to each pair's diagnostics.

Words and pairs (the same contract as every method, see :mod:`pipeline`). Token saliency is A's row
sum (paragraph a) or column sum (paragraph b), signed: a word takes its tokens' max and is min-max
normalised per paragraph, so a word that lowers the similarity ranks below one that does not
matter. A word pair's score is A summed over the two words' tokens; MatchWords (Eq. 5) runs on
that word matrix and TopWords on the candidates' scores.

Cost. U_a[:, i] is the directional derivative of f along (a − r)_i at token i, so one forward-mode
JVP per content token gives a whole column of U: n_a JVPs per node instead of D backward passes
(n_a ≈ 20-120 for a paragraph, D = 384 for all-MiniLM-L6-v2). The JVPs of all tokens are one
``torch.func.vmap`` over the tangents, with the path nodes of several rows in one primal batch.
Each pass runs (nodes × tangents) sequences of the padded length with at most ``token_budget``
tokens in all, which bounds memory; forward mode keeps no graph. SDPA's fused CPU/CUDA kernels have
no forward-mode derivative, so attention runs on SDPA's math backend during the JVPs (the same
attention, unfused).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as functional
from torch.func import jvp, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel

from .encoder import DEFAULT_TOKEN_BUDGET, Batch, Encoder
from .errors import InputError
from .integrated_gradients import gauss_legendre
from .saliency import BatchScores, _scores, pair_cosine


def references(encoder: Encoder, batch: Batch) -> torch.Tensor:
    """r: the word-piece embeddings (rows, length, hidden) of the batch with every content token
    replaced by the padding token (special tokens and padding kept)."""
    pad = encoder.tokenizer.pad_token_id or 0  # what encoder.batch pads with
    return encoder.token_embeddings(torch.where(batch.content, pad, batch.ids))


def _normalised_embedding(encoder: Encoder, batch: Batch):
    """f: word-piece embeddings (rows, length, hidden) of ``batch``'s rows -> unit pooled
    embeddings (rows, D), pooled the encoder's way."""

    def f(inputs_embeds: torch.Tensor) -> torch.Tensor:
        pooled = encoder.pool(encoder.hidden_states(inputs_embeds, batch.attention_mask), batch)
        return functional.normalize(pooled, dim=-1)

    return f


def _no_forward_mode(exc: Exception) -> bool:
    """Whether ``exc`` says that an operation of the model has no forward-mode derivative (or, an
    old-style ``autograd.Function``, cannot run under torch.func), rather than a real failure."""
    if isinstance(exc, NotImplementedError):
        return True
    message = str(exc)
    return not isinstance(exc, torch.OutOfMemoryError) and ("forward AD" in message or "autograd.Function" in message)


def token_jacobians(
    encoder: Encoder, batch: Batch, *, steps: int = 50, token_budget: int = DEFAULT_TOKEN_BUDGET
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """U of every row of ``batch`` (rows 2j, 2j+1 = pair j), by forward-mode JVPs at the
    Gauss-Legendre nodes of the path from the reference to the input.

    Returns (U (rows, n_max, D), float32 or wider: U[row, t, d] is content token t's share of
    f_d(input) − f_d(reference), zero past the row's content; f at the inputs (rows, D); f at the
    references (rows, D); last-layer hidden states of the inputs (rows, length, hidden)).
    """
    tokens = encoder.token_embeddings(batch.ids)  # a (rows, length, hidden)
    reference = references(encoder, batch)
    delta = tokens - reference  # zero at special tokens and padding
    rows, length, _ = tokens.shape
    mask, content = batch.attention_mask, batch.content
    with torch.no_grad():
        hidden = encoder.hidden_states(tokens, mask)
        f_input = functional.normalize(encoder.pool(hidden, batch), dim=-1)
        f_reference = _normalised_embedding(encoder, batch)(reference)

    n_content = content.sum(1)  # (rows,)
    n_max = int(n_content.max())
    # Positions of each row's content tokens, in order (rows, n_max); past n_content they are unused.
    position = torch.argsort((~content).to(torch.int8), dim=1, stable=True)[:, :n_max]
    valid = torch.arange(n_max, device=tokens.device) < n_content[:, None]
    alphas, weights = gauss_legendre(steps)
    alpha = torch.as_tensor(alphas, dtype=tokens.dtype, device=tokens.device)
    weight = torch.as_tensor(weights, dtype=torch.float64, device=tokens.device)
    accumulate = torch.promote_types(tokens.dtype, torch.float32)
    u = torch.zeros(rows, n_max, f_input.shape[-1], dtype=accumulate, device=tokens.device)

    # One pass: `nodes` path points (row, α) × `width` tangents, nodes × width × length <= budget.
    sequences = max(1, token_budget // length)
    width = min(n_max, sequences)
    nodes = max(1, sequences // width)
    row_index = torch.arange(rows, device=tokens.device).repeat_interleave(steps)
    step_index = torch.arange(steps, device=tokens.device).repeat(rows)
    try:
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
            for start in range(0, rows * steps, nodes):
                r, k = row_index[start : start + nodes], step_index[start : start + nodes]
                f = _normalised_embedding(encoder, batch.take(r))
                point = reference[r] + alpha[k].view(-1, 1, 1) * delta[r]  # x(α) (nodes, length, hidden)
                for first in range(0, n_max, width):
                    # Tangent t of node p: (a − r) at that node's t-th content token only.
                    at = functional.one_hot(position[r, first : first + width], length).to(tokens.dtype)
                    at = at * valid[r, first : first + width, None]  # (nodes, width, length)
                    tangents = at.transpose(0, 1).unsqueeze(-1) * delta[r]  # (width, nodes, length, hidden)
                    columns = vmap(lambda tangent, f=f, point=point: jvp(f, (point,), (tangent,))[1])(tangents)
                    share = columns.transpose(0, 1).to(accumulate) * weight[k].view(-1, 1, 1).to(accumulate)
                    u[:, first : first + width].index_add_(0, r, share)  # (nodes, width, D)
    except (NotImplementedError, RuntimeError) as exc:
        if not _no_forward_mode(exc):
            raise
        raise InputError(
            f"integrated-jacobians needs forward-mode derivatives of every operation of model {encoder.name!r}, "
            f"and one is missing ({str(exc).splitlines()[0]}); explain this model with another method"
        ) from None
    return u, f_input, f_reference, hidden


def attribution_matrices(u: torch.Tensor, n_content: torch.Tensor) -> list[np.ndarray]:
    """A = U_aᵀ U_b of each pair (float64), (content tokens of a, content tokens of b), from U
    (rows, n_max, D) of :func:`token_jacobians`."""
    n = n_content.tolist()
    u = u.detach().to(torch.float64)
    return [(u[2 * j, : n[2 * j]] @ u[2 * j + 1, : n[2 * j + 1]].T).cpu().numpy() for j in range(u.shape[0] // 2)]


def integrated_jacobians(
    encoder: Encoder, batch: Batch, *, steps: int = 50, token_budget: int = DEFAULT_TOKEN_BUDGET, **_: Any
) -> BatchScores:
    """Integrated Jacobians of each pair of ``batch``: its token × token attribution matrix A
    (``pair_scores``) and, as token saliency, A's row sums for paragraph a and column sums for
    paragraph b (token i's share of ΣA), signed: a token that lowers the similarity scores below
    one that does not matter, and the pipeline's per-paragraph min-max maps the lowest to 0.
    Diagnostics per pair: ``steps``, ``completeness_error`` = |ΣA − (s(a, b) − s(r_a, b) −
    s(a, r_b) + s(r_a, r_b))| and ``completeness_error_relative`` = that / |s(a, b)|."""
    u, f_input, f_reference, hidden = token_jacobians(encoder, batch, steps=steps, token_budget=token_budget)
    n_content = batch.content.sum(1)
    matrices = attribution_matrices(u, n_content)
    token_scores = torch.zeros(batch.ids.shape, dtype=torch.float64)
    content = batch.content.cpu()
    diagnostics = []
    f_in, f_ref = f_input.to(torch.float64).cpu(), f_reference.to(torch.float64).cpu()
    for j, matrix in enumerate(matrices):
        token_scores[2 * j][content[2 * j]] = torch.from_numpy(matrix.sum(1))
        token_scores[2 * j + 1][content[2 * j + 1]] = torch.from_numpy(matrix.sum(0))
        a, b, ra, rb = f_in[2 * j], f_in[2 * j + 1], f_ref[2 * j], f_ref[2 * j + 1]
        s = float(a @ b)
        expected = s - float(ra @ b) - float(a @ rb) + float(ra @ rb)
        error = abs(float(matrix.sum()) - expected)
        diagnostics.append(
            {"steps": steps, "completeness_error": error, "completeness_error_relative": error / max(abs(s), 1e-12)}
        )
    return _scores(pair_cosine(f_input), hidden, token_scores, diagnostics, matrices)
