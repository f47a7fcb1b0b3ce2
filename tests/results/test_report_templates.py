"""The Markdown and LaTeX reports are rendered from templates (results/report.md, report.tex): their
text is pinned on a realistic report (``data/report.json``: a simulated round of four judges, with a
method label and a round name full of LaTeX's special characters, a method without ratings, values
just below zero and automatic metrics), so that a change of layout is a change of these files."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bti_eval.results import tables
from tests.factories import EvaluationRoundFactory

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parent / "data"


@pytest.fixture
def report() -> dict:
    return json.loads((DATA / "report.json").read_text())


@pytest.fixture
def round():
    return EvaluationRoundFactory(name="Fashion_v2 & friends | 50% blind", top_k=2, pairs_shown=3)


def final_without_flagged(report: dict) -> dict:
    report = copy.deepcopy(report)
    report["final"] = True
    report["options"].update(exclude_flagged=True, excluded_judges=[3])
    report["auto"] = {"status": "failed", "error": "CUDA out of memory"}
    return report


def test_markdown_report_is_the_pinned_text(round, report):
    assert tables.markdown(round, report) == (DATA / "report.md").read_text()


def test_latex_report_is_the_pinned_text(round, report):
    assert tables.latex(round, report) == (DATA / "report.tex").read_text()


def test_final_report_without_flagged_judges_is_the_pinned_text(round, report):
    report = final_without_flagged(report)
    assert tables.markdown(round, report, decimals=3) == (DATA / "report-final.md").read_text()
    assert tables.latex(round, report, decimals=3) == (DATA / "report-final.tex").read_text()


def test_latex_escapes_method_titles_and_the_round_name(round, report):
    latex = tables.latex(round, report)
    assert r"BTI\_v2 \& co (100\%) & 3.70 $\pm$ 0.34" in latex  # the paper's table
    assert r" & BTI\_v2 \& co (100\%) & " in latex  # the matrix header
    assert r"round ``Fashion\_v2 \& friends | 50\% blind''" in latex
    assert r"top\_k = 2" in latex  # the presentation sentence, escaped as a whole
    assert "BTI_v2" not in latex and "co (100%)" not in latex


def test_markdown_keeps_latex_characters_and_escapes_pipes(round, report):
    markdown = tables.markdown(round, report)
    assert "| BTI_v2 & co (100%) | 40 | 4 | 3.70 ± 0.34 |" in markdown
    assert "round “Fashion_v2 & friends \\| 50% blind”" in markdown
    assert "&amp;" not in markdown  # templates render with autoescape off


def test_a_value_just_below_zero_prints_as_zero_in_both_formats(round, report):
    assert report["matrix"][0]["cells"][1]["effect"] == -0.001
    assert report["comparisons"][0]["effect"] == -0.004
    assert "| BTI | BTI_v2 & co (100%) | 10 | 0.00 |" in tables.markdown(round, report)
    assert r"BTI & -- & 0.00 & +0.58" in tables.latex(round, report)


def test_the_page_filters_share_the_table_formatters():
    from django.template import Context, Template

    page = Template(
        "{% load report_format %}{{ x|num }} {{ y|num:3 }} {{ none|num }} {{ row|mos:2 }} {{ row|ci:2 }} "
        "{{ tiny|p }} {{ none|p }} {{ name|latex }}"
    )
    row = {"mean": 3.8, "std": -0.001, "ci_low": -0.004, "ci_high": 0.5}
    html = page.render(
        Context({"x": -0.001, "y": -0.0004, "none": None, "row": row, "tiny": 0.0004, "name": "BTI_v2 & co 5%"})
    )
    assert html == r"0.00 0.000 – 3.80 ± 0.00 [0.00, 0.50] &lt;0.001 – BTI\_v2 \&amp; co 5\%"
