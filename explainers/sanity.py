"""Parameter-randomization sanity test (Adebayo et al., "Sanity Checks for Saliency Maps", 2018).

An explanation that does not change when the model's trained weights are replaced by random ones
explains the input, not the model. We explain the same pairs with the trained encoder and with the
same architecture, seeded-randomly initialised, and compare per pair:

- ``spearman``: Spearman rank correlation of the word saliencies of both paragraphs concatenated
  (words come from the text alone, so both runs have the same words). When either saliency vector
  is constant the correlation is undefined: that pair's value is ``None`` and it is left out of
  ``spearman_mean`` (counted in ``spearman_undefined``), rather than counted as 0 or 1, since a
  constant map neither agrees nor disagrees in rank.
- ``jaccard``: |S ∩ R| / |S ∪ R| of the selected (a, b) word-index pairs (1.0 when both are empty).

Low values mean the method passes: its explanations depend on the learned weights.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from scipy.stats import spearmanr

__all__ = ["format_report", "jaccard", "sanity_check", "sanity_compare", "saliency_spearman"]


def _as_dict(explanation: Any) -> dict[str, Any]:
    return explanation if isinstance(explanation, dict) else explanation.to_dict()


def saliency_spearman(trained: Any, randomized: Any) -> float | None:
    """Spearman correlation of two explanations' word saliencies (words[0] + words[1], same words
    in both); None when either is constant. Raises ValueError if the words differ."""
    t, r = _as_dict(trained), _as_dict(randomized)
    offsets_t = [(w["start"], w["end"]) for side in t["words"] for w in side]
    offsets_r = [(w["start"], w["end"]) for side in r["words"] for w in side]
    if offsets_t != offsets_r:
        raise ValueError("the two explanations do not have the same words; explain the same pair with both")
    s_t = [float(w["saliency"]) for side in t["words"] for w in side]
    s_r = [float(w["saliency"]) for side in r["words"] for w in side]
    if len(s_t) < 2 or len(set(s_t)) < 2 or len(set(s_r)) < 2:
        return None
    rho = float(spearmanr(s_t, s_r).statistic)
    return None if math.isnan(rho) else rho


def jaccard(trained: Any, randomized: Any) -> float:
    """Jaccard overlap of the two explanations' selected (a, b) word-index pairs; 1.0 if both are empty."""
    s = {(p["a"], p["b"]) for p in _as_dict(trained)["pairs"]}
    r = {(p["a"], p["b"]) for p in _as_dict(randomized)["pairs"]}
    union = s | r
    return len(s & r) / len(union) if union else 1.0


def _mean(values: Sequence[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def sanity_check(
    pairs: Sequence[tuple[str, str]],
    method: str,
    *,
    model: str | os.PathLike | None = None,
    device: str | None = None,
    seed: int = 0,
    top_k: int = 2,
    batch_size: int | None = None,
    pooling: str | None = None,
    dtype: str = "fp32",
    **opts: Any,
) -> dict[str, Any]:
    """Explain ``pairs`` with ``method`` using the trained ``model`` (None: the default model) and
    the same architecture with random weights (``load_encoder(random_init=True, seed=seed)``).

    ``pooling`` / ``dtype`` go to both ``load_encoder`` calls; ``opts`` go to ``explain_pairs`` (e.g.
    ``steps``). Returns a JSON-safe dict: ``method``, ``model``, ``seed``, ``pairs`` (count),
    ``spearman_mean`` (None if undefined for every pair), ``spearman_undefined``, ``jaccard_mean``,
    and ``per_pair``: one dict per pair with ``index``, ``spearman``, ``jaccard``,
    ``similarity_trained``, ``similarity_random`` and ``truncated``.
    """
    from .encoder import load_encoder
    from .pipeline import explain_pairs

    pairs = list(pairs)
    encoder = load_encoder(model, device=device, pooling=pooling, dtype=dtype)
    model_name = encoder.name
    trained_run = explain_pairs(encoder, pairs, method, top_k=top_k, batch_size=batch_size, **opts)
    del encoder  # free the trained model before the random one loads
    encoder = load_encoder(model, device=device, random_init=True, seed=seed, pooling=pooling, dtype=dtype)
    random_run = explain_pairs(encoder, pairs, method, top_k=top_k, batch_size=batch_size, **opts)
    return sanity_compare(trained_run, random_run, method=method, model=model_name, seed=seed)


def sanity_compare(
    trained_run: Sequence[Any], random_run: Sequence[Any], *, method: str, model: str, seed: int
) -> dict[str, Any]:
    """The report of ``sanity_check`` from explanations (objects or dicts) of the same pairs by the
    trained and the random-weights model, e.g. when the trained ones are already stored."""
    per_pair = []
    for index, (trained, randomized) in enumerate(zip(trained_run, random_run, strict=True)):
        t, r = _as_dict(trained), _as_dict(randomized)
        per_pair.append(
            {
                "index": index,
                "spearman": saliency_spearman(t, r),
                "jaccard": jaccard(t, r),
                "similarity_trained": float(t["similarity"]),
                "similarity_random": float(r["similarity"]),
                "truncated": bool(t["truncated"]),
            }
        )
    return {
        "method": method,
        "model": model,
        "seed": seed,
        "pairs": len(per_pair),
        "spearman_mean": _mean([row["spearman"] for row in per_pair]),
        "spearman_undefined": sum(row["spearman"] is None for row in per_pair),
        "jaccard_mean": _mean([row["jaccard"] for row in per_pair]),
        "per_pair": per_pair,
    }


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def format_report(report: dict[str, Any]) -> str:
    """A sanity report as a readable table: one row per pair, then the means."""
    rows = [(str(row.get("id", row["index"])), row) for row in report["per_pair"]]
    width = max([len("pair"), *(len(label) for label, _ in rows)])
    lines = [
        f"Parameter-randomization test: {report['method']} on {report['model']} "
        f"vs. random weights (seed {report['seed']}), {report['pairs']} pair(s)",
        "",
        f"{'pair':<{width}}  {'spearman':>8}  {'jaccard':>7}  {'sim trained':>11}  {'sim random':>10}",
    ]
    lines += [
        f"{label:<{width}}  {_num(row['spearman']):>8}  {_num(row['jaccard']):>7}  "
        f"{row['similarity_trained']:>11.3f}  {row['similarity_random']:>10.3f}"
        for label, row in rows
    ]
    lines += [
        "",
        f"mean Spearman of word saliencies: {_num(report['spearman_mean'])}"
        + (
            f"  ({report['spearman_undefined']} pair(s) with a constant map left out)"
            if report["spearman_undefined"]
            else ""
        ),
        f"mean Jaccard of selected pairs:   {_num(report['jaccard_mean'])}",
        "Lower is better: a method that passes changes its explanation when the weights are random.",
    ]
    return "\n".join(lines) + "\n"
