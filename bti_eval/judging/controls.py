"""Control items (WMT Appraise's "BAD" references): a degraded explanation of a real pair.

``degrade`` keeps a real explanation's words (texts and offsets), similarity, model and length of
the matched-pairs table, so a control has the same JSON shape and goes through the same blind
renderer, but its saliencies are random (a few words strongly highlighted, as a min-max normalised
map has) and its matched pairs are random words of each paragraph. Pure functions, no Django.

``control_test`` is the judge quality check on them (``results.quality``, and the screen-out of a
crowd participant at completion, ``services.studies``): it lives here, below both.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from bti_eval.rounds.constants import CONTROL_METHOD

CONTROL_SIGNIFICANCE = 0.05  # the control test's level: controls must be rated lower at p < 0.05


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


def control_test(real: Sequence[float], control: Sequence[float]) -> dict[str, Any]:
    """One-sided Mann-Whitney U test (scipy) that a judge scores real items higher than control items.

    Out: ``{"u", "p", "flag"}``; flag is True when the judge does not rate controls lower
    (p ≥ CONTROL_SIGNIFICANCE or mean(control) ≥ mean(real)), None when either list is empty.
    """
    import numpy as np
    from scipy import stats

    real_arr, control_arr = np.asarray(real, dtype=float), np.asarray(control, dtype=float)
    if real_arr.size == 0 or control_arr.size == 0:
        return {"u": None, "p": None, "flag": None}
    result = stats.mannwhitneyu(real_arr, control_arr, alternative="greater")
    p = float(result.pvalue) if math.isfinite(result.pvalue) else None
    u = float(result.statistic) if math.isfinite(result.statistic) else None
    flag = p is None or p >= CONTROL_SIGNIFICANCE or control_arr.mean() >= real_arr.mean()
    return {"u": u, "p": p, "flag": bool(flag)}


def pairwise_control_flag(*, real: int, degraded: int, same: int) -> bool | None:
    """A pairwise round's control check for one judge: True when they preferred the degraded copy at
    least as often as the real explanation (a judge who always answers "about the same" included),
    None without control items. ``real`` / ``degraded`` / ``same``: how often they chose each."""
    if real + degraded + same == 0:
        return None
    return degraded >= real


def control_test_can_pass(n_real: int, n_control: int) -> bool:
    """Whether a judge with ``n_real`` real and ``n_control`` control items can pass ``control_test``
    at all: its best case (every real item 5, every control 1) is not flagged. With few items the
    test cannot reach significance, and a screen-out on it would turn every participant away."""
    if n_real < 1 or n_control < 1:
        return False
    return control_test([5] * n_real, [1] * n_control)["flag"] is False
