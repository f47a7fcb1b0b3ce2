"""The method contract, checked for every method and every batch: a method's ``score_batch`` returns
:class:`~explainers.saliency.BatchScores` of the batch's shapes, with finite numbers where they are
read. A built-in that broke it would be a bug; a plugin that breaks it gets an error naming it, not
an explanation built on wrong numbers (or an IndexError deep in word aggregation).

Shapes, for a batch of k pairs (rows 2j, 2j+1) padded to ``length`` tokens:
``similarity`` (k,); for ``words="encoder"`` methods ``token_scores`` (2k, length) and ``hidden``
(2k, length, hidden), all float numpy arrays; ``diagnostics`` empty or one dict per pair. Only
content tokens (``batch.content``) must be finite: padding and special tokens are never read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .encoder import Batch, Encoder
from .errors import ExplainerError, MethodError, NonFiniteScoresError
from .registry import Method
from .saliency import BatchScores


def scores_call(method: Method, score_batch: Callable, encoder: Encoder, batch: Batch, **options: Any) -> Any:
    """``score_batch(encoder, batch, **options)``; an exception a plugin's function raises (other
    than an :class:`ExplainerError`) becomes a :class:`MethodError` naming the plugin. A built-in's
    exception propagates unchanged: it is a bug of this library, with its traceback."""
    if not method.is_plugin:
        return score_batch(encoder, batch, **options)
    try:
        return score_batch(encoder, batch, **options)
    except ExplainerError:
        raise
    except Exception as exc:  # whatever the plugin's code raises
        raise MethodError(f"{method.describe()} failed: {type(exc).__name__}: {exc}") from exc


def _array(method: Method, field: str, value: Any, shape: tuple[int | None, ...]) -> np.ndarray:
    wanted = "(" + ", ".join("any" if n is None else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
    if not isinstance(value, np.ndarray):
        hint = " (convert with .detach().float().cpu().numpy())" if hasattr(value, "detach") else ""
        raise MethodError(
            f"{method.describe()} returned {field} as {type(value).__name__}, not a float numpy array "
            f"of shape {wanted}{hint}"
        )
    if value.dtype.kind != "f":
        raise MethodError(f"{method.describe()} returned {field} of dtype {value.dtype}, not a float array")
    if value.ndim != len(shape) or any(n is not None and n != got for n, got in zip(shape, value.shape, strict=False)):
        raise MethodError(
            f"{method.describe()} returned {field} of shape {tuple(value.shape)}; this batch needs {wanted}"
        )
    if value.ndim == 3 and value.shape[2] == 0:
        raise MethodError(f"{method.describe()} returned {field} with no hidden dimension")
    return value


def checked_scores(method: Method, scores: Any, *, batch: Batch, pair_numbers: Sequence[int]) -> BatchScores:
    """``scores`` if they follow the contract for ``batch``, whose pairs are ``pair_numbers`` (their
    positions in the caller's input, for messages). Raises :class:`MethodError` for a wrong type or
    shape, :class:`NonFiniteScoresError` naming the pairs whose read scores are NaN or infinite."""
    k = len(pair_numbers)
    rows, length = (int(n) for n in batch.ids.shape)
    if not isinstance(scores, BatchScores):
        raise MethodError(
            f"{method.describe()} returned a {type(scores).__name__}, not explainers.saliency.BatchScores"
        )
    similarity = _array(method, "similarity", scores.similarity, (k,))
    diagnostics = scores.diagnostics
    if not isinstance(diagnostics, list) or len(diagnostics) not in (0, k):
        raise MethodError(f"{method.describe()} returned diagnostics that are not a list of {k} dicts (or empty)")
    if not all(isinstance(d, dict) and all(isinstance(key, str) for key in d) for d in diagnostics):
        raise MethodError(f"{method.describe()} returned diagnostics that are not dicts with text keys")
    bad = ~np.isfinite(similarity)  # (k,)
    if method.words == "encoder":
        token_scores = _array(method, "token_scores", scores.token_scores, (rows, length))
        hidden = _array(method, "hidden", scores.hidden, (rows, length, None))
        unread = ~batch.content.cpu().numpy()  # (2k, length): padding and special tokens
        row_ok = (np.isfinite(token_scores) | unread).all(-1) & (np.isfinite(hidden).all(-1) | unread).all(-1)
        bad |= ~row_ok.reshape(k, 2).all(-1)
    if bad.any():
        numbers = ", ".join(str(pair_numbers[i]) for i in np.flatnonzero(bad))
        raise NonFiniteScoresError(f"{method.describe()} gave NaN or infinite scores for pair {numbers}")
    return scores
