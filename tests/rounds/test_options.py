"""Round options: assignment design, control items, too-fast threshold, automatic metrics (service, API, page)."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.urls import reverse

from bti_eval.core.exceptions import ApplicationError
from bti_eval.results.models import AutoEvaluation
from bti_eval.rounds import services
from bti_eval.rounds.models import EvaluationRound
from tests.factories import ExplanationFactory, ParagraphPairFactory

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status


def test_create_with_every_option():
    pairs = ParagraphPairFactory.create_batch(4)
    round = services.round_create(
        name="k",
        pairs=pairs,
        methods=["bti"],
        design="k-per-item",
        judges_per_explanation=2,
        control_items=3,
        too_fast_seconds=2.5,
        auto_metrics=True,
    )
    assert (round.design, round.judges_per_explanation, round.control_items) == ("k-per-item", 2, 3)
    assert (round.too_fast_seconds, round.auto_metrics) == (2.5, True)
    plain = services.round_create(name="all", pairs=pairs, methods=["bti"], judges_per_explanation=4)
    assert plain.design == "all" and plain.judges_per_explanation is None  # k only means something for k-per-item


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"design": "pairs"}, "Unknown design"),
        ({"design": "k-per-item"}, "needs judges_per_explanation"),
        ({"design": "k-per-item", "judges_per_explanation": 0}, "needs judges_per_explanation"),
        ({"control_items": 3}, "between 0 and the round's number of pairs (2)"),
        ({"control_items": -1}, "between 0 and the round's number of pairs"),
        ({"too_fast_seconds": -1.0}, "too_fast_seconds"),
    ],
)
def test_bad_options_are_clear_400s(options, message):
    pairs = ParagraphPairFactory.create_batch(2)
    with pytest.raises(ApplicationError, match=re.escape(message)) as err:
        services.round_create(name="r", pairs=pairs, methods=["bti"], **options)
    assert err.value.status == 400


def test_options_change_before_opening_only_except_the_threshold():
    pairs = ParagraphPairFactory.create_batch(3)
    round = services.round_create(name="r", pairs=pairs, methods=["bti"])
    services.round_options_update(round=round, design="k-per-item", judges_per_explanation=2, control_items=1)
    round.refresh_from_db()
    assert (round.design, round.judges_per_explanation, round.control_items) == ("k-per-item", 2, 1)
    round.status = Status.RATING
    round.save()
    with pytest.raises(ApplicationError) as err:
        services.round_options_update(round=round, design="all")
    assert err.value.status == 409 and "before the round opens" in err.value.message
    assert services.round_options_update(round=round, too_fast_seconds=5.0).too_fast_seconds == 5.0
    with pytest.raises(ApplicationError, match="Unknown option"):
        services.round_options_update(round=round, colour="red")


def test_api_create_and_patch(researcher_api_client):
    pairs = ParagraphPairFactory.create_batch(3)
    data = {
        "name": "r",
        "pairs": [p.pk for p in pairs],
        "methods": ["bti"],
        "design": "k-per-item",
        "judges_per_explanation": 2,
        "control_items": 2,
        "auto_metrics": True,
    }
    body = researcher_api_client.post("/api/rounds/", data, format="json").json()
    assert (body["design"], body["judges_per_explanation"], body["control_items"], body["auto_metrics"]) == (
        "k-per-item",
        2,
        2,
        True,
    )
    response = researcher_api_client.patch(f"/api/rounds/{body['id']}/", {"control_items": 9}, format="json")
    assert response.status_code == 400 and "number of pairs (3)" in response.json()["message"]
    response = researcher_api_client.patch(f"/api/rounds/{body['id']}/", {"design": "all"}, format="json")
    assert response.status_code == 200 and response.json()["design"] == "all"
    assert response.json()["judges_per_explanation"] is None


def test_create_page_offers_the_options(researcher_client):
    ParagraphPairFactory.create_batch(3, source="fashion")
    html = researcher_client.get(reverse("rounds:new")).content.decode()
    for name in ("design", "judges_per_explanation", "control_items", "too_fast_seconds", "auto_metrics"):
        assert f'name="{name}"' in html
    data = {
        "name": "pilot",
        "source": "fashion",
        "methods": ["bti"],
        "top_k": 2,
        "seed": 1,
        "design": "k-per-item",
        "judges_per_explanation": 2,
        "control_items": 1,
    }
    response = researcher_client.post(reverse("rounds:new"), data)
    round = EvaluationRound.objects.get(name="pilot")
    assert response.status_code == 302 and round.design == "k-per-item" and round.control_items == 1
    detail = researcher_client.get(reverse("rounds:detail", args=[round.pk])).content.decode()
    assert "2 judges per explanation" in detail and "1 control item" in detail


def test_opening_a_round_with_auto_metrics_queues_the_first_chunk_on_the_metrics_queue(
    django_capture_on_commit_callbacks, enqueued
):
    pair = ParagraphPairFactory()
    round = services.round_create(name="auto", pairs=[pair], methods=["bti"], auto_metrics=True)
    round.status = Status.COMPUTING
    round.save()
    ExplanationFactory(round=round, pair=pair, method="bti")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.round_open_if_complete(round_id=round.pk) is True
    job = AutoEvaluation.objects.get(round=round)
    assert ("bti_eval.evaluate_auto_chunk", [job.pk, 0], "metrics") in enqueued
    assert job.status == AutoEvaluation.Status.PENDING


def test_a_broker_failure_after_opening_marks_the_metrics_failed(django_capture_on_commit_callbacks):
    pair = ParagraphPairFactory()
    round = services.round_create(name="auto", pairs=[pair], methods=["bti"], auto_metrics=True)
    round.status = Status.COMPUTING
    round.save()
    ExplanationFactory(round=round, pair=pair, method="bti")
    with mock.patch(
        "bti_eval.results.tasks.evaluate_auto_chunk.apply_async", side_effect=ConnectionError("redis down")
    ):
        with django_capture_on_commit_callbacks(execute=True):
            services.round_open(round=round)
    row = AutoEvaluation.objects.get(round=round)
    assert row.status == AutoEvaluation.Status.FAILED and "evaluate_auto" in row.error
    assert EvaluationRound.objects.get(pk=round.pk).status == Status.RATING  # opening is not undone
