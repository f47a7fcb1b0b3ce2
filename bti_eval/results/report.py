"""The full results of a round (a selector): the paper's table with bootstrap CIs and letters,
agreement, paired tests, judge quality, control items, the design, and the automatic metrics.

``round_report`` reads; it writes nothing. Every number comes from one read of the ratings
(``rating_frame``): the table and the per-pair sums (``round_results``, ``pair_method_sums``), the
agreement and the judges' statistics. The report is cached under a key that changes with every
rating, judge, round option or automatic-metrics run, in the cache ``settings.BTI_RESULTS_CACHE``
names (default: "default"; production's is Redis, the embedded one a folder in var/), so that the
web server, the worker and ``manage.py export_results`` share one computation of a report.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from itertools import combinations
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import BaseCache, caches

from bti_eval.core.exceptions import ApplicationError
from bti_eval.results import statistics
from bti_eval.results.auto_metrics import auto_report
from bti_eval.results.pairwise_report import mos_reference, pairwise_round_report
from bti_eval.results.quality import judge_quality, mark_excluded
from bti_eval.results.selectors import (
    RatingFrame,
    judge_loads,
    pair_method_sums,
    rating_frame,
    ratings_fingerprint,
    round_judges,
    round_results,
)
from bti_eval.rounds.models import EvaluationRound

CACHE_SECONDS = 3600
# A closed round's ratings never change (the key holds their fingerprint anyway): its report is kept
# for this long, so that exports and the results page read it instead of computing it again.
CLOSED_CACHE_SECONDS = 30 * 24 * 3600


def results_cache() -> BaseCache:
    """The cache that holds reports (``settings.BTI_RESULTS_CACHE``, default "default")."""
    return caches[getattr(settings, "BTI_RESULTS_CACHE", "default")]


def report_settings(round: EvaluationRound) -> dict[str, Any]:
    """The analysis settings: resample counts, confidence level, significance level, too-fast threshold."""
    return {
        "resamples": int(getattr(settings, "BTI_BOOTSTRAP_RESAMPLES", 2000)),
        "alpha_resamples": int(getattr(settings, "BTI_ALPHA_RESAMPLES", 1000)),
        "confidence": statistics.LEVEL,
        "significance": statistics.SIGNIFICANCE,
        "too_fast_seconds": float(
            round.too_fast_seconds if round.too_fast_seconds is not None else settings.BTI_TOO_FAST_SECONDS
        ),
        "seed": int(round.seed),
    }


EXCLUDE_FLAGGED_ERROR = "exclude_flagged must be 1 or 0."


def parse_exclude_flagged(value: str | None) -> bool:
    """The ``exclude_flagged`` query parameter (API and page alike): ``1|true|yes`` → True,
    ``0|false|no``/absent → False; anything else raises ApplicationError (a 400)."""
    value = (value or "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ApplicationError(EXCLUDE_FLAGGED_ERROR)


def round_report(*, round: EvaluationRound, exclude_flagged: bool = False, use_cache: bool = True) -> dict[str, Any]:
    """Everything the results page, the API and the exports show (JSON-safe dict); for a pairwise
    round, ``pairwise_report.pairwise_round_report``'s Bradley–Terry report instead.

    ``exclude_flagged`` recomputes every statistic without the flagged judges (see
    results.quality); the per-judge table still lists them, marked ``excluded``.
    """
    options = report_settings(round)
    reference = _mos_reference(round)
    key = _cache_key(round, exclude_flagged, options, reference)
    if use_cache:
        cached = results_cache().get(key)
        if cached is not None:
            return cached
    if round.design == EvaluationRound.Design.PAIRWISE:
        report = pairwise_round_report(round, exclude_flagged=exclude_flagged, options=options, reference=reference)
    else:
        report = _compute(round, exclude_flagged, options)
    if use_cache:
        closed = round.status == EvaluationRound.Status.CLOSED
        results_cache().set(key, report, CLOSED_CACHE_SECONDS if closed else CACHE_SECONDS)
    return report


def _mos_reference(round: EvaluationRound) -> EvaluationRound | None:
    """A pairwise round's MOS round to compare rankings with (``pairwise_report.mos_reference``)."""
    return mos_reference(round=round) if round.design == EvaluationRound.Design.PAIRWISE else None


def _cache_key(
    round: EvaluationRound, exclude_flagged: bool, options: dict[str, Any], reference: EvaluationRound | None = None
) -> str:
    parts = (ratings_fingerprint(round=round), exclude_flagged, sorted(options.items()), tuple(round.methods))
    if reference is not None:  # a pairwise round's tau changes with the MOS round's ratings
        parts += (reference.pk, ratings_fingerprint(round=reference))
    return f"bti-report:{round.pk}:{hashlib.sha256(repr(parts).encode()).hexdigest()}"


def judges_with_quality(
    round: EvaluationRound, frame: RatingFrame, options: dict[str, Any], *, agreement: bool = True
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The round's judges (``id``, ``name``, ``seed``, ``active``; by id) and their quality rows
    (results.quality): the report's judge table and the flags ``exclude_flagged`` acts on.
    ``agreement=False`` leaves each judge's agreement out (None): the flags do not use it."""
    judges = round_judges(round=round)
    return judges, judge_quality(frame, judges, too_fast_seconds=options["too_fast_seconds"], agreement=agreement)


def flagged_judges(*, round: EvaluationRound) -> set[int]:
    """The ids of the judges the report flags: from the cached report when there is one, else
    computed alone (no bootstrap, no agreement: only what the flags need)."""
    options = report_settings(round)
    if round.design == EvaluationRound.Design.PAIRWISE:
        return {row["id"] for row in round_report(round=round)["judges"] if row["flagged"]}
    cached = results_cache().get(_cache_key(round, False, options))
    if cached is not None:
        quality = cached["judges"]
    else:
        _, quality = judges_with_quality(round, rating_frame(round=round), options, agreement=False)
    return {row["id"] for row in quality if row["flagged"]}


def _compute(round: EvaluationRound, exclude_flagged: bool, options: dict[str, Any]) -> dict[str, Any]:
    frame = rating_frame(round=round)
    judges, quality = judges_with_quality(round, frame, options)
    excluded = mark_excluded(quality, exclude_flagged=exclude_flagged)

    table = round_results(round=round, exclude_judges=excluded, frame=frame)
    methods = [row["method"] for row in table["methods"]]
    per_pair = _per_pair(pair_method_sums(round=round, exclude_judges=excluded, frame=frame))
    for row in table["methods"]:
        _add_ci(row, per_pair.get(row["method"], {}), options)
    comparisons = _comparisons(methods, per_pair, options)
    means = {row["method"]: row["mean"] for row in table["methods"] if row["mean"] is not None}
    significant = {frozenset((c["a"], c["b"])) for c in comparisons if c["significant"]}
    letters = statistics.compact_letters(means, significant) if means else {}
    for row in table["methods"]:
        row["letters"] = letters.get(row["method"], "")

    kept = frame.where(~np.isin(frame.judge, excluded)) if excluded else frame
    return {
        **table,
        "options": {
            "exclude_flagged": exclude_flagged,
            "excluded_judges": excluded,
            **options,
            "bootstrap": "percentile; resamples the pairs (items) with replacement, all ratings of a pair together",
            "alpha_bootstrap": "percentile; resamples the units (explanations) with replacement",
            "paired_test": "Wilcoxon signed-rank on per-pair mean scores, two-sided, Holm-corrected",
            "effect_size": "matched-pairs rank-biserial correlation (positive: the row method scores higher)",
        },
        "agreement": _agreement(kept.where(~kept.control), methods, options),
        "comparisons": comparisons,
        "matrix": _matrix(methods, comparisons),
        "judges": quality,
        "controls": _controls(round, kept),
        "design": _design(round, judges),
        "auto": auto_report(round=round, table=table["methods"]),
    }


def _per_pair(rows: list[tuple[int, str, int, int]]) -> dict[str, dict[int, tuple[int, int]]]:
    """``{method: {pair_id: (n, sum)}}`` from pair_method_sums rows."""
    out: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
    for pair, method, n, total in rows:
        out[method][pair] = (n, total)
    return out


def _add_ci(row: dict[str, Any], pairs: dict[int, tuple[int, int]], options: dict[str, Any]) -> None:
    counts = [n for n, _ in pairs.values()]
    sums = [total for _, total in pairs.values()]
    ci = statistics.bootstrap_mean_ci(
        sums,
        counts,
        resamples=options["resamples"],
        rng=statistics.rng_for(options["seed"], "ci", row["method"]),
        level=options["confidence"],
    )
    row["n_pairs"] = len(pairs)
    row["ci_low"], row["ci_high"] = ci if ci else (None, None)
    row["ci_resamples"] = options["resamples"]


def _comparisons(
    methods: list[str], per_pair: dict[str, dict[int, tuple[int, int]]], options: dict[str, Any]
) -> list[dict[str, Any]]:
    """Wilcoxon signed-rank between every two methods on per-pair means, Holm-corrected."""
    rated = [m for m in methods if per_pair.get(m)]
    pairs = sorted({p for m in rated for p in per_pair[m]})
    position = {p: i for i, p in enumerate(pairs)}
    means = {}
    for method in rated:
        column = np.full(len(pairs), np.nan)
        for pair, (n, total) in per_pair[method].items():
            column[position[pair]] = total / n
        means[method] = column
    rows = []
    for a, b in combinations(rated, 2):
        test = statistics.paired_wilcoxon(means[a], means[b])
        rows.append({"a": a, "b": b, **test})
    for row, adjusted in zip(rows, statistics.holm([r["p"] for r in rows]), strict=True):
        row["p_holm"] = adjusted
        row["significant"] = adjusted is not None and adjusted < options["significance"]
    return rows


def _matrix(methods: list[str], comparisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the compact matrix: for (row a, column b), a's effect vs b and the Holm p-value."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for c in comparisons:
        cells[(c["a"], c["b"])] = {"effect": c["effect"], "p_holm": c["p_holm"], "significant": c["significant"]}
        flipped = None if c["effect"] is None else -c["effect"]
        cells[(c["b"], c["a"])] = {"effect": flipped, "p_holm": c["p_holm"], "significant": c["significant"]}
    return [{"method": a, "cells": [cells.get((a, b)) for b in methods]} for a in methods]


def _reliability(frame: RatingFrame, judges: np.ndarray) -> np.ndarray:
    """(judges, explanations) score matrix with NaN where a judge did not rate an explanation."""
    units, unit_index = np.unique(frame.explanation, return_inverse=True)
    row_of = {j: i for i, j in enumerate(judges.tolist())}
    matrix = np.full((len(judges), units.size), np.nan)
    matrix[[row_of[j] for j in frame.judge.tolist()], unit_index] = frame.score
    return matrix


def _agreement(frame: RatingFrame, methods: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """Krippendorff's alpha (ordinal and interval) over all real ratings and per method, with CIs."""
    judges = np.unique(frame.judge)
    resamples = options["alpha_resamples"]

    def both(sub: RatingFrame, label: str) -> dict[str, Any]:
        return statistics.alpha_levels(
            _reliability(sub, judges),
            resamples=resamples,
            seed=options["seed"],
            label=label,
            confidence=options["confidence"],
        )

    per_method = [{"method": m, **both(frame.where(frame.method == m), m)} for m in methods]
    return {"overall": both(frame, "*"), "per_method": per_method, "judges": int(judges.size), "resamples": resamples}


def _controls(round: EvaluationRound, frame: RatingFrame) -> dict[str, Any]:
    control = frame.score[frame.control]
    real = frame.score[~frame.control]
    return {
        "items": round.explanations.filter(is_control=True).count(),
        "requested": round.control_items,
        "n_ratings": int(control.size),
        "mean": float(control.mean()) if control.size else None,
        "real_mean": float(real.mean()) if real.size else None,
    }


def _design(round: EvaluationRound, judges: list[dict[str, Any]]) -> dict[str, Any]:
    """The design, the seeds, and each judge's number of assignments (the positions are in the ratings export)."""
    return {
        "design": round.design,
        "judges_per_explanation": round.judges_per_explanation,
        "control_items": round.control_items,
        "round_seed": round.seed,
        "order": "per judge: random.Random(judge seed) shuffle, then no two explanations of a pair adjacent",
        "judges": judge_loads(round=round, judges=judges),
    }
