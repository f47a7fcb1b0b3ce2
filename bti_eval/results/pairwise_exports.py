"""The exports of a pairwise round, in the same formats as a rating round's (``exports.FORMATS``):

- ``csv``: long form, one row per choice (streamed): the pair, the method shown on the left and on
  the right, the choice (left, right or same), the preferred method ("" for about the same), the
  seconds, the judge's display position, the time, the control flag (a control item's degraded
  side is named "control"), the judge's quality flag and the judge's remarks;
- ``methods-csv`` / ``judges-csv``: the Bradley–Terry table (rank, strength, CI, wins, losses,
  ties, win rate, and the MOS round's mean and rank when there is one) and the judges' quality;
- ``json``: the round, the full report (strengths, CIs, win-rate matrix, ranking, Kendall's tau),
  every choice and every judge's order with both sides' methods;
- ``markdown`` / ``latex``: the strengths table, Kendall's tau, the win-rate matrix, position bias,
  the judges (templates ``results/report_pairwise.md`` and ``.tex``);
- ``svg``: the strengths with their CIs (``plots.strengths_plot_svg``);
- ``heds``: the HEDS datasheet (``results.heds``: relative judgement, pairwise design).

``exclude_flagged`` acts as for rating rounds: the report is recomputed without the flagged
judges, and the CSV and JSON leave their choices out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from django.db.models import F
from django.template.loader import render_to_string

from bti_eval.judging.models import Assignment, Rating
from bti_eval.results.exports import (
    RATING_TAIL_COLUMNS,
    _csv_lines,
    _csv_pieces,
    _iso_utc,
    json_document,
    judge_rows,
    report_flagged,
)
from bti_eval.results.plots import strengths_plot_svg
from bti_eval.rounds.models import EvaluationRound
from bti_eval.rounds.selectors import round_truncation
from explainers.registry import method_title

PAIRWISE_CSV_COLUMNS = [
    "round",
    "judge_id",
    "judge",
    "pair",
    "left_method",
    "right_method",
    "choice",
    "preferred_method",
    *RATING_TAIL_COLUMNS,
]
PAIRWISE_METHOD_COLUMNS = [
    "method",
    "label",
    "rank",
    "strength",
    "ci_low",
    "ci_high",
    "ci_resamples",
    "wins",
    "losses",
    "ties",
    "comparisons",
    "win_rate",
    "mos",
    "mos_rank",
    "truncated",
    "exclude_flagged",
]
PAIRWISE_JUDGE_COLUMNS = [
    "id",
    "name",
    "seed",
    "n",
    "agreement",
    "left_share",
    "median_seconds",
    "too_fast",
    "n_control",
    "control_real",
    "control_degraded",
    "control_same",
    "control_p",
    "control_flag",
    "flagged",
    "excluded",
    "reasons",
]
_TEXT_CELLS = tuple(
    PAIRWISE_CSV_COLUMNS.index(c)
    for c in ("round", "judge", "pair", "left_method", "right_method", "preferred_method", "comment", "participant_id")
)
CONTROL = "control"


def export_pairwise(
    round: EvaluationRound, fmt: str, *, report: dict[str, Any] | None, decimals: int, exclude_flagged: bool
) -> Iterator[str]:
    """The export of a pairwise round in ``fmt`` (``exports.FORMATS``); ``report`` is its
    ``round_report`` (None for ``csv``, which needs the flags only)."""
    if fmt == "csv":
        rows = pairwise_rating_tuples(round, flagged=report_flagged(report), drop_flagged=exclude_flagged)
        return _csv_pieces(PAIRWISE_CSV_COLUMNS, rows, text_cells=_TEXT_CELLS)
    if fmt == "json":
        return iter([pairwise_json(round, report=report, exclude_flagged=exclude_flagged)])
    if fmt in ("markdown", "latex"):
        template = "results/report_pairwise.md" if fmt == "markdown" else "results/report_pairwise.tex"
        return iter([render_to_string(template, pairwise_context(round, report, decimals=decimals))])
    if fmt == "svg":
        return iter([strengths_plot_svg(report)])
    if fmt == "heds":
        from bti_eval.results.heds import heds_json

        return iter([heds_json(round, report=report, exclude_flagged=exclude_flagged)])
    if fmt == "methods-csv":
        truncated = round_truncation(round=round)["per_method"]
        return _csv_lines(PAIRWISE_METHOD_COLUMNS, pairwise_method_rows(report, truncated=truncated))
    return _csv_lines(PAIRWISE_JUDGE_COLUMNS, judge_rows(report))


def _side(method: str, is_control: bool) -> str:
    return CONTROL if is_control else method


def pairwise_rating_tuples(
    round: EvaluationRound, *, flagged: Collection[int] = frozenset(), drop_flagged: bool = False
) -> Iterator[list[Any]]:
    """One list per choice in ``PAIRWISE_CSV_COLUMNS`` order (values as stored), by judge and
    position; ``rated_at`` is ISO 8601 in UTC with microseconds (``exports._iso_utc``)."""
    ratings = Rating.objects.filter(judge__round=round, assignment__right_explanation__isnull=False)
    if drop_flagged and flagged:
        ratings = ratings.exclude(judge_id__in=list(flagged))
    rows = ratings.order_by("judge_id", "assignment__position").values_list(
        "judge_id",
        "judge__name",
        "assignment__explanation__pair__external_id",
        "assignment__explanation__pair_id",
        "assignment__explanation__method",
        "assignment__explanation__is_control",
        "assignment__right_explanation__method",
        "assignment__right_explanation__is_control",
        "choice",
        "seconds",
        "assignment__position",
        "updated_at",
        "flagged",
        "comment",
        "judge__participant_id",
    )
    for (
        judge_id,
        judge_name,
        external_id,
        pair_id,
        left,
        left_control,
        right,
        right_control,
        choice,
        seconds,
        position,
        rated_at,
        item_flagged,
        comment,
        participant_id,
    ) in rows.iterator(chunk_size=5000):
        left, right = _side(left, left_control), _side(right, right_control)
        yield [
            round.name,
            judge_id,
            judge_name or f"judge {judge_id}",
            external_id or str(pair_id),
            left,
            right,
            choice,
            {"left": left, "right": right}.get(choice, ""),
            seconds,
            position,
            _iso_utc(rated_at),
            int(left_control or right_control),
            int(judge_id in flagged),
            int(item_flagged),
            comment,
            participant_id,
        ]


def pairwise_orders(round: EvaluationRound) -> dict[str, list[list[Any]]]:
    """``{judge_id: [[position, pair, left method, right method], ...]}``: every judge's order and
    the sides drawn for them ("control" for a control item's degraded side)."""
    orders: dict[str, list[list[Any]]] = {}
    rows = (
        Assignment.objects.filter(judge__round=round)
        .order_by("judge_id", "position")
        .values_list(
            "judge_id",
            "position",
            "explanation__pair__external_id",
            "explanation__pair_id",
            "explanation__method",
            "explanation__is_control",
            F("right_explanation__method"),
            F("right_explanation__is_control"),
        )
    )
    for judge_id, position, external_id, pair_id, left, left_control, right, right_control in rows.iterator(
        chunk_size=5000
    ):
        orders.setdefault(str(judge_id), []).append(
            [position, external_id or str(pair_id), _side(left, left_control), _side(right, bool(right_control))]
        )
    return orders


def pairwise_json(round: EvaluationRound, *, report: dict[str, Any], exclude_flagged: bool) -> str:
    """``exports.json_document`` of a pairwise round: its choices and its judges' orders with both sides."""
    ratings = [
        dict(zip(PAIRWISE_CSV_COLUMNS, row, strict=True))
        for row in pairwise_rating_tuples(round, flagged=report_flagged(report), drop_flagged=exclude_flagged)
    ]
    return json_document(round, report, ratings=ratings, orders=pairwise_orders(round))


def pairwise_method_rows(report: dict[str, Any], *, truncated: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """The Bradley–Terry table flattened for CSV, with the MOS round's mean and rank per method."""
    kendall = report["pairwise"]["kendall"] or {}
    return [
        {
            **row,
            "mos": (kendall.get("mos") or {}).get(row["method"]),
            "mos_rank": (kendall.get("mos_rank") or {}).get(row["method"]),
            "truncated": (truncated or {}).get(row["method"], 0),
            "exclude_flagged": int(report["options"]["exclude_flagged"]),
        }
        for row in report["methods"]
    ]


def pairwise_rows(report: dict[str, Any], *, decimals: int = 2) -> dict[str, Any]:
    """What the results page and the Markdown and LaTeX templates show of a pairwise report:
    ``rows`` (ranked, ``best`` on the first, with the MOS round's ``mos`` and ``mos_rank``),
    ``win_rows`` (the win-rate matrix in the round's method order, each row ``{"label",
    "cells"}``), ``header`` (its labels) and ``kendall``."""
    block = report["pairwise"]
    rows = [{**row, "best": row["rank"] == 1 and row["comparisons"] > 0} for row in pairwise_method_rows(report)]
    win_rows = [
        {"method": method, "label": method_title(method), "cells": cells}
        for method, cells in zip(block["order"], block["win_rates"], strict=True)
    ]
    kendall = block["kendall"]
    return {
        "rows": rows,
        "win_rows": win_rows,
        "header": [row["label"] for row in win_rows],
        "kendall": kendall,
        "tau": (kendall or {}).get("tau"),
        "sides": block["sides"],
        "decimals": decimals,
    }


def pairwise_context(round: EvaluationRound, report: dict[str, Any], *, decimals: int) -> dict[str, Any]:
    return {
        "round": round,
        "report": report,
        "options": report["options"],
        "design": report["design"],
        "bt": report["pairwise"],
        "excluded_judges": ", ".join(map(str, report["options"]["excluded_judges"])),
        "truncation": round_truncation(round=round),
        **pairwise_rows(report, decimals=decimals),
    }
