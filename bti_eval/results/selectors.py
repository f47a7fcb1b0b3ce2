"""Result selectors: the paper's Table 1 (MOS per method) for a round, and the ratings behind it.

Per method: ``n`` ratings, ``mean`` over all ratings, ``std`` = the sample standard deviation
(ddof=1) across the judges' per-method mean scores (the paper's "mean ± std", Table 1),
``std_ratings`` = the sample std over all ratings, ``n_judges``. A std is None when fewer than
two judges (or ratings) contribute.

Every statistic starts from ``rating_frame``: two queries (the round's explanations, one row each,
and four numbers per rating), then numpy groups and sums. The report needs the individual ratings
anyway (agreement, judges), so the table, the per-pair sums and the rest reuse that one read
instead of scanning the ratings again with a GROUP BY each (at 100,000 ratings, each such scan
took 0.1-0.2 s of the results page). Sums of scores are exact (integers), so the means and
variances are the same numbers SQL gave.

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
from django.db.models import Count, F, Max, Q, QuerySet, Sum

from bti_eval.judging.models import Assignment, Judge, Rating
from bti_eval.results.models import AutoEvaluation
from bti_eval.rounds.models import EvaluationRound, Explanation
from explainers.registry import method_title


def round_ratings(*, round: EvaluationRound) -> QuerySet[Rating]:
    """The round's ratings, annotated with ``method`` (``judge_id`` is a column of Rating)."""
    return Rating.objects.filter(assignment__explanation__round=round).annotate(
        method=F("assignment__explanation__method")
    )


def round_judges(*, round: EvaluationRound) -> list[dict[str, Any]]:
    """The round's judges by id: ``id``, ``name``, ``seed`` and ``active`` (their account can log in)."""
    return list(
        Judge.objects.filter(round=round).order_by("id").values("id", "name", "seed", active=F("user__is_active"))
    )


def judge_loads(*, round: EvaluationRound, judges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each of ``judges`` (``round_judges``) with its seed and its number of assignments:
    ``[{"id", "seed", "assigned"}, ...]``, the design section of every report."""
    sizes = dict(
        Assignment.objects.filter(judge__round=round)
        .values("judge_id")
        .annotate(n=Count("id"))
        .values_list("judge_id", "n")
    )
    return [{"id": j["id"], "seed": j["seed"], "assigned": sizes.get(j["id"], 0)} for j in judges]


def round_results(
    *, round: EvaluationRound, exclude_judges: Collection[int] = (), frame: RatingFrame | None = None
) -> dict[str, Any]:
    """``{"round_id", "status", "final", "n_ratings", "n_judges", "methods": [row, ...]}``.

    Rows follow the round's method order: ``{"method", "label", "n", "n_judges", "mean", "std",
    "std_ratings", "mean_of_judge_means"}``. ``final`` is True once the round is closed;
    before that the numbers are partial. Control items and ``exclude_judges`` are left out.
    ``frame``: the round's ``rating_frame`` when the caller has it (else it is read here).
    """
    real = _real(rating_frame(round=round) if frame is None else frame, exclude_judges)
    names, codes = np.unique(real.method.astype(str), return_inverse=True)
    per_method: dict[str, dict[str, Any]] = {}
    for code, method in enumerate(names.tolist()):
        mine = codes == code
        scores = real.score[mine].astype(np.int64)  # exact integer sums: exact means and variances
        judges, judge_index = np.unique(real.judge[mine], return_inverse=True)
        judge_sums = np.bincount(judge_index, weights=scores, minlength=judges.size)
        judge_counts = np.bincount(judge_index, minlength=judges.size)
        per_method[method] = {
            "n": int(scores.size),
            "total": int(scores.sum()),
            "squares": int((scores * scores).sum()),
            "judge_means": (judge_sums / judge_counts).tolist(),
        }

    methods = list(round.methods) + sorted(set(per_method) - set(round.methods))
    rows = []
    for method in methods:
        agg = per_method.get(method)
        means = agg["judge_means"] if agg else []
        rows.append(
            {
                "method": method,
                "label": method_title(method),
                "n": agg["n"] if agg else 0,
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
        "n_judges": int(np.unique(real.judge).size),
        "methods": rows,
    }


def _real(frame: RatingFrame, exclude_judges: Collection[int]) -> RatingFrame:
    """The frame's ratings of real explanations (no control items), without ``exclude_judges``."""
    keep = ~frame.control
    if exclude_judges:
        keep &= ~np.isin(frame.judge, np.fromiter(exclude_judges, dtype=np.int64))
    return frame.where(keep)


def _sample_std(n: int, total: int, squares: int) -> float | None:
    """Sample std (ddof=1) of n integers from their sum and sum of squares (exact: integer arithmetic)."""
    if n < 2:
        return None
    return math.sqrt(max(n * squares - total * total, 0) / (n * (n - 1)))


def pair_method_sums(
    *, round: EvaluationRound, exclude_judges: Collection[int] = (), frame: RatingFrame | None = None
) -> list[tuple[int, str, int, int]]:
    """``(pair_id, method, n ratings, sum of scores)`` per (pair, method) of real explanations,
    ordered by pair, then method. ``frame``: as in ``round_results``."""
    real = _real(rating_frame(round=round) if frame is None else frame, exclude_judges)
    if not len(real):
        return []
    names, codes = np.unique(real.method.astype(str), return_inverse=True)
    keys, index = np.unique(real.pair * names.size + codes, return_inverse=True)  # sorted: pair, then method
    counts = np.bincount(index, minlength=keys.size)
    totals = np.bincount(index, weights=real.score, minlength=keys.size)
    pairs, methods = np.divmod(keys, names.size)
    return [
        (int(pair), str(names[method]), int(n), int(total))
        for pair, method, n, total in zip(pairs, methods, counts, totals, strict=True)
    ]


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
    """All the round's ratings (control items included), by judge and queue position, as a RatingFrame.

    Two queries: the round's explanations (pair, method, control flag: one row each) and, per
    rating, four numbers (judge, explanation, score, seconds), read straight into one float array;
    each rating's pair, method and flag come from its explanation by index. Strings and flags per
    rating cost more to fetch and convert than the rest of the report takes to compute.
    """
    explanations = list(
        Explanation.objects.filter(round=round).order_by("id").values_list("id", "pair_id", "method", "is_control")
    )
    ratings = (
        Rating.objects.filter(assignment__explanation__round=round)
        .order_by("assignment__judge_id", "assignment__position")
        .values_list("assignment__judge_id", "assignment__explanation_id", "score", "seconds")
    )
    numbers = np.array(list(ratings), dtype=float).reshape(-1, 4)  # (n_ratings, 4); seconds None → NaN
    ids = np.array([row[0] for row in explanations], dtype=np.int64)
    explanation = numbers[:, 1].astype(np.int64)
    at = np.searchsorted(ids, explanation)  # ids are sorted; every rated explanation is the round's
    return RatingFrame(
        judge=numbers[:, 0].astype(np.int64),
        explanation=explanation,
        pair=np.array([row[1] for row in explanations], dtype=np.int64)[at],
        method=np.array([row[2] for row in explanations], dtype=object)[at],
        control=np.array([row[3] for row in explanations], dtype=bool)[at],
        score=numbers[:, 2],
        seconds=numbers[:, 3],
    )


def ratings_fingerprint(*, round: EvaluationRound) -> tuple:
    """What the results depend on that can change: ratings (count, last update), judges' access,
    the round's status and options, and the automatic metrics' last run. A cache key part."""
    # Through the rating's own judge column: one small join instead of two over every rating.
    ratings = Rating.objects.filter(judge__round=round).aggregate(
        n=Count("id"), last=Max("updated_at"), total=Sum("score")
    )
    judges = round.judges.aggregate(n=Count("id"), active=Count("id", filter=Q(user__is_active=True)))
    auto = (
        AutoEvaluation.objects.filter(round=round)
        .order_by("-requested_at", "-id")
        .values_list("id", "status", "finished_at", "chunks_done")
        .first()
    )
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


# The results page lists at most this many of the judges' remarks (newest first); the exports hold them all.
ITEM_REMARKS_SHOWN = 200


def round_item_remarks(*, round: EvaluationRound, limit: int = ITEM_REMARKS_SHOWN) -> dict[str, Any]:
    """The judges' remarks on items: ratings flagged "this item is broken" or carrying a comment.

    Out: ``{"n", "n_flagged", "rows"}`` with ``n`` remarks in all (``n_flagged`` of them flagged)
    and the first ``limit`` rows, flagged first, then newest first: ``{"pair", "method", "label",
    "control", "judge_id", "judge", "score", "flagged", "comment", "rated_at", "right_method",
    "right_label", "choice"}`` (the last three for a pairwise item, whose left method is
    ``method``). For researchers only (it names the method).
    """
    remarks = Rating.objects.filter(assignment__explanation__round=round).filter(Q(flagged=True) | ~Q(comment=""))
    counts = remarks.aggregate(n=Count("id"), n_flagged=Count("id", filter=Q(flagged=True)))
    rows = remarks.order_by("-flagged", "-updated_at", "-id").values_list(
        "assignment__explanation__pair__external_id",
        "assignment__explanation__pair_id",
        "assignment__explanation__method",
        "assignment__explanation__is_control",
        "judge_id",
        "judge__name",
        "score",
        "flagged",
        "comment",
        "updated_at",
        "assignment__right_explanation__method",
        "choice",
    )[:limit]
    return {
        "n": counts["n"],
        "n_flagged": counts["n_flagged"],
        "rows": [
            {
                "pair": external_id or str(pair_id),
                "method": method,
                "label": method_title(method),
                "control": control,
                "judge_id": judge_id,
                "judge": judge_name or f"judge {judge_id}",
                "score": score,
                "flagged": flagged,
                "comment": comment,
                "rated_at": rated_at,
                "right_method": right_method,  # a pairwise item: the method shown on the right (left: "method")
                "right_label": method_title(right_method) if right_method else None,
                "choice": choice,
            }
            for (
                external_id,
                pair_id,
                method,
                control,
                judge_id,
                judge_name,
                score,
                flagged,
                comment,
                rated_at,
                right_method,
                choice,
            ) in rows
        ],
    }
