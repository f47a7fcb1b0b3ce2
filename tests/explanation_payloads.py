"""Well-formed explanation JSON (the explainers' contract, DESIGN.md) for tests that need no model.

Plain dicts, no Django: the explainers tests and the platform's factories both build on it."""

from __future__ import annotations

from typing import Any

WORDS = [
    [
        {"text": "wool", "start": 5, "end": 9, "saliency": 1.0},
        {"text": "gloves", "start": 10, "end": 16, "saliency": 0.8},
    ],
    [
        {"text": "gloves", "start": 9, "end": 15, "saliency": 0.9},
        {"text": "wool", "start": 24, "end": 28, "saliency": 0.5},
    ],
]
PAIRS = [
    {"a": 1, "b": 0, "word_similarity": 0.94, "score": 0.68},
    {"a": 0, "b": 1, "word_similarity": 0.91, "score": 0.45},
]


def explanation_payload(
    method: str = "bti",
    *,
    model: str = "tiny",
    similarity: float = 0.69,
    words: list[list[dict]] | None = None,
    pairs: list[dict] | None = None,
    **extra: Any,
) -> dict:
    """One explanation's JSON by ``method``: by default two words a side (``WORDS``) and two pairs
    (``PAIRS``), not truncated; ``extra`` adds keys (``diagnostics``, ``truncated``, ...)."""
    return {
        "method": method,
        "model": model,
        "similarity": similarity,
        "truncated": False,
        "words": [[dict(w) for w in side] for side in (WORDS if words is None else words)],
        "pairs": [dict(p) for p in (PAIRS if pairs is None else pairs)],
        **extra,
    }
