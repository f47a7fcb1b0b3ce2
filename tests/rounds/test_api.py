"""Rounds API: create/list, detail, launch, progress, retry/drop, open, close; 409s and permissions."""

from __future__ import annotations

import pytest

from bti_eval.rounds.models import EvaluationRound, Explanation, default_methods
from tests.factories import EvaluationRoundFactory, ExplanationFactory, JudgeFactory, ParagraphPairFactory

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status


def test_create_with_pair_ids_defaults_to_seven_methods(researcher_api_client):
    pairs = ParagraphPairFactory.create_batch(2)
    response = researcher_api_client.post("/api/rounds/", {"name": "r", "pairs": [p.pk for p in pairs]}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["methods"] == default_methods() and body["status"] == "draft" and body["pair_count"] == 2


def test_create_from_a_source(researcher_api_client):
    ParagraphPairFactory.create_batch(3, source="wine")
    ParagraphPairFactory(source="other")
    data = {"name": "w", "source": "wine", "methods": ["bti"], "top_k": 3}
    body = researcher_api_client.post("/api/rounds/", data, format="json").json()
    assert body["pair_count"] == 3 and body["top_k"] == 3


def test_create_and_read_the_row_budget_shown_to_judges(researcher_api_client):
    pair = ParagraphPairFactory()
    body = researcher_api_client.post("/api/rounds/", {"name": "r", "pairs": [pair.pk]}, format="json").json()
    assert body["pairs_shown"] == 2 and body["top_k"] == 2
    data = {"name": "r4", "pairs": [pair.pk], "pairs_shown": 4}
    body = researcher_api_client.post("/api/rounds/", data, format="json").json()
    assert body["pairs_shown"] == 4
    assert researcher_api_client.get(f"/api/rounds/{body['id']}/").json()["pairs_shown"] == 4
    for bad in (0, 51, "many"):
        response = researcher_api_client.post("/api/rounds/", {**data, "pairs_shown": bad}, format="json")
        assert response.status_code == 400 and "pairs_shown" in str(response.json()["extra"]), bad
    schema = researcher_api_client.get("/api/schema/?format=json").json()
    fields = schema["components"]["schemas"]["RoundListCreateApiInputRequest"]["properties"]
    assert "MeanShift clusters" in fields["top_k"]["description"]
    assert fields["pairs_shown"]["maximum"] == 50 and "same for every method" in fields["pairs_shown"]["description"]


def test_create_and_read_the_encoder_options(researcher_api_client):
    pair = ParagraphPairFactory()
    body = researcher_api_client.post("/api/rounds/", {"name": "r", "pairs": [pair.pk]}, format="json").json()
    assert (body["dtype"], body["pooling"]) == ("fp32", "")
    data = {"name": "r2", "pairs": [pair.pk], "dtype": "bf16", "pooling": "mean-sqrt-len"}
    body = researcher_api_client.post("/api/rounds/", data, format="json").json()
    detail = researcher_api_client.get(f"/api/rounds/{body['id']}/").json()
    assert (detail["dtype"], detail["pooling"]) == ("bf16", "mean-sqrt-len")
    for field, bad, message in (
        ("dtype", "int8", '"int8" is not a dtype: use fp32, bf16, fp16.'),
        ("pooling", "weighted", '"weighted" is not a pooling: use mean, cls, max, mean-sqrt-len, or leave it empty.'),
    ):
        response = researcher_api_client.post("/api/rounds/", {**data, field: bad}, format="json")
        assert response.status_code == 400
        assert response.json()["extra"]["fields"][field] == [message]
    schema = researcher_api_client.get("/api/schema/?format=json").json()
    fields = schema["components"]["schemas"]["RoundListCreateApiInputRequest"]["properties"]
    assert "the model's own" in fields["pooling"]["description"] and "bf16" in fields["dtype"]["description"]


def test_create_needs_exactly_one_pair_selection(researcher_api_client):
    response = researcher_api_client.post("/api/rounds/", {"name": "r"}, format="json")
    assert response.status_code == 400 and "exactly one of" in str(response.json()["extra"])


def test_create_with_an_unknown_method_is_400(researcher_api_client):
    pair = ParagraphPairFactory()
    response = researcher_api_client.post(
        "/api/rounds/", {"name": "r", "pairs": [pair.pk], "methods": ["nope"]}, format="json"
    )
    assert response.status_code == 400 and "Unknown method" in response.json()["message"]


def test_list_and_detail(researcher_api_client):
    round = EvaluationRoundFactory(name="listed")
    assert researcher_api_client.get("/api/rounds/").json()["results"][0]["name"] == "listed"
    assert researcher_api_client.get(f"/api/rounds/{round.pk}/").json()["id"] == round.pk
    assert researcher_api_client.get("/api/rounds/999999/").status_code == 404


def test_launch_progress_and_invalid_transitions(researcher_api_client, published, django_capture_on_commit_callbacks):
    round = EvaluationRoundFactory(methods=["bti", "tfidf-w2v"])
    round.pairs.add(*ParagraphPairFactory.create_batch(2))
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_api_client.post(f"/api/rounds/{round.pk}/launch/")
    assert response.status_code == 202 and response.json()["status"] == "computing"
    assert len(published) == 2

    progress = researcher_api_client.get(f"/api/rounds/{round.pk}/progress/").json()
    assert (progress["total"], progress["pending"], progress["can_open"]) == (4, 4, False)
    assert set(progress["per_method"]) == {"bti", "tfidf-w2v"}

    again = researcher_api_client.post(f"/api/rounds/{round.pk}/launch/")
    assert again.status_code == 409 and "only a draft round" in again.json()["message"]
    opened = researcher_api_client.post(f"/api/rounds/{round.pk}/open/")
    assert opened.status_code == 409 and "not done" in opened.json()["message"]
    assert researcher_api_client.post(f"/api/rounds/{round.pk}/close/").status_code == 409


def test_retry_drop_open_close(researcher_api_client, published, django_capture_on_commit_callbacks):
    round = EvaluationRoundFactory(status=Status.COMPUTING, methods=["bti"])
    ExplanationFactory(round=round)
    ExplanationFactory(round=round, status=Explanation.Status.FAILED, payload=None, error="oops")
    with django_capture_on_commit_callbacks(execute=True):
        retried = researcher_api_client.post(f"/api/rounds/{round.pk}/retry-failed/")
    assert retried.status_code == 202 and retried.json() == {"retried": 1}
    assert len(published) == 1
    Explanation.objects.filter(status=Explanation.Status.PENDING).update(status=Explanation.Status.FAILED)

    dropped = researcher_api_client.post(f"/api/rounds/{round.pk}/drop-failed/")
    assert dropped.json() == {"dropped": 1, "opened": True}
    assert researcher_api_client.post(f"/api/rounds/{round.pk}/open/").status_code == 409  # already rating
    closed = researcher_api_client.post(f"/api/rounds/{round.pk}/close/")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_open_when_everything_is_done(researcher_api_client):
    round = EvaluationRoundFactory(status=Status.COMPUTING, methods=["bti"])
    ExplanationFactory(round=round)
    response = researcher_api_client.post(f"/api/rounds/{round.pk}/open/")
    assert response.status_code == 200 and response.json()["status"] == "rating"


def test_launch_with_the_broker_down_is_503_and_keeps_the_draft(researcher_api_client, published, monkeypatch):
    from workers.celery import app

    monkeypatch.setattr(app.conf, "broker_write_url", "redis://127.0.0.1:9/0")
    round = EvaluationRoundFactory(methods=["bti"])
    round.pairs.add(ParagraphPairFactory())
    response = researcher_api_client.post(f"/api/rounds/{round.pk}/launch/")
    assert response.status_code == 503 and "broker is unreachable" in response.json()["message"]
    round.refresh_from_db()
    assert round.status == Status.DRAFT and not Explanation.objects.exists()


ENDPOINTS = [
    ("get", "/api/rounds/"),
    ("post", "/api/rounds/"),
    ("get", "/api/rounds/{id}/"),
    ("post", "/api/rounds/{id}/launch/"),
    ("get", "/api/rounds/{id}/progress/"),
    ("post", "/api/rounds/{id}/retry-failed/"),
    ("post", "/api/rounds/{id}/drop-failed/"),
    ("post", "/api/rounds/{id}/open/"),
    ("post", "/api/rounds/{id}/close/"),
    ("get", "/api/rounds/{id}/results/"),
    ("get", "/api/rounds/{id}/export/?format=csv"),
    ("get", "/api/pairs/"),
    ("post", "/api/pairs/import/"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_researcher_endpoints_refuse_anonymous_and_judges(api_client, method, url):
    round = EvaluationRoundFactory()
    judge = JudgeFactory(round=round)
    url = url.format(id=round.pk)
    assert getattr(api_client, method)(url).status_code in (401, 403)
    api_client.force_authenticate(judge.user)
    response = getattr(api_client, method)(url)
    assert response.status_code == 403 and "researchers only" in response.json()["message"]
    round.refresh_from_db()
    assert round.status == Status.DRAFT


@pytest.mark.parametrize(("method", "url"), [e for e in ENDPOINTS if e[0] == "get"])
def test_researchers_may_read(researcher_api_client, method, url):
    round = EvaluationRoundFactory()
    assert researcher_api_client.get(url.format(id=round.pk)).status_code == 200
