"""Explanation payloads whose word offsets match given paragraph texts (for rendering tests)."""

from __future__ import annotations

import re


def payload_for_texts(text_a: str, text_b: str, *, method: str = "bti", extra: dict | None = None) -> dict:
    """The explanation contract for two texts: every whitespace-separated word, saliency falling with
    its index, and the first two words of each side matched. ``extra`` adds top-level fields."""
    sides = []
    for text in (text_a, text_b):
        words = [
            {"text": m.group(), "start": m.start(), "end": m.end(), "saliency": round(1.0 / (1 + i), 3)}
            for i, m in enumerate(re.finditer(r"\S+", text))
        ]
        sides.append(words)
    pairs = [
        {"a": i, "b": i, "word_similarity": 0.9 - 0.1 * i, "score": 0.8 - 0.1 * i}
        for i in range(min(2, len(sides[0]), len(sides[1])))
    ]
    payload = {
        "method": method,
        "model": "tiny",
        "similarity": 0.71,
        "truncated": False,
        "words": sides,
        "pairs": pairs,
    }
    payload.update(extra or {})
    return payload
