"""The ``explanations`` export: every explanation as stored, with the raw numbers that the judges'
page shows only relative to the best pair, and only up to the round's row budget."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from bti_eval.results import exports
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.explanation_payloads import explanation_payload
from tests.factories import EvaluationRoundFactory

pytestmark = pytest.mark.django_db

METHODS = ["bti", "tfidf-w2v"]


def payload(pair, method):
    """A payload whose raw pair scores are not relative to the best one, with more pairs than shown."""
    stored = explanation_payload(method)
    stored["pairs"] = [dict(p, score=round(0.05 * (i + 1), 3)) for i, p in enumerate(stored["pairs"])] * 2
    return stored


@pytest.fixture
def round_(researcher):
    return EvaluationRoundFactory(
        created_by=researcher,
        methods=METHODS,
        pairs_shown=1,
        status=EvaluationRound.Status.CLOSED,
        explained_pairs=3,
        explained_pairs__payload=payload,
    )


def lines(text: str) -> list[dict]:
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_every_explanation_is_a_line_with_its_raw_numbers_and_whole_selection(round_, tmp_path):
    Explanation.objects.filter(round=round_, method="tfidf-w2v").update(
        status=Explanation.Status.FAILED, payload=None, error="out of memory"
    )
    target = tmp_path / "expl.jsonl"
    call_command("export_results", str(round_.pk), "--format", "explanations", "--output", str(target))
    exported = lines(target.read_text(encoding="utf-8"))
    stored = {(e.pair_id, e.method): e for e in Explanation.objects.filter(round=round_).select_related("pair")}
    assert len(exported) == len(stored) == 6
    assert [(row["pair"], row["method"]) for row in exported] == sorted(stored)  # by pair, then method
    for row in exported:
        explanation = stored[(row["pair"], row["method"])]
        assert row["round"] == round_.pk and row["control"] is False
        assert (row["external_id"], row["source"]) == (explanation.pair.external_id, explanation.pair.source)
        assert row["status"] == explanation.status and row["error"] == explanation.error
        assert row["explanation"] == explanation.payload  # raw, untouched: what was computed or imported
    done = [row for row in exported if row["method"] == "bti"]
    assert all(len(row["explanation"]["pairs"]) > round_.pairs_shown for row in done)  # the whole selection
    assert {p["score"] for p in done[0]["explanation"]["pairs"]} >= {0.05, 0.1}  # raw, not relative to the best
    assert all(row["explanation"] is None and row["error"] == "out of memory" for row in exported if row not in done)


def test_the_api_streams_the_explanations_to_researchers_only(round_, researcher_client, judge_api_client):
    url = reverse("api-round-export", args=[round_.pk]) + "?format=explanations"
    response = researcher_client.get(url)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="round-{round_.pk}-explanations.jsonl"'
    exported = lines(b"".join(response.streaming_content).decode())
    assert {row["method"] for row in exported} == set(METHODS)
    assert judge_api_client.get(url).status_code == 403


def test_a_pairwise_round_exports_its_explanations_and_controls_are_marked(researcher):
    round_ = EvaluationRoundFactory(
        created_by=researcher, methods=METHODS, design=EvaluationRound.Design.PAIRWISE, explained_pairs=2
    )
    first = Explanation.objects.filter(round=round_).order_by("id").first()
    Explanation.objects.create(
        round=round_,
        pair=first.pair,
        method="control",
        is_control=True,
        status=Explanation.Status.DONE,
        payload=first.payload,
    )
    exported = lines("".join(exports.export(round_, "explanations")))
    assert len(exported) == 5
    controls = [row for row in exported if row["control"]]
    assert [(row["pair"], row["method"]) for row in controls] == [(first.pair_id, "control")]
    assert exported.index(controls[0]) == 2  # after the pair's real explanations
