"""Exports of a round's results.

- ``csv``: long form, one row per rating (streamed), with the control flag and the judge's flag;
  ``rated_at`` is ISO 8601 in UTC with microseconds; ``item_flagged`` (1: the judge marked the
  item "broken") and ``comment`` (the judge's free text, "" for none) are the judge's remarks on
  the item, saved with the rating (``judge_flagged`` is the quality-control flag of the judge);
  ``participant_id`` is a crowd judge's id on their platform ("" for invited judges);
- ``methods-csv`` / ``judges-csv``: the per-method table (CIs, letters, alpha, automatic metrics,
  how many of the method's explanations are truncated) and the per-judge quality table;
- ``json``: the round (design, seeds, options, the judges' row budget ``pairs_shown``, the
  truncated explanations), the full report, every rating and every judge's order (display
  positions), and the crowd participants (platform ids, outcome, code, times); numbers only, nothing binary;
- ``markdown`` / ``latex``: the paper's table with CIs and letters, then agreement, the paired
  tests, the judges and the automatic metrics (``bti_eval.results.tables``);
- ``svg``: the means plot with CI error bars;
- ``heds``: the HEDS 3.0 datasheet as JSON, filled from what the round knows
  (``bti_eval.results.heds``; its schema ships beside it);
- ``explanations``: JSON Lines, one line per explanation of the round (control items included,
  marked), streamed: the pair (id, external id, source), the method, its status, and the stored
  explanation as computed or imported, with the raw numbers (word saliencies, every selected
  pair's ``word_similarity`` and ``score``, the whole selection): judges see at most
  ``pairs_shown`` rows, with scores relative to the explanation's best pair; this keeps the rest.

``exclude_flagged`` recomputes everything without the flagged judges; every format records it
(a column, a field, a line, or the file name).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC
from typing import Any

from django.db import connection
from django.db.models import Count, F

from bti_eval.judging.models import Assignment
from bti_eval.judging.selectors import round_participants
from bti_eval.results import queries, tables
from bti_eval.results.plots import means_plot_svg
from bti_eval.results.report import flagged_judges, round_report
from bti_eval.results.selectors import round_ratings
from bti_eval.rounds.models import EvaluationRound
from bti_eval.rounds.selectors import round_imported_methods, round_truncation

FORMATS = ("csv", "json", "markdown", "latex", "svg", "methods-csv", "judges-csv", "heds", "explanations")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "latex": "application/x-latex; charset=utf-8",
    "svg": "image/svg+xml",
    "methods-csv": "text/csv; charset=utf-8",
    "judges-csv": "text/csv; charset=utf-8",
    "heds": "application/json",
    "explanations": "application/x-ndjson; charset=utf-8",
}
STREAMED = ("csv", "explanations")  # sent as they are read, in pieces: their size grows with the round
EXTENSIONS = {"csv": "csv", "json": "json", "markdown": "md", "latex": "tex", "svg": "svg"}
NAMES = {
    "methods-csv": ("methods", "csv"),
    "judges-csv": ("judges", "csv"),
    "svg": ("means", "svg"),
    "heds": ("heds", "json"),
    "explanations": ("explanations", "jsonl"),
}
# How every rating row ends, a score's (CSV_COLUMNS) as a choice's (pairwise_exports.PAIRWISE_CSV_COLUMNS).
RATING_TAIL_COLUMNS = [
    "seconds",
    "position",
    "rated_at",
    "control",
    "judge_flagged",
    "item_flagged",
    "comment",
    "participant_id",
]
CSV_COLUMNS = ["round", "judge_id", "judge", "pair", "method", "score", *RATING_TAIL_COLUMNS]
METHOD_COLUMNS = [
    "method",
    "label",
    "n",
    "n_pairs",
    "n_judges",
    "mean",
    "std",
    "std_ratings",
    "ci_low",
    "ci_high",
    "ci_resamples",
    "letters",
    "alpha_ordinal",
    "alpha_interval",
    "truncated",
    "exclude_flagged",
    # The provenance of an imported method (empty for computed methods): rounds.ImportedMethod.
    "imported_file",
    "imported_sha256",
    "imported_lines",
    "imported_at",
    "imported_by",
]
JUDGE_COLUMNS = [
    "id",
    "name",
    "seed",
    "n",
    "mean",
    "z",
    "agreement",
    "median_seconds",
    "too_fast",
    "n_control",
    "control_mean",
    "control_u",
    "control_p",
    "control_flag",
    "flagged",
    "excluded",
    "reasons",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_filename(round: EvaluationRound, fmt: str, *, exclude_flagged: bool = False) -> str:
    name, extension = NAMES.get(fmt, ("results", EXTENSIONS.get(fmt, fmt)))
    suffix = "-without-flagged" if exclude_flagged else ""
    return f"round-{round.pk}-{name}{suffix}.{extension}"


def export(round: EvaluationRound, fmt: str, *, decimals: int = 2, exclude_flagged: bool = False) -> Iterator[str]:
    """The export of ``round`` in ``fmt`` (one of FORMATS) as text pieces (CSV: one line each); a
    pairwise round's are ``pairwise_exports``'s (but for ``explanations``, the same for every design)."""
    if fmt == "explanations":
        return export_explanations(round)
    if round.design == EvaluationRound.Design.PAIRWISE:
        from bti_eval.results.pairwise_exports import export_pairwise

        if fmt not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
        report = round_report(round=round, exclude_flagged=exclude_flagged)
        return export_pairwise(round, fmt, report=report, decimals=decimals, exclude_flagged=exclude_flagged)
    if fmt == "csv":
        return export_csv(round, exclude_flagged=exclude_flagged)
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    report = round_report(round=round, exclude_flagged=exclude_flagged)
    if fmt == "json":
        return iter([export_json(round, exclude_flagged=exclude_flagged, report=report)])
    if fmt == "markdown":
        return iter([tables.markdown(round, report, decimals=decimals)])
    if fmt == "latex":
        return iter([tables.latex(round, report, decimals=decimals)])
    if fmt == "svg":
        return iter([means_plot_svg(report)])
    if fmt == "heds":
        from bti_eval.results.heds import heds_json

        return iter([heds_json(round, report=report, exclude_flagged=exclude_flagged)])
    if fmt == "methods-csv":
        truncated = round_truncation(round=round)["per_method"]
        imported = round_imported_methods(round=round)
        return _csv_lines(METHOD_COLUMNS, method_rows(report, truncated=truncated, imported=imported))
    return _csv_lines(JUDGE_COLUMNS, judge_rows(report))


EXPLANATION_FIELDS = (
    "pair_id",
    "pair__external_id",
    "pair__source",
    "method",
    "is_control",
    "status",
    "error",
    "compute_seconds",
    "payload",
)


def export_explanations(round: EvaluationRound) -> Iterator[str]:
    """The round's explanations as JSON Lines (see the module docstring), by pair then method;
    ``exclude_flagged`` does not apply (no judge is involved)."""
    rows = (
        round.explanations.order_by("pair_id", "is_control", "method")
        .values_list(*EXPLANATION_FIELDS)
        .iterator(chunk_size=500)
    )
    for pair_id, external_id, source, method, is_control, status, error, seconds, payload in rows:
        line = {
            "round": round.pk,
            "pair": pair_id,
            "external_id": external_id,
            "source": source,
            "method": method,
            "control": is_control,
            "status": status,
            "error": error,
            "compute_seconds": seconds,
            "explanation": payload,
        }
        yield json.dumps(line, ensure_ascii=False) + "\n"


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would read as a formula gets a leading ' (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


# Rating rows are read a few judges at a time, each batch in one plain query of at most about this
# many rows: memory stays bounded on any round, without a server-side cursor (whose DECLARE/FETCH
# round trips doubled the time of a 100,000-rating export).
EXPORT_BATCH_ROWS = 20_000
CSV_CHUNK_ROWS = 1000  # CSV lines per piece of the streamed response
_RATING_FIELDS = (
    "assignment__judge_id",
    "assignment__judge__name",
    "assignment__explanation__pair__external_id",
    "assignment__explanation__pair_id",
    "method",
    "score",
    "seconds",
    "assignment__position",
    "updated_at",
    "assignment__explanation__is_control",
    "flagged",
    "comment",
    "assignment__judge__participant_id",
)
# The cells users can type.
_TEXT_CELLS = tuple(CSV_COLUMNS.index(c) for c in ("round", "judge", "pair", "method", "comment", "participant_id"))


def _iso_utc(value) -> str:
    return value if isinstance(value, str) else value.astimezone(UTC).isoformat(timespec="microseconds")


def _judge_batches(ratings, limit: int) -> Iterator[list[int]]:
    """Judge ids in order, grouped so that each group holds at most ``limit`` ratings (a judge
    with more is a group of their own)."""
    batch: list[int] = []
    size = 0
    per_judge = ratings.order_by().values_list("assignment__judge_id").annotate(n=Count("id"))
    for judge_id, n in per_judge.order_by("assignment__judge_id"):
        if batch and size + n > limit:
            yield batch
            batch, size = [], 0
        batch.append(judge_id)
        size += n
    if batch:
        yield batch


def rating_tuples(round: EvaluationRound, *, flagged: Collection[int] = frozenset(), drop_flagged: bool = False):
    """One list per rating in ``CSV_COLUMNS`` order (values as stored: nothing neutralised),
    ordered by judge and position. ``flagged``: judges marked ``judge_flagged``; with
    ``drop_flagged`` their ratings are left out. ``rated_at`` is ISO 8601 in UTC with microseconds."""
    ratings = round_ratings(round=round)
    if drop_flagged and flagged:
        ratings = ratings.exclude(assignment__judge_id__in=list(flagged))
    fields = list(_RATING_FIELDS)
    formatted = connection.vendor == "postgresql"
    if formatted:
        fields[fields.index("updated_at")] = "rated_at_text"
    name = round.name
    for judges in _judge_batches(ratings, EXPORT_BATCH_ROWS):
        # Through the assignment's (judge, position) index: a batch reads only its own rows.
        rows = ratings.filter(assignment__judge_id__in=judges).order_by("assignment__judge_id", "assignment__position")
        if formatted:
            rows = rows.annotate(rated_at_text=queries.IsoUtc(F("updated_at")))
        for (
            judge_id,
            judge_name,
            external_id,
            pair_id,
            method,
            score,
            seconds,
            position,
            rated_at,
            control,
            item_flagged,
            comment,
            participant_id,
        ) in rows.values_list(*fields):
            yield [
                name,
                judge_id,
                judge_name or f"judge {judge_id}",
                external_id or str(pair_id),
                method,
                score,
                seconds,
                position,
                _iso_utc(rated_at),
                int(control),
                int(judge_id in flagged),
                int(item_flagged),
                comment,
                participant_id,
            ]


def rating_rows(round: EvaluationRound, *, flagged: Collection[int] = frozenset(), drop_flagged: bool = False):
    """``rating_tuples`` as dicts keyed by ``CSV_COLUMNS`` (the JSON export's ratings)."""
    for row in rating_tuples(round, flagged=flagged, drop_flagged=drop_flagged):
        yield dict(zip(CSV_COLUMNS, row, strict=True))


def _csv_pieces(header: list[str], rows: Iterable[list[Any]], *, text_cells: Sequence[int] | None = None):
    """CSV text in pieces of ``CSV_CHUNK_ROWS`` lines, header first. Every text cell a spreadsheet
    would read as a formula is neutralised: those at ``text_cells``, or all cells when None."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(c) for c in header])
    count = 0
    for row in rows:
        if text_cells is None:
            row = [neutralise(c) for c in row]
        else:
            for index in text_cells:
                row[index] = neutralise(row[index])
        writer.writerow(row)
        count += 1
        if count % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _csv_lines(columns: list[str], rows) -> Iterator[str]:
    return _csv_pieces(columns, ([row.get(c) for c in columns] for row in rows))


def export_csv(round: EvaluationRound, *, exclude_flagged: bool = False) -> Iterator[str]:
    """CSV long form, one row per rating, header first; streamed in pieces of ``CSV_CHUNK_ROWS``
    lines. Control items are rows with method "control" and control=1; with ``exclude_flagged``
    the flagged judges' rows are left out (every remaining row has judge_flagged=0).

    On PostgreSQL the rows are written by the database (``_copy_csv``): the same bytes, in about a
    third of the time of reading 100,000 rows into Python and writing them again."""
    flagged = flagged_judges(round=round)
    if connection.vendor == "postgresql":
        return _copy_csv(round, flagged=flagged, drop_flagged=exclude_flagged)
    rows = rating_tuples(round, flagged=flagged, drop_flagged=exclude_flagged)
    return _csv_pieces(CSV_COLUMNS, rows, text_cells=_TEXT_CELLS)


def _copy_csv(round: EvaluationRound, *, flagged: Collection[int], drop_flagged: bool) -> Iterator[str]:
    """``export_csv`` on PostgreSQL: the rows of ``rating_tuples``, every cell formatted and
    neutralised in SQL (``queries.rating_csv_cells``), written by ``COPY`` and streamed as they come.
    ``tests/results/test_exports.py`` holds the two writers to the same bytes."""
    ratings = round_ratings(round=round)
    if drop_flagged and flagged:
        ratings = ratings.exclude(judge_id__in=list(flagged))
    rows = queries.rating_csv_cells(
        ratings, round_name=neutralise(round.name), flagged=flagged, formula_start=_FORMULA_START
    )
    return queries.copy_csv(rows, header=next(_csv_pieces(CSV_COLUMNS, [])), lines_per_piece=CSV_CHUNK_ROWS)


def method_rows(
    report: dict[str, Any], *, truncated: dict[str, int] | None = None, imported: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The per-method table with alpha and automatic metrics, flattened for CSV; ``truncated``:
    the number of each method's truncated explanations (``rounds.selectors.round_truncation``);
    ``imported``: the provenance of the round's imported methods
    (``rounds.selectors.round_imported_methods``), in the ``imported_*`` columns."""
    provenance = {row["method"]: _provenance_cells(row) for row in imported or []}
    alpha = {row["method"]: row for row in report["agreement"]["per_method"]}
    auto = {row["method"]: row for row in (report.get("auto") or {}).get("methods", [])}
    rows = []
    for row in report["methods"]:
        extra = {k: v for k, v in auto.get(row["method"], {}).items() if k not in ("method", "label", "mean")}
        rows.append(
            {
                **row,
                "alpha_ordinal": alpha.get(row["method"], {}).get("ordinal", {}).get("alpha"),
                "alpha_interval": alpha.get(row["method"], {}).get("interval", {}).get("alpha"),
                "truncated": (truncated or {}).get(row["method"], 0),
                "exclude_flagged": int(report["options"]["exclude_flagged"]),
                **provenance.get(row["method"], {}),
                **extra,
            }
        )
    return rows


def _provenance_cells(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "imported_file": row["file_name"],
        "imported_sha256": row["sha256"],
        "imported_lines": row["lines"],
        "imported_at": row["uploaded_at"].astimezone(UTC).isoformat(),
        "imported_by": row["uploaded_by"] or "",
    }


def imported_provenance(round: EvaluationRound) -> list[dict[str, Any]]:
    """The JSON export's record of the round's imported methods: ``{"method", "file_name",
    "sha256", "size_bytes", "lines", "similarities_given", "uploaded_by", "uploaded_at"}`` each,
    ``uploaded_at`` in ISO 8601 UTC."""
    return [
        {**row, "uploaded_at": row["uploaded_at"].astimezone(UTC).isoformat()}
        for row in round_imported_methods(round=round)
    ]


def report_flagged(report: dict[str, Any]) -> set[int]:
    """The ids of the judges ``report`` flags (the ``judge_flagged`` column)."""
    return {row["id"] for row in report["judges"] if row["flagged"]}


def judge_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's judges flattened for the judges CSV (the reasons joined by "; ")."""
    return [{**row, "reasons": "; ".join(row["reasons"])} for row in report["judges"]]


def judge_orders(round: EvaluationRound) -> dict[str, list[list[Any]]]:
    """``{judge_id: [[position, pair, method], ...]}``: every judge's display order."""
    orders: dict[str, list[list[Any]]] = {}
    rows = (
        Assignment.objects.filter(judge__round=round)
        .order_by("judge_id", "position")
        .values_list(
            "judge_id", "position", "explanation__pair__external_id", "explanation__pair_id", "explanation__method"
        )
    )
    for judge_id, position, external_id, pair_id, method in rows.iterator(chunk_size=5000):
        orders.setdefault(str(judge_id), []).append([position, external_id or str(pair_id), method])
    return orders


def _iso_or_none(value) -> str | None:
    return value.isoformat() if value else None


def export_json(round: EvaluationRound, *, exclude_flagged: bool = False, report: dict[str, Any] | None = None) -> str:
    """``{"round", "options", "results", "ratings", "orders", "participants"}`` as a JSON document."""
    report = report or round_report(round=round, exclude_flagged=exclude_flagged)
    ratings = rating_rows(round, flagged=report_flagged(report), drop_flagged=exclude_flagged)
    return json_document(round, report, ratings=list(ratings), orders=judge_orders(round))


def json_document(
    round: EvaluationRound, report: dict[str, Any], *, ratings: list[dict[str, Any]], orders: dict[str, list]
) -> str:
    """The JSON export of a round of either design: ``{"round": round_facts, "options", "results": report,
    "ratings", "orders", "participants": participants_json}``, ``ratings`` and ``orders`` as the design writes them."""
    document = {
        "round": round_facts(round),
        "options": report["options"],
        "results": report,
        "ratings": ratings,
        "orders": orders,
        "participants": participants_json(round),
    }
    return json.dumps(document, indent=1, ensure_ascii=False)


def participants_json(round: EvaluationRound) -> list[dict[str, Any]]:
    """The JSON export's ``participants``: each crowd participant's platform ids, outcome, code and
    times (researchers only; empty for a round of invited judges)."""
    return [
        {**row, "arrived_at": row["arrived_at"].isoformat(), "finished_at": _iso_or_none(row["finished_at"])}
        for row in round_participants(round=round)
    ]


def round_facts(round: EvaluationRound) -> dict[str, Any]:
    """The JSON export's ``round``: settings, design, seeds, truncation and dates."""
    return {
        "id": round.pk,
        "name": round.name,
        "status": round.status,
        "model": round.model,
        "dtype": round.dtype,
        "pooling": round.pooling,
        "methods": round.methods,
        "top_k": round.top_k,
        "top_k_means": "MeanShift clusters of pair scores kept by TopWords (the paper's top_k)",
        "pairs_shown": round.pairs_shown,
        "pairs_shown_means": "rows of matched words a judge saw at most per explanation, the same for every "
        "method: pairs of the same two words (case-folded) merged into one row, best rows first, scores "
        "shown relative to the explanation's best pair; stored explanations keep the full selection",
        "truncated": round_truncation(round=round),
        "imported_methods": imported_provenance(round),
        "imported_methods_means": "methods whose explanations were computed elsewhere and uploaded (file, "
        "SHA-256 of its bytes, explanations, uploader, time); judges saw them blind like every method",
        "seed": round.seed,
        "pairs": round.pairs.count(),
        "design": round.design,
        "judges_per_explanation": round.judges_per_explanation,
        "control_items": round.control_items,
        "created_at": round.created_at.isoformat(),
        "opened_at": round.opened_at.isoformat() if round.opened_at else None,
        "closed_at": round.closed_at.isoformat() if round.closed_at else None,
    }
