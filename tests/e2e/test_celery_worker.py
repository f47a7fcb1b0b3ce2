"""End to end: a real Celery worker process computes a launched round and opens it.

The broker is Redis when reachable (always in CI), else the filesystem broker of settings/test.py;
the worker shares this test's database (TEST_DB_NAME_OVERRIDE) and broker folder (TEST_BROKER_DIR).
"""

from __future__ import annotations

import time

import pytest

from bti_eval.rounds import services
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import JudgeFactory, ParagraphPairFactory, ResearcherFactory
from tests.worker_process import start_worker, stop

TIMEOUT_SECONDS = 240


def purge_queues() -> None:
    """Drop messages a previous run may have left on the shared broker."""
    from workers.celery import app

    with app.connection_for_write() as conn:
        channel = conn.channel()
        for queue in ("explain", "metrics", "default"):
            try:
                channel.queue_purge(queue)
            except Exception:  # the queue does not exist yet
                pass
        channel.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_the_round_and_opens_it(tiny_model_dir, tmp_path):
    purge_queues()
    pairs = [
        ParagraphPairFactory(
            text_a="Soft wool gloves with touchscreen fingertips.",
            text_b="Knitted wool gloves that work with touchscreens.",
        ),
        ParagraphPairFactory(text_a="A long viscose dress with a V-neck.", text_b="Maxi dress in soft viscose."),
    ]
    round = services.round_create(name="e2e", pairs=pairs, methods=["bti", "tfidf-w2v"], by=ResearcherFactory())
    judge = JudgeFactory(round=round)
    log = tmp_path / "worker.log"
    worker = start_worker(model_dir=tiny_model_dir, log=log, queues="explain,default")
    try:
        services.round_launch(round=round)  # commits, then enqueues 2 chunks (one per method)
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            round.refresh_from_db()
            if round.status == EvaluationRound.Status.RATING:
                break
            assert worker.poll() is None, f"the worker exited:\n{log.read_text()[-4000:]}"
            time.sleep(1)
    finally:
        stop(worker)

    rows = Explanation.objects.filter(round=round)
    assert round.status == EvaluationRound.Status.RATING, f"round still {round.status}:\n{log.read_text()[-4000:]}"
    assert rows.count() == 4
    assert set(rows.values_list("status", flat=True)) == {Explanation.Status.DONE}
    for row in rows:
        assert row.payload["method"] == row.method and row.payload["model"] == tiny_model_dir.name
        assert row.attempts == 1
    assert judge.assignments.count() == 4  # the worker's round_open built the judge's assignments
    assert "bti_eval.explain_chunk" in log.read_text()
