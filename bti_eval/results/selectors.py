"""Result selectors: the paper's Table 1 (MOS per method) for a round, aggregated in SQL.

Per method: ``n`` ratings, ``mean`` over all ratings, ``std`` = the sample standard deviation
(ddof=1) across the judges' per-method mean scores (the paper's "mean ± std", Table 1),
``std_ratings`` = the sample std over all ratings, ``n_judges``. A std is None when fewer than
two judges (or ratings) contribute. The database does the heavy work (GROUP BY with Count, Sum,
Avg); Python only combines a few numbers per method and per (method, judge).

Control items (``Explanation.is_control``) never count toward a method. ``exclude_judges`` leaves
the given judges' ratings out (results "without flagged judges").
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Avg, Count, F, Max, Q, QuerySet, Sum

from bti_eval.judging.models import Assignment, Rating
from bti_eval.results.models import AutoEvaluation
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
    """The round's ratings, annotated with ``method`` (``judge_id`` is a column of Rating)."""
    return Rating.objects.filter(assignment__explanation__round=round).annotate(
        method=F("assignment__explanation__method")
    )


def real_ratings(*, round: EvaluationRound, exclude_judges: Collection[int] = ()) -> QuerySet[Rating]:
    """The round's ratings of real explanations (no control items), without ``exclude_judges``."""
    ratings = Rating.objects.filter(assignment__explanation__round=round, assignment__explanation__is_control=False)
    if exclude_judges:
        ratings = ratings.exclude(assignment__judge_id__in=list(exclude_judges))
    return ratings


def round_results(*, round: EvaluationRound, exclude_judges: Collection[int] = ()) -> dict[str, Any]:
    """``{"round_id", "status", "final", "n_ratings", "n_judges", "methods": [row, ...]}``.

    Rows follow the round's method order: ``{"method", "label", "n", "n_judges", "mean", "std",
    "std_ratings", "mean_of_judge_means"}``. ``final`` is True once the round is closed;
    before that the numbers are partial. Control items and ``exclude_judges`` are left out.
    """
    ratings = real_ratings(round=round, exclude_judges=exclude_judges)
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
        ratings.values("judge_id", method=F("assignment__explanation__method")).annotate(mean=Avg("score")).order_by()
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


def pair_method_sums(
    *, round: EvaluationRound, exclude_judges: Collection[int] = ()
) -> list[tuple[int, str, int, int]]:
    """``(pair_id, method, n ratings, sum of scores)`` per (pair, method) of real explanations (SQL GROUP BY)."""
    rows = (
        real_ratings(round=round, exclude_judges=exclude_judges)
        .values(pair=F("assignment__explanation__pair_id"), method=F("assignment__explanation__method"))
        .annotate(n=Count("id"), total=Sum("score"))
        .order_by("pair", "method")
    )
    return [(row["pair"], row["method"], row["n"], row["total"]) for row in rows]


@dataclass(frozen=True)
class RatingFrame:
    """Every rating of a round as parallel arrays (n_ratings,): judge, explanation and pair ids,
    method, control flag, score and seconds (NaN when unknown)."""

    judge: np.ndarray
    explanation: np.ndarray
    pair: np.ndarray
    method: np.ndarray  # object: method names
    control: np.ndarray  # bool
    score: np.ndarray  # float
    seconds: np.ndarray  # float, NaN = not measured

    def __len__(self) -> int:
        return int(self.score.size)

    def where(self, mask: np.ndarray) -> RatingFrame:
        return RatingFrame(**{name: getattr(self, name)[mask] for name in self.__dataclass_fields__})


def rating_frame(*, round: EvaluationRound) -> RatingFrame:
    """All the round's ratings (control items included) in one query, as a RatingFrame."""
    rows = list(
        Rating.objects.filter(assignment__explanation__round=round)
        .order_by("assignment__judge_id", "assignment__position")
        .values_list(
            "assignment__judge_id",
            "assignment__explanation_id",
            "assignment__explanation__pair_id",
            "assignment__explanation__method",
            "assignment__explanation__is_control",
            "score",
            "seconds",
        )
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * 7
    return RatingFrame(
        judge=np.asarray(columns[0], dtype=np.int64),
        explanation=np.asarray(columns[1], dtype=np.int64),
        pair=np.asarray(columns[2], dtype=np.int64),
        method=np.asarray(columns[3], dtype=object),
        control=np.asarray(columns[4], dtype=bool),
        score=np.asarray(columns[5], dtype=float),
        seconds=np.asarray([np.nan if v is None else v for v in columns[6]], dtype=float),
    )


def ratings_fingerprint(*, round: EvaluationRound) -> tuple:
    """What the results depend on that can change: ratings (count, last update), judges' access,
    the round's status and options, and the automatic metrics' last run. A cache key part."""
    ratings = Rating.objects.filter(assignment__explanation__round=round).aggregate(
        n=Count("id"), last=Max("updated_at"), total=Sum("score")
    )
    judges = round.judges.aggregate(n=Count("id"), active=Count("id", filter=Q(user__is_active=True)))
    auto = AutoEvaluation.objects.filter(round=round).values_list("status", "finished_at").first()
    return (
        ratings["n"],
        ratings["last"].isoformat() if ratings["last"] else "",
        ratings["total"],
        judges["n"],
        judges["active"],
        round.status,
        round.too_fast_seconds,
        round.seed,
        round.design,
        round.judges_per_explanation,
        round.control_items,
        Assignment.objects.filter(judge__round=round).count(),
        str(auto),
    )
