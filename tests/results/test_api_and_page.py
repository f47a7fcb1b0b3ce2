"""Results API and page, export downloads, and the OpenAPI schema."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory, JudgeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def round_with_ratings():
    round = EvaluationRoundFactory(
        methods=["bti", "tfidf-w2v"], explained_pairs=3, judges=2, status=EvaluationRound.Status.RATING, judges__seed=4
    )
    return round


def test_results_api(researcher_api_client, round_with_ratings):
    body = researcher_api_client.get(f"/api/rounds/{round_with_ratings.pk}/results/").json()
    assert body["final"] is False and body["status"] == "rating" and body["n_ratings"] == 12
    assert [m["method"] for m in body["methods"]] == ["bti", "tfidf-w2v"]
    assert {"n", "mean", "std", "std_ratings", "n_judges"} <= set(body["methods"][0])


@pytest.mark.parametrize(
    ("fmt", "content_type", "marker"),
    [
        ("csv", "text/csv", "round,judge_id,judge,pair,method,score,seconds,position,rated_at"),
        ("json", "application/json", '"ratings"'),
        ("markdown", "text/markdown", "| Method | n | Judges | MOS |"),
        ("latex", "application/x-latex", r"\begin{tabular}"),
    ],
)
def test_export_downloads(researcher_api_client, round_with_ratings, fmt, content_type, marker):
    response = researcher_api_client.get(f"/api/rounds/{round_with_ratings.pk}/export/?format={fmt}")
    assert response.status_code == 200 and response["Content-Type"].startswith(content_type)
    assert f'filename="round-{round_with_ratings.pk}-results.' in response["Content-Disposition"]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert marker in body.decode()


def test_export_with_an_unknown_format_is_a_json_400(researcher_api_client, round_with_ratings):
    response = researcher_api_client.get(f"/api/rounds/{round_with_ratings.pk}/export/?format=xlsx")
    assert response.status_code == 400 and "csv, json, markdown, latex" in response.json()["message"]


def test_export_works_with_the_session_for_the_page_links(researcher_client, round_with_ratings):
    response = researcher_client.get(f"/api/rounds/{round_with_ratings.pk}/export/?format=json")
    assert response.status_code == 200 and json.loads(response.content)["round"]["id"] == round_with_ratings.pk


def test_results_page_shows_the_table_and_export_links(researcher_client, round_with_ratings):
    html = researcher_client.get(reverse("results:round", args=[round_with_ratings.pk])).content.decode()
    assert "Partial results" in html and "TF-IDF-W2V" in html and " ± " in html
    for fmt in ("csv", "json", "markdown", "latex"):
        assert f"/api/rounds/{round_with_ratings.pk}/export/?format={fmt}" in html


def test_judges_never_get_results(client, round_with_ratings):
    judge = JudgeFactory(round=round_with_ratings)
    client.force_login(judge.user)
    assert client.get(reverse("results:round", args=[round_with_ratings.pk])).status_code == 403
    assert client.get(f"/api/rounds/{round_with_ratings.pk}/results/").status_code == 403
    assert client.get(f"/api/rounds/{round_with_ratings.pk}/export/?format=csv").status_code == 403


def test_schema_is_served_and_valid(researcher_api_client, tmp_path):
    EvaluationRoundFactory()
    response = researcher_api_client.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/rounds/{round_id}/launch/", "/api/pairs/import/", "/api/rounds/{round_id}/export/"):
        assert path in text
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_results_page_shows_the_holm_p_value_of_each_matrix_cell(researcher_client, round_with_ratings):
    from bti_eval.results.report import round_report

    report = round_report(round=round_with_ratings)
    cell = report["matrix"][0]["cells"][1]
    assert cell is not None and cell["p_holm"] is not None and cell["p_holm"] >= 0.001
    html = researcher_client.get(reverse("results:round", args=[round_with_ratings.pk])).content.decode()
    assert f"<small>p {cell['p_holm']:.3f}</small>" in html
    assert "<small>p </small>" not in html


@pytest.mark.parametrize("value", ["maybe", "2", "yes please"])
def test_results_page_answers_400_for_an_invalid_exclude_flagged(researcher_client, round_with_ratings, value):
    response = researcher_client.get(reverse("results:round", args=[round_with_ratings.pk]), {"exclude_flagged": value})
    assert response.status_code == 400
    assert "exclude_flagged must be 1 or 0." in response.content.decode()


@pytest.mark.parametrize(("value", "excluded"), [("", False), ("0", False), ("no", False), ("1", True), ("TRUE", True)])
def test_results_page_reads_exclude_flagged_like_the_api(researcher_client, round_with_ratings, value, excluded):
    response = researcher_client.get(reverse("results:round", args=[round_with_ratings.pk]), {"exclude_flagged": value})
    assert response.status_code == 200 and response.context["exclude_flagged"] is excluded
