"""A round's report as Markdown and LaTeX: the paper's table (with 95% CIs and letter groups), then
agreement, the paired tests, the judges and the automatic metrics. Text rendering only.

The layout is in the templates ``results/report.md`` and ``results/report.tex``; the cells come from
the formatters below, which the results page uses too (``templatetags/report_format.py``). Every
number goes through ``number``: a value that rounds to zero prints as ``0.00``, never ``-0.00`` (nor
``+0.00`` where signs are shown), and an undefined one as ``–``.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from bti_eval.rounds.models import EvaluationRound
from bti_eval.rounds.selectors import round_truncation

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


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_dashes(text: str) -> str:
    """The undefined mark ``–`` as LaTeX's en dash ``--``."""
    return text.replace("–", "--")


def markdown_escape(text: Any) -> str:
    """Text for a Markdown table cell: ``|`` escaped, newlines as spaces."""
    return str(text).replace("|", r"\|").replace("\n", " ")


def number(value: float | None, decimals: int = 2, *, signed: bool = False) -> str:
    """``value`` with ``decimals`` decimals; ``–`` when None. A value that rounds to zero prints
    unsigned (``0.00``, not ``-0.00``); ``signed`` puts a ``+`` before positive values."""
    if value is None:
        return "–"
    text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    if float(text) == 0:
        return f"{0:.{decimals}f}"
    return text


def mos_cell(row: dict[str, Any], *, decimals: int, pm: str) -> str:
    """``mean ± std`` (std across judges), ``mean`` alone with one judge, ``–`` with no ratings."""
    if row["mean"] is None:
        return "–"
    if row["std"] is None:
        return number(row["mean"], decimals)
    return f"{number(row['mean'], decimals)}{pm}{number(row['std'], decimals)}"


def p_text(value: float | None) -> str:
    """A p-value as text: "<0.001" rather than 0.000, "–" when undefined (tables and results page)."""
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def ci_cell(row: dict[str, Any], decimals: int) -> str:
    if row.get("ci_low") is None:
        return "–"
    return f"[{number(row['ci_low'], decimals)}, {number(row['ci_high'], decimals)}]"


def alpha_cell(entry: dict[str, Any]) -> str:
    """Alpha with its CI; ``–`` when undefined (``statistics.alpha_with_ci``: fewer than two rated units)."""
    if entry["alpha"] is None:
        return "–"
    ci = f" [{number(entry['low'])}, {number(entry['high'])}]" if entry["low"] is not None else ""
    return f"{number(entry['alpha'], 3)}{ci}"


def report_rows(report: dict[str, Any], *, decimals: int = 2) -> dict[str, Any]:
    """The report's rows with each method's label beside its id, for the templates (the results
    page and the Markdown and LaTeX tables): ``rows`` (methods, with ``best``: the highest MOS at
    ``decimals``, and ``auto``: the automatic metrics' values in ``auto_columns`` order),
    ``agreement_rows``, ``comparison_rows``, ``matrix_rows`` and ``header`` (the matrix's labels)."""
    labels = {row["method"]: row["label"] for row in report["methods"]}
    means = [row["mean"] for row in report["methods"] if row["mean"] is not None]
    best = round(max(means), decimals) if means else None
    auto = report.get("auto") or {}
    columns = auto.get("columns") or []
    auto_values = {m["method"]: [m[f"{c['metric']}.{c['field']}"] for c in columns] for m in auto.get("methods", [])}
    return {
        "rows": [
            {
                **row,
                "best": row["mean"] is not None and round(row["mean"], decimals) == best,
                "auto": auto_values.get(row["method"], []),
            }
            for row in report["methods"]
        ],
        "auto_columns": columns,
        "auto_rows": [{**m, "auto": auto_values[m["method"]]} for m in auto.get("methods", [])],
        "agreement_rows": [{"label": labels[row["method"]], **row} for row in report["agreement"]["per_method"]],
        "comparison_rows": [{**c, "a_label": labels[c["a"]], "b_label": labels[c["b"]]} for c in report["comparisons"]],
        "matrix_rows": [{"label": labels[row["method"]], "cells": row["cells"]} for row in report["matrix"]],
        "header": [labels[row["method"]] for row in report["matrix"]],
    }


def _context(round: EvaluationRound, report: dict[str, Any], decimals: int) -> dict[str, Any]:
    return {
        "round": round,
        "report": report,
        "options": report["options"],
        "design": report["design"],
        "auto": report.get("auto"),
        "decimals": decimals,
        "excluded_judges": ", ".join(map(str, report["options"]["excluded_judges"])),
        "truncation": round_truncation(round=round),
        **report_rows(report, decimals=decimals),
    }


def markdown(round: EvaluationRound, report: dict[str, Any], *, decimals: int = 2) -> str:
    """The whole report as Markdown; the first table is the paper's (best MOS in bold)."""
    return render_to_string("results/report.md", _context(round, report, decimals))


def latex(round: EvaluationRound, report: dict[str, Any], *, decimals: int = 2) -> str:
    """The paper's Table 1 (booktabs) with the 95% CI and letter groups, then the paired-test matrix."""
    return render_to_string("results/report.tex", _context(round, report, decimals))
