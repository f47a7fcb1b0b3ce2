"""How numbers print in the tables (Markdown, LaTeX, the results page, the CSV tables): a value that
rounds to zero is 0.00, never -0.00, and an alpha over fewer than two rated explanations is "–"."""

from __future__ import annotations

import copy
import csv
import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from bti_eval.judging.models import Rating
from bti_eval.results import exports, tables
from bti_eval.results.report import round_report
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory
from tests.results.test_simulation import open_round

pytestmark = pytest.mark.django_db

NEGATIVE_ZERO = re.compile(r"(?<![\d.])[-+]0\.0+(?!\d*[1-9])")  # -0.00, +0.00, -0.000 ...


def nearly_zero_report(report: dict) -> dict:
    """The report with its signed numbers just below zero, as they come out of real data."""
    report = copy.deepcopy(report)
    for row in report["matrix"]:
        for cell in row["cells"]:
            if cell is not None:
                cell["effect"] = -0.001
    for c in report["comparisons"]:
        c["effect"] = -0.004
    for entry in [report["agreement"]["overall"], *report["agreement"]["per_method"]]:
        for level in ("ordinal", "interval"):
            entry[level].update(alpha=-0.0004, low=-0.003, high=0.004)
    for judge in report["judges"]:
        judge["z"] = -0.001
        judge["agreement"] = -0.002
    return report


@pytest.fixture
def simulated():
    round = open_round(pairs=10, controls=5)
    call_command("simulate_judges", str(round.pk), "--judges", "4", "--seed", "1")
    return round


def test_number_never_prints_a_signed_zero():
    assert tables.number(-0.001) == "0.00"
    assert tables.number(-0.0004, 3) == "0.000"
    assert tables.number(-0.001, signed=True) == "0.00"
    assert tables.number(0.0, signed=True) == "0.00"
    assert tables.number(-0.006) == "-0.01"
    assert tables.number(0.25, signed=True) == "+0.25"
    assert tables.number(None) == "–"


def test_markdown_and_latex_print_zero_not_minus_zero(simulated):
    report = nearly_zero_report(round_report(round=simulated))
    markdown = tables.markdown(simulated, report)
    latex = tables.latex(simulated, report)
    assert not NEGATIVE_ZERO.search(markdown), NEGATIVE_ZERO.findall(markdown)
    assert not NEGATIVE_ZERO.search(latex), NEGATIVE_ZERO.findall(latex)
    assert "| 0.000 [0.00, 0.00] |" in markdown  # alpha and its CI
    assert "ordinal 0.00, interval 0.00" in latex and " & 0.00 & " in latex  # caption and effect matrix


def test_results_page_prints_zero_not_minus_zero(simulated, researcher_client, monkeypatch):
    report = nearly_zero_report(round_report(round=simulated))
    monkeypatch.setattr("bti_eval.results.views.round_report", lambda **_: report)
    html = researcher_client.get(reverse("results:round", args=[simulated.pk])).content.decode()
    body = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)  # the plot's coordinates are not table cells
    assert "0.00" in body and not NEGATIVE_ZERO.search(body), NEGATIVE_ZERO.findall(body)


@pytest.fixture
def one_rated_explanation():
    """Two judges; bti rated on three pairs, tfidf-w2v on one explanation only (scores 3 and 4)."""
    round = EvaluationRoundFactory(
        methods=["bti", "tfidf-w2v"], explained_pairs=3, judges=2, status=EvaluationRound.Status.RATING, judges__seed=3
    )
    tfidf = Rating.objects.filter(assignment__explanation__round=round, assignment__explanation__method="tfidf-w2v")
    kept = tfidf.order_by("assignment__explanation__pair_id").values_list("assignment__explanation_id", flat=True)[0]
    tfidf.exclude(assignment__explanation_id=kept).delete()
    for score, rating in zip((3, 4), tfidf.order_by("judge_id"), strict=True):
        rating.score = score
        rating.save(update_fields=["score"])
    return round


def test_alpha_of_one_rated_explanation_is_a_dash_everywhere(one_rated_explanation, researcher_client):
    round = one_rated_explanation
    report = round_report(round=round)
    per_method = {row["method"]: row for row in report["agreement"]["per_method"]}
    tfidf = per_method["tfidf-w2v"]
    assert tfidf["ordinal"]["units"] == 1 and tfidf["ordinal"]["values"] == 2
    assert tfidf["ordinal"]["alpha"] is None and tfidf["interval"]["alpha"] is None

    markdown = "".join(exports.export(round, "markdown"))
    assert "| TF-IDF-W2V | – | – |" in markdown
    methods = {row["method"]: row for row in csv.DictReader(io.StringIO("".join(exports.export(round, "methods-csv"))))}
    assert methods["tfidf-w2v"]["alpha_ordinal"] == "" and methods["tfidf-w2v"]["alpha_interval"] == ""

    html = researcher_client.get(reverse("results:round", args=[round.pk])).content.decode()
    row = re.search(r"<tr>\s*<td>TF-IDF-W2V</td>(.*?)</tr>", html, flags=re.S)
    assert row is not None, "no TF-IDF-W2V row in the agreement table"
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(1), flags=re.S)
    assert cells == ["–", "–"]
