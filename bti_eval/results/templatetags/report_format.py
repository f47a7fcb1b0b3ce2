"""Template filters for a round's report: every number on the results page and in the Markdown and
LaTeX tables goes through ``bti_eval.results.tables`` (``{% load report_format %}``)."""

from __future__ import annotations

from typing import Any

from django import template

from bti_eval.results import tables

register = template.Library()


@register.filter
def num(value: float | None, decimals: int = 2) -> str:
    """``{{ x|num }}`` / ``{{ x|num:3 }}``: ``–`` when None, ``0.00`` (never ``-0.00``) near zero."""
    return tables.number(value, int(decimals))


@register.filter
def p(value: float | None) -> str:
    """``{{ p|p }}``: "<0.001" rather than 0.000, ``–`` when undefined."""
    return tables.p_text(value)


@register.filter
def ci(row: dict[str, Any], decimals: int = 2) -> str:
    """``{{ row|ci:2 }}``: ``[low, high]`` of a method row, ``–`` without a CI."""
    return tables.ci_cell(row, int(decimals))


@register.filter
def mos(row: dict[str, Any], decimals: int = 2) -> str:
    """``{{ row|mos:2 }}``: ``mean ± std`` of a method row (``tables.mos_cell``)."""
    return tables.mos_cell(row, decimals=int(decimals), pm=" ± ")


@register.filter
def mos_latex(row: dict[str, Any], decimals: int = 2) -> str:
    """``mean $\\pm$ std`` of a method row, ``--`` without ratings."""
    return tables.latex_dashes(tables.mos_cell(row, decimals=int(decimals), pm=r" $\pm$ "))


@register.filter
def alpha(entry: dict[str, Any]) -> str:
    """``{{ entry|alpha }}``: Krippendorff's alpha with its CI, ``–`` when undefined."""
    return tables.alpha_cell(entry)


@register.filter
def effect_latex(cell: dict[str, Any] | None) -> str:
    """A paired-comparison matrix cell: the signed effect, ``*`` when significant, ``--`` when undefined."""
    if cell is None or cell["effect"] is None:
        return "--"
    return tables.number(cell["effect"], signed=True) + "*" * cell["significant"]


@register.filter
def seconds(value: float) -> str:
    """A threshold in seconds without trailing zeros (3.0 -> "3", 2.5 -> "2.5")."""
    return f"{value:g}"


@register.filter
def md(text: Any) -> str:
    """Text safe in a Markdown table cell: ``|`` escaped, newlines joined."""
    return tables.markdown_escape(text)


@register.filter
def latex(text: Any) -> str:
    """Text with LaTeX's special characters escaped (``_``, ``&``, ``%``, ...)."""
    return tables.latex_escape(str(text))


@register.filter
def latex_dashes(text: str) -> str:
    """``–`` (undefined) as LaTeX's en dash ``--``."""
    return tables.latex_dashes(text)


@register.filter
def textbf(text: str, bold: bool) -> str:
    """``\\textbf{text}`` when ``bold`` (a template cannot write three braces in a row)."""
    return rf"\textbf{{{text}}}" if bold else text


@register.filter
def signed(value: float | None, decimals: int = 2) -> str:
    """``{{ x|signed }}``: with its sign (``+0.42``), ``0.00`` near zero, ``–`` when None (strengths)."""
    return tables.number(value, int(decimals), signed=True)


@register.filter
def percent(value: float | None) -> str:
    """``{{ share|percent }}``: a share as a whole percentage (``62%``), ``–`` when None."""
    return "–" if value is None else f"{100 * value:.0f}%"
