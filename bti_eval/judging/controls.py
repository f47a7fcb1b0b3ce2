"""Control items (WMT Appraise's "BAD" references): a degraded explanation of a real pair.

``degrade`` keeps a real explanation's words (texts and offsets), similarity, model and length of
the matched-pairs table, so a control has the same JSON shape and goes through the same blind
renderer, but its saliencies are random (a few words strongly highlighted, as a min-max normalised
map has) and its matched pairs are random words of each paragraph. Pure functions, no Django.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from bti_eval.rounds.constants import CONTROL_METHOD

__all__ = ["CONTROL_METHOD", "degrade"]


def _random_saliency(n: int, rng: random.Random) -> list[float]:
    """n values in [0, 1], min-max normalised (Eq. 4's form), skewed so that few words stand out."""
    raw = [rng.random() ** 3 for _ in range(n)]
    if n == 0:
        return []
    low, high = min(raw), max(raw)
    if high <= low:
        return [0.0] * n
    return [(value - low) / (high - low) for value in raw]


def degrade(payload: Mapping[str, Any], *, rng: random.Random) -> dict[str, Any]:
    """A control payload built from a real explanation ``payload`` (the explainers' JSON contract).

    Out: the same contract with method ``"control"``, the same words with random saliencies, and
    as many random (a, b) pairs as the real one selected (avoiding the real pairs when possible),
    with random word similarities, sorted by score (highest first) like real explanations.
    """
    sides = payload.get("words") or [[], []]
    words = []
    for side in sides:
        saliency = _random_saliency(len(side), rng)
        words.append(
            [
                {"text": w["text"], "start": w["start"], "end": w["end"], "saliency": s}
                for w, s in zip(side, saliency, strict=True)
            ]
        )
    n_a, n_b = len(words[0]), len(words[1])
    real = {(p["a"], p["b"]) for p in payload.get("pairs") or []}
    wanted = min(max(len(real), 1), n_a * n_b)
    candidates = [(a, b) for a in range(n_a) for b in range(n_b)]
    rng.shuffle(candidates)
    fresh = [c for c in candidates if c not in real]
    picked = (fresh + [c for c in candidates if c in real])[:wanted]
    pairs = []
    for a, b in picked:
        word_similarity = rng.uniform(0.2, 0.9)
        score = word_similarity * (words[0][a]["saliency"] + words[1][b]["saliency"]) / 2
        pairs.append({"a": a, "b": b, "word_similarity": word_similarity, "score": score})
    pairs.sort(key=lambda p: p["score"], reverse=True)
    return {
        "method": CONTROL_METHOD,
        "model": payload.get("model", ""),
        "similarity": payload.get("similarity"),
        "truncated": bool(payload.get("truncated", False)),
        **({"words_read": payload["words_read"]} if payload.get("words_read") else {}),  # the same cut as the real one
        "words": words,
        "pairs": pairs,
    }
