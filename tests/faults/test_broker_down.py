"""The task broker down when a researcher launches a round: a clear error, the round still a draft with
nothing written; when the broker is back, the same launch goes through. Also when the broker dies
between the check and the publish (after the commit): the round is put back to a draft."""

from __future__ import annotations

import pytest
from django.test import Client

from bti_eval.core import jobs
from bti_eval.rounds.models import EvaluationRound, Explanation
from bti_eval.rounds.tasks import explain_chunk
from tests.factories import EvaluationRoundFactory, ParagraphPairFactory, ResearcherFactory

Status = EvaluationRound.Status
DEAD_BROKER = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


@pytest.fixture
def draft(transactional_db):
    round = EvaluationRoundFactory(methods=["bti", "tfidf-w2v"])
    round.pairs.add(*ParagraphPairFactory.create_batch(3))
    return round


@pytest.fixture
def researcher():
    client = Client()
    client.force_login(ResearcherFactory())
    return client


@pytest.fixture
def queued(monkeypatch):
    """Chunks the launch publishes, recorded instead of sent (the broker itself is not under test here)."""
    sent: list[list[int]] = []
    monkeypatch.setattr(explain_chunk, "apply_async", lambda args, **options: sent.append(args[0]))
    return sent


def test_launch_with_the_broker_down_is_a_clear_error_and_no_half_launched_round(
    draft, researcher, queued, monkeypatch
):
    from workers.celery import app

    monkeypatch.setattr(app.conf, "broker_write_url", DEAD_BROKER)
    page = researcher.post(f"/rounds/{draft.pk}/launch/", follow=True)
    assert page.status_code == 200
    assert "The task broker is unreachable" in page.content.decode() and "nothing was changed" in page.content.decode()
    api = researcher.post(f"/api/rounds/{draft.pk}/launch/")
    assert api.status_code == 503 and "Start Redis" in api.json()["message"]
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT and draft.launched_at is None
    assert not Explanation.objects.exists() and queued == []

    monkeypatch.undo()  # the broker is back (and enqueueing recorded again)
    monkeypatch.setattr(jobs, "broker_check", lambda **kwargs: None)
    monkeypatch.setattr(explain_chunk, "apply_async", lambda args, **options: queued.append(args[0]))
    again = researcher.post(f"/api/rounds/{draft.pk}/launch/")
    assert again.status_code == 202 and again.json()["status"] == Status.COMPUTING
    assert Explanation.objects.filter(round=draft).count() == 6
    assert sorted(i for chunk in queued for i in chunk) == sorted(Explanation.objects.values_list("id", flat=True))


def test_a_broker_lost_between_the_check_and_the_publish_puts_the_round_back_to_draft(draft, researcher, monkeypatch):
    from kombu.exceptions import OperationalError as BrokerError

    def publish_fails(args, **options):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(jobs, "broker_check", lambda **kwargs: None)
    monkeypatch.setattr(explain_chunk, "apply_async", publish_fails)
    api = researcher.post(f"/api/rounds/{draft.pk}/launch/")
    assert api.status_code == 503
    assert "The round is a draft again" in api.json()["message"]
    page = researcher.post(f"/rounds/{draft.pk}/launch/", follow=True)
    assert "The round is a draft again" in page.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT and draft.launched_at is None
    assert not Explanation.objects.exists()
