"""The means plot: each method's MOS with its bootstrap 95% CI as error bars, as an SVG document; for a
pairwise round, the Bradley–Terry strengths with theirs (``strengths_plot_svg``).

Rendered on the server with matplotlib (a bare Figure, SVG output: no pyplot, no display,
no CDN, no JavaScript); text stays text (``svg.fonttype = none``) and the output is deterministic for the
same numbers (fixed hash salt, no date), so it can be inlined in the page and exported as a file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "bti-eval"}


def round_plot_svg(report: dict[str, Any]) -> str:
    """The round's plot: the strengths of a pairwise round's report, else the means."""
    return strengths_plot_svg(report) if report.get("kind") == "pairwise" else means_plot_svg(report)


def means_plot_svg(report: dict[str, Any]) -> str:
    """SVG text of the means plot: one row per method with ratings (round order, first at the top),
    a dot at the mean, error bars from ci_low to ci_high, the letter groups beside it."""
    rows = [r for r in report["methods"] if r["mean"] is not None]

    def draw(axes) -> None:
        if rows:
            y = list(range(len(rows)))[::-1]
            means = [r["mean"] for r in rows]
            low = [r["mean"] - r["ci_low"] if r.get("ci_low") is not None else 0.0 for r in rows]
            high = [r["ci_high"] - r["mean"] if r.get("ci_high") is not None else 0.0 for r in rows]
            axes.errorbar(means, y, xerr=[low, high], fmt="o", color="#c2410c", ecolor="#3a3a3c", capsize=4)
            axes.set_yticks(y, [_plain(r["label"]) for r in rows])
            for yi, r in zip(y, rows, strict=True):
                _label_right(axes, f"{r['mean']:.2f} {r.get('letters', '')}".strip(), r.get("ci_high") or r["mean"], yi)
        else:
            axes.set_yticks([])
            axes.text(3, 0.5, "no ratings yet", ha="center", va="center")
        axes.set_xlim(1, 5.4)
        axes.set_xticks([1, 2, 3, 4, 5])
        resamples = report.get("options", {}).get("resamples")
        axes.set_xlabel(f"MOS (1–5), 95% bootstrap CI over pairs ({resamples} resamples)")

    return _method_rows_svg(len(rows), draw)


def strengths_plot_svg(report: dict[str, Any]) -> str:
    """SVG text of a pairwise round's plot: one row per method, best first at the top, a dot at its
    Bradley–Terry log-strength with its bootstrap 95% CI as error bars, the win rate beside it.
    Deterministic like ``means_plot_svg``."""
    rows = [r for r in report["methods"] if r["comparisons"]]

    def draw(axes) -> None:
        if rows:
            y = list(range(len(rows)))[::-1]
            values = [r["strength"] for r in rows]
            # The bars are the intervals themselves, drawn apart from the dots: a percentile interval
            # need not contain the point estimate (a round of few pairs).
            lows = [r["ci_low"] if r.get("ci_low") is not None else r["strength"] for r in rows]
            highs = [r["ci_high"] if r.get("ci_high") is not None else r["strength"] for r in rows]
            centres = [(lo + hi) / 2 for lo, hi in zip(lows, highs, strict=True)]
            half = [(hi - lo) / 2 for lo, hi in zip(lows, highs, strict=True)]
            axes.errorbar(centres, y, xerr=half, fmt="none", ecolor="#3a3a3c", capsize=4)
            axes.plot(values, y, "o", color="#c2410c")
            axes.set_yticks(y, [_plain(f"{r['rank']}. {r['label']}") for r in rows])
            for yi, r, high in zip(y, rows, highs, strict=True):
                text = f"{r['strength']:+.2f} ({100 * r['win_rate']:.0f}% wins)"
                _label_right(axes, text, max(r["strength"], high), yi)
            axes.axvline(0.0, color="#e5e5ea", zorder=0)
            axes.set_xlim(min(lows + values) - 0.3, max(highs + values) + 1.2)  # room for the labels on the right
        else:
            axes.set_yticks([])
            axes.text(0.5, 0.5, "no choices yet", ha="center", va="center", transform=axes.transAxes)
        resamples = report.get("pairwise", {}).get("resamples")
        axes.set_xlabel(f"Bradley–Terry log-strength (centred)\n95% bootstrap CI over pairs, {resamples} resamples")

    return _method_rows_svg(len(rows), draw)


def _method_rows_svg(n_rows: int, draw: Callable[[Any], None]) -> str:
    """SVG text of a plot of one row per method: ``draw(axes)`` draws on a bare Figure sized for
    ``n_rows`` rows, under ``SVG_RC``; then an x grid, a tight layout, and no date in the file.

    matplotlib is imported here, not at module level: it takes about a second to import, and
    only drawing needs it. ``Figure`` draws without pyplot or a backend switch (Agg canvas)."""
    import matplotlib
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 1.2 + 0.45 * max(n_rows, 1)))
    axes = figure.subplots()
    with matplotlib.rc_context(SVG_RC):
        draw(axes)
        axes.grid(axis="x", color="#e5e5ea")
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _label_right(axes, text: str, x: float, y: float) -> None:
    """A small label just right of the point (x, y) of a method's row."""
    axes.annotate(text, (x, y), xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)


_STYLE_ATTRIBUTE = re.compile(r' style="([^"]*)"')
_STYLE_ELEMENT = re.compile(r"<style[^>]*>\*\{([^}]*)\}</style>")


def _presentation_attributes(declarations: str) -> str:
    """``fill: #fff; stroke-width: 0.8`` as `` fill="#fff" stroke-width="0.8"``."""
    pairs = (d.split(":", 1) for d in declarations.split(";") if ":" in d)
    return "".join(f' {name.strip()}="{value.strip()}"' for name, value in pairs)


def inline_svg(svg: str) -> str:
    """The ``<svg ...>`` element of an SVG document (no XML prolog/doctype), for inlining in HTML.

    The page's Content-Security-Policy allows no inline styles, so matplotlib's ``style="..."``
    attributes become SVG presentation attributes (fill, stroke, font-size, ...: the only
    properties it writes there) and its one ``<style>*{...}</style>`` rule becomes inherited
    attributes of the root element: the same drawing, with nothing for the policy to block."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    defaults = _STYLE_ELEMENT.search(svg)
    if defaults:
        svg = _STYLE_ELEMENT.sub("", svg, count=1)
        svg = svg.replace("<svg", "<svg" + _presentation_attributes(defaults.group(1)), 1)
    return _STYLE_ATTRIBUTE.sub(lambda m: _presentation_attributes(m.group(1)), svg)


def _plain(text: str) -> str:
    """Text matplotlib shows literally: "$" would start mathtext."""
    return text.replace("$", r"\$")
