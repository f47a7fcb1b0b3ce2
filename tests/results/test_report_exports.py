"""The new sections in every export, the flagged-judges toggle in each, and the server-rendered plot."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.core.management import call_command
from django.urls import reverse

from bti_eval.results import exports
from bti_eval.results.plots import means_plot_svg
from bti_eval.results.report import round_report
from tests.results.test_simulation import open_round

pytestmark = pytest.mark.django_db


@pytest.fixture
def simulated():
    round = open_round(pairs=10, controls=5)
    call_command("simulate_judges", str(round.pk), "--judges", "4", "--seed", "1")
    return round


def text(round, fmt, **options) -> str:
    return "".join(exports.export(round, fmt, **options))


def test_json_export_has_every_section_and_no_binary(simulated):
    document = json.loads(text(simulated, "json"))
    results = document["results"]
    for key in ("methods", "agreement", "comparisons", "matrix", "judges", "controls", "design", "options"):
        assert key in results
    assert {"ci_low", "ci_high", "ci_resamples", "letters"} <= set(results["methods"][0])
    assert document["round"]["design"] == "all" and document["round"]["control_items"] == 5
    assert document["options"]["exclude_flagged"] is False and document["options"]["resamples"] == 400
    seeds = {j["id"]: j["seed"] for j in results["design"]["judges"]}
    assert len(seeds) == 4 and all(isinstance(s, int) for s in seeds.values())
    order = document["orders"][str(next(iter(seeds)))]
    assert [q[0] for q in order] == list(range(len(order))) == list(range(10 * 4 + 5))
    assert {r["control"] for r in document["ratings"]} == {0, 1}
    assert "<svg" not in json.dumps(document) and "base64" not in json.dumps(document)


def test_exclude_flagged_is_recorded_in_every_format(simulated):
    flagged = {j["id"] for j in round_report(round=simulated)["judges"] if j["flagged"]}
    assert len(flagged) == 1
    document = json.loads(text(simulated, "json", exclude_flagged=True))
    assert document["options"]["exclude_flagged"] is True and set(document["options"]["excluded_judges"]) == flagged
    assert {r["judge_id"] for r in document["ratings"]}.isdisjoint(flagged)
    rows = list(csv.DictReader(io.StringIO(text(simulated, "csv"))))
    assert {int(r["judge_id"]) for r in rows if r["judge_flagged"] == "1"} == flagged
    kept = list(csv.DictReader(io.StringIO(text(simulated, "csv", exclude_flagged=True))))
    assert len(kept) == len(rows) - len(rows) // 4 and {r["judge_flagged"] for r in kept} == {"0"}
    methods = list(csv.DictReader(io.StringIO(text(simulated, "methods-csv", exclude_flagged=True))))
    assert {r["exclude_flagged"] for r in methods} == {"1"}
    assert "without flagged judges" in text(simulated, "markdown", exclude_flagged=True)
    assert "without flagged judges" in text(simulated, "latex", exclude_flagged=True)
    assert exports.export_filename(simulated, "csv", exclude_flagged=True).endswith("-results-without-flagged.csv")


def test_markdown_has_ci_letters_agreement_tests_and_judges(simulated):
    md = text(simulated, "markdown")
    assert "| Method | n | Judges | MOS | 95% CI | Group | std (ratings) |" in md
    for heading in ("## Agreement (Krippendorff's alpha", "## Paired tests", "## Judges"):
        assert heading in md
    assert "400 resamples" in md and "(sloppy)" in md and "5 control item(s)" in md


def test_method_and_judge_csv_tables(simulated):
    report = round_report(round=simulated)
    methods = list(csv.DictReader(io.StringIO(text(simulated, "methods-csv"))))
    assert [r["method"] for r in methods] == [m["method"] for m in report["methods"]]
    assert float(methods[0]["ci_low"]) == pytest.approx(report["methods"][0]["ci_low"])
    assert methods[0]["letters"] == report["methods"][0]["letters"] and methods[0]["alpha_ordinal"]
    judges = list(csv.DictReader(io.StringIO(text(simulated, "judges-csv"))))
    assert list(judges[0]) == exports.JUDGE_COLUMNS and len(judges) == 4
    assert sum(r["flagged"] == "True" for r in judges) == 1


def test_plot_is_a_deterministic_svg_with_a_point_per_method(simulated):
    report = round_report(round=simulated)
    svg = means_plot_svg(report)
    root = ET.fromstring(svg.encode())
    assert root.tag.endswith("svg")
    for row in report["methods"]:
        assert row["label"] in svg
    assert "400 resamples" in svg and "<script" not in svg
    assert means_plot_svg(report) == svg
    assert "no ratings yet" in means_plot_svg({"methods": [{"mean": None}], "options": {"resamples": 1}})


def test_svg_export_and_the_page_inline_plot(simulated, researcher_client):
    response = researcher_client.get(f"/api/rounds/{simulated.pk}/export/?format=svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert f'filename="round-{simulated.pk}-means.svg"' in response["Content-Disposition"]
    html = researcher_client.get(reverse("results:round", args=[simulated.pk])).content.decode()
    assert (
        "<svg" in html and "<?xml" not in html and re.search(r'(src|href)="(https?:)?//', html) is None
    )  # nothing from a CDN
    for section in ('id="agreement"', 'id="paired-tests"', 'id="judges"', 'id="design"', 'id="auto-metrics"'):
        assert section in html
    assert "recompute without flagged judges" in html and "95% CI" in html
    excluded = researcher_client.get(reverse("results:round", args=[simulated.pk]) + "?exclude_flagged=1")
    assert "Without flagged judges" in excluded.content.decode()
    assert "&amp;exclude_flagged=1" in excluded.content.decode()  # export links keep the toggle


def test_a_round_without_ratings_still_reports(researcher_client, researcher_api_client):
    round = open_round(pairs=3, controls=1)
    body = researcher_api_client.get(f"/api/rounds/{round.pk}/results/").json()
    assert body["n_ratings"] == 0 and body["comparisons"] == [] and body["judges"] == []
    assert body["agreement"]["overall"]["ordinal"]["alpha"] is None
    assert all(m["mean"] is None and m["ci_low"] is None and m["letters"] == "" for m in body["methods"])
    html = researcher_client.get(reverse("results:round", args=[round.pk])).content.decode()
    assert "no ratings yet" in html and "No judges yet." in html
    for fmt in exports.FORMATS:
        assert researcher_client.get(f"/api/rounds/{round.pk}/export/?format={fmt}").status_code == 200


def test_exports_record_the_row_budget_and_count_the_truncated_explanations(simulated):
    real = simulated.explanations.filter(is_control=False).order_by("pair_id", "method")
    long_pair = real.first().pair_id
    cut = list(real.filter(pair_id=long_pair))
    for explanation in cut:
        explanation.payload = {**explanation.payload, "truncated": True}
        explanation.save(update_fields=["payload"])
    n_methods = len(simulated.methods)
    assert len(cut) == n_methods

    document = json.loads(text(simulated, "json"))
    assert document["round"]["pairs_shown"] == 2 and document["round"]["top_k"] == 2
    assert (
        "MeanShift" in document["round"]["top_k_means"]
        and "same for every method" in document["round"]["pairs_shown_means"]
    )
    truncated = document["round"]["truncated"]
    assert truncated["explanations"] == n_methods and truncated["pairs"] == 1
    assert truncated["per_method"] == {m: 1 for m in simulated.methods}
    methods = list(csv.DictReader(io.StringIO(text(simulated, "methods-csv"))))
    assert {row["truncated"] for row in methods} == {"1"}
    markdown = text(simulated, "markdown")
    assert "judges saw at most 2 word pair(s) per explanation" in markdown
    assert f"{n_methods} explanation(s) of 1 pair(s) truncated" in markdown
    latex = text(simulated, "latex")
    assert "top\\_k = 2" in latex and f"{n_methods} explanation(s) of 1 pair(s) truncated" in latex
