"""Exports of a round's results: CSV (long form, streamed), JSON, and the paper's table in Markdown or LaTeX."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from bti_eval.results.selectors import round_ratings, round_results
from bti_eval.rounds.models import EvaluationRound

FORMATS = ("csv", "json", "markdown", "latex")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "latex": "application/x-latex; charset=utf-8",
}
EXTENSIONS = {"csv": "csv", "json": "json", "markdown": "md", "latex": "tex"}
CSV_COLUMNS = ["round", "judge_id", "judge", "pair", "method", "score", "seconds", "position", "rated_at"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def export_filename(round: EvaluationRound, fmt: str) -> str:
    return f"round-{round.pk}-results.{EXTENSIONS[fmt]}"


def export(round: EvaluationRound, fmt: str, *, decimals: int = 2) -> Iterator[str]:
    """The export of ``round`` in ``fmt`` (one of FORMATS) as text pieces (CSV: one line each)."""
    if fmt == "csv":
        return export_csv(round)
    if fmt == "json":
        return iter([export_json(round)])
    if fmt == "markdown":
        return iter([export_markdown(round, decimals=decimals)])
    if fmt == "latex":
        return iter([export_latex(round, decimals=decimals)])
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would read as a formula gets a leading ' (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def rating_rows(round: EvaluationRound) -> Iterator[dict[str, Any]]:
    """One dict per rating (judge, pair, method, score, seconds, position, ...), ordered by judge and position."""
    rows = (
        round_ratings(round=round)
        .order_by("assignment__judge_id", "assignment__position")
        .values_list(
            "assignment__judge_id",
            "assignment__judge__name",
            "assignment__explanation__pair__external_id",
            "assignment__explanation__pair_id",
            "method",
            "score",
            "seconds",
            "assignment__position",
            "updated_at",
        )
    )
    for judge_id, judge_name, external_id, pair_id, method, score, seconds, position, rated_at in rows.iterator(
        chunk_size=5000
    ):
        yield {
            "round": round.name,
            "judge_id": judge_id,
            "judge": judge_name or f"judge {judge_id}",
            "pair": external_id or str(pair_id),
            "method": method,
            "score": score,
            "seconds": seconds,
            "position": position,
            "rated_at": rated_at.isoformat(),
        }


def export_csv(round: EvaluationRound) -> Iterator[str]:
    """CSV long form, one row per rating, header first; streamed line by line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralise(c) for c in cells])
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for row in rating_rows(round):
        yield line([row[c] for c in CSV_COLUMNS])


def export_json(round: EvaluationRound) -> str:
    """``{"round": {...}, "results": round_results, "ratings": [...]}`` as a JSON document."""
    document = {
        "round": {
            "id": round.pk,
            "name": round.name,
            "status": round.status,
            "model": round.model,
            "methods": round.methods,
            "top_k": round.top_k,
            "seed": round.seed,
            "pairs": round.pairs.count(),
            "created_at": round.created_at.isoformat(),
            "opened_at": round.opened_at.isoformat() if round.opened_at else None,
            "closed_at": round.closed_at.isoformat() if round.closed_at else None,
        },
        "results": round_results(round=round),
        "ratings": list(rating_rows(round)),
    }
    return json.dumps(document, indent=1, ensure_ascii=False)


def mos_cell(row: dict[str, Any], *, decimals: int, pm: str) -> str:
    """``mean ± std`` (std across judges), ``mean`` alone with one judge, ``–`` with no ratings."""
    if row["mean"] is None:
        return "–"
    if row["std"] is None:
        return f"{row['mean']:.{decimals}f}"
    return f"{row['mean']:.{decimals}f}{pm}{row['std']:.{decimals}f}"


def _best(results: dict[str, Any]) -> float | None:
    means = [r["mean"] for r in results["methods"] if r["mean"] is not None]
    return max(means) if means else None


def export_markdown(round: EvaluationRound, *, decimals: int = 2) -> str:
    """The paper's table as Markdown: method | n | judges | MOS (mean ± std across judges); best in bold."""
    results = round_results(round=round)
    best = _best(results)
    state = "final" if results["final"] else f"partial, round {results['status']}"
    lines = [
        f"MOS per method, round “{_md(round.name)}” ({state}; std across judges' mean scores)",
        "",
        "| Method | n | Judges | MOS |",
        "|---|---:|---:|---:|",
    ]
    for row in results["methods"]:
        cell = mos_cell(row, decimals=decimals, pm=" ± ")
        if best is not None and row["mean"] is not None and round_equal(row["mean"], best, decimals):
            cell = f"**{cell}**"
        lines.append(f"| {_md(row['label'])} | {row['n']} | {row['n_judges']} | {cell} |")
    return "\n".join(lines) + "\n"


def export_latex(round: EvaluationRound, *, decimals: int = 2) -> str:
    """The paper's Table 1 as a LaTeX table (booktabs): Method & MOS, "mean $\\pm$ std"; best in bold."""
    results = round_results(round=round)
    best = _best(results)
    body = []
    for row in results["methods"]:
        cell = mos_cell(row, decimals=decimals, pm=r" $\pm$ ").replace("–", "--")
        if best is not None and row["mean"] is not None and round_equal(row["mean"], best, decimals):
            cell = rf"\textbf{{{cell}}}"
        body.append(f"{latex_escape(row['label'])} & {cell} \\\\")
    state = "" if results["final"] else " (partial)"
    return "\n".join(
        [
            r"% requires \usepackage{booktabs}",
            r"\begin{table}[t]",
            r"\centering",
            r"\begin{tabular}{lc}",
            r"\toprule",
            r"Method & MOS \\",
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            rf"\caption{{Mean opinion score (mean $\pm$ std across judges) per method, "
            rf"round ``{latex_escape(round.name)}''{state}.}}",
            r"\end{table}",
            "",
        ]
    )


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def round_equal(a: float, b: float, decimals: int) -> bool:
    return round(a, decimals) == round(b, decimals)


def _md(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")
