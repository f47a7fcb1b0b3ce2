"""Work lost with a killed worker: a starting worker takes back the running explanations and
automatic-metrics jobs whose recorded worker is gone, and leaves the others alone."""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import pytest

from bti_eval.core.jobs import WORKER_INSTANCE, worker_identity
from bti_eval.results.models import AutoEvaluation
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import EvaluationRoundFactory, ExplanationFactory
from workers.celery import recover_lost_work, worker_is_gone

RUNNING = Explanation.Status.RUNNING
ME = worker_identity("w1@host")


def test_a_worker_tells_a_dead_worker_from_a_live_one():
    assert worker_identity("w1@host") == f"w1@host {WORKER_INSTANCE}"
    assert worker_is_gone("w1@host 0123abcd", me=ME, ping=lambda node: True)  # a previous run of this node
    assert not worker_is_gone(ME, me=ME, ping=lambda node: False)  # itself
    assert not worker_is_gone("", me=ME, ping=lambda node: False)  # unknown: left to the stale rule
    assert not worker_is_gone("w2@other 0123abcd", me=ME, ping=lambda node: node == "w2@other")  # answers
    assert worker_is_gone("w2@other 0123abcd", me=ME, ping=lambda node: False)  # does not answer


@pytest.mark.django_db
def test_running_explanations_of_a_dead_worker_are_queued_again(enqueued, django_capture_on_commit_callbacks):
    round = EvaluationRoundFactory(status=EvaluationRound.Status.COMPUTING, methods=["bti", "tfidf-w2v"])
    lost = [
        ExplanationFactory(round=round, method=m, status=RUNNING, payload=None, worker="dead@host 1")
        for m in ("bti", "bti", "tfidf-w2v")
    ]
    alive = ExplanationFactory(round=round, status=RUNNING, payload=None, worker="alive@host 2")
    unknown = ExplanationFactory(round=round, status=RUNNING, payload=None, worker="")
    done = ExplanationFactory(round=round, worker="dead@host 1")
    closed = EvaluationRoundFactory(status=EvaluationRound.Status.CLOSED)
    other = ExplanationFactory(round=closed, status=RUNNING, payload=None, worker="dead@host 1")
    with django_capture_on_commit_callbacks(execute=True):
        recover_lost_work(sender=SimpleNamespace(hostname="new@host"))  # the worker_ready signal's receiver
    assert sorted(args[0] for name, args, queue in enqueued if name == "bti_eval.explain_chunk") == sorted(
        [[lost[0].pk, lost[1].pk], [lost[2].pk]]
    )
    for row in lost:
        row.refresh_from_db()
        assert row.status == Explanation.Status.PENDING and row.worker == ""
    for row, status in ((alive, RUNNING), (unknown, RUNNING), (done, Explanation.Status.DONE), (other, RUNNING)):
        row.refresh_from_db()
        assert row.status == status


@pytest.fixture(autouse=True)
def _ping():
    """Celery's control ping, answered by the nodes named alive."""
    with mock.patch("workers.celery._ping", side_effect=lambda node: node.startswith("alive")) as ping:
        yield ping


@pytest.mark.django_db
def test_a_running_metrics_job_of_a_dead_worker_gets_its_next_chunk_again(enqueued, django_capture_on_commit_callbacks):
    round = EvaluationRoundFactory(status=EvaluationRound.Status.RATING)
    plan = [["plausibility", None], ["faithfulness", "bti"], ["sanity", "bti"]]
    lost = AutoEvaluation.objects.create(round=round, status="running", plan=plan, chunks_done=1, worker="dead@h 1")
    AutoEvaluation.objects.create(round=EvaluationRoundFactory(), status="running", plan=plan, worker="alive@h 2")
    with django_capture_on_commit_callbacks(execute=True):
        recover_lost_work(sender=SimpleNamespace(hostname="new@host"))
    assert enqueued == [("bti_eval.evaluate_auto_chunk", [lost.pk, 1], "metrics")]


@pytest.mark.django_db
def test_recovery_never_keeps_a_worker_from_starting(caplog):
    with mock.patch("bti_eval.rounds.services.explanations_recover_lost", side_effect=RuntimeError("db down")):
        recover_lost_work(sender=SimpleNamespace(hostname="new@host"))
    assert "could not recover" in caplog.text
