"""Result selectors: the paper's Table 1 (MOS per method) for a round, aggregated in SQL.

Per method: ``n`` ratings, ``mean`` over all ratings, ``std`` = the sample standard deviation
(ddof=1) across the judges' per-method mean scores (the paper's "mean ± std", Table 1),
``std_ratings`` = the sample std over all ratings, ``n_judges``. A std is None when fewer than
two judges (or ratings) contribute. The database does the heavy work (GROUP BY with Count, Sum,
Avg); Python only combines a few numbers per method and per (method, judge).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from django.db.models import Avg, Count, F, QuerySet, Sum

from bti_eval.judging.models import Rating
from bti_eval.rounds.models import EvaluationRound

# Researcher-facing labels in the paper's wording (judges never see these).
METHOD_LABELS = {
    "bti": "BTI",
    "bti-last-layer": "BTI (last layer)",
    "bti-activations": "BTI (activations only)",
    "bti-gradients": "BTI (gradients only)",
    "vanilla-gradients": "Vanilla Gradients",
    "integrated-gradients": "Integrated Gradients",
    "tfidf-w2v": "TF-IDF-W2V",
}


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def round_ratings(*, round: EvaluationRound) -> QuerySet[Rating]:
    """The round's ratings, annotated with ``method`` and ``judge_id``."""
    return Rating.objects.filter(assignment__explanation__round=round).annotate(
        method=F("assignment__explanation__method"), judge_id=F("assignment__judge_id")
    )


def round_results(*, round: EvaluationRound) -> dict[str, Any]:
    """``{"round_id", "status", "final", "n_ratings", "n_judges", "methods": [row, ...]}``.

    Rows follow the round's method order: ``{"method", "label", "n", "n_judges", "mean", "std",
    "std_ratings", "mean_of_judge_means"}``. ``final`` is True once the round is closed;
    before that the numbers are partial.
    """
    ratings = Rating.objects.filter(assignment__explanation__round=round)
    # Integer sums give the exact mean and sample variance on every backend (SQLite's STDDEV_SAMP
    # fails on a single value where PostgreSQL returns NULL).
    per_method = {
        row["method"]: row
        for row in ratings.values(method=F("assignment__explanation__method"))
        .annotate(n=Count("id"), total=Sum("score"), squares=Sum(F("score") * F("score")))
        .order_by()
    }
    judge_means: dict[str, list[float]] = {}
    for row in (
        ratings.values(method=F("assignment__explanation__method"), judge=F("assignment__judge_id"))
        .annotate(mean=Avg("score"))
        .order_by()
    ):
        judge_means.setdefault(row["method"], []).append(float(row["mean"]))

    methods = list(round.methods) + sorted(set(per_method) - set(round.methods))
    rows = []
    for method in methods:
        agg = per_method.get(method, {})
        means = judge_means.get(method, [])
        rows.append(
            {
                "method": method,
                "label": method_label(method),
                "n": agg.get("n", 0),
                "n_judges": len(means),
                "mean": agg["total"] / agg["n"] if agg else None,
                "std": statistics.stdev(means) if len(means) >= 2 else None,
                "std_ratings": _sample_std(agg["n"], agg["total"], agg["squares"]) if agg else None,
                "mean_of_judge_means": statistics.fmean(means) if means else None,
            }
        )
    return {
        "round_id": round.pk,
        "status": round.status,
        "final": round.status == EvaluationRound.Status.CLOSED,
        "n_ratings": sum(r["n"] for r in rows),
        "n_judges": ratings.values("assignment__judge_id").distinct().count(),
        "methods": rows,
    }


def _sample_std(n: int, total: int, squares: int) -> float | None:
    """Sample std (ddof=1) of n integers from their sum and sum of squares (exact: integer arithmetic)."""
    if n < 2:
        return None
    return math.sqrt(max(n * squares - total * total, 0) / (n * (n - 1)))
