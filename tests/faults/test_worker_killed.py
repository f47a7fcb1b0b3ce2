"""A Celery worker killed with SIGKILL in the middle of an explanation chunk: the chunk's message,
never acknowledged (acks_late), comes back to the queue after the broker's visibility timeout; a new
worker computes it, the round opens, and there is exactly one explanation per (round, pair, method).

Real processes on the real broker (Redis; the filesystem broker of a laptop has no redelivery, so the
test skips there, and CI, which has Redis, runs it). The worker's visibility timeout is shortened to
a few seconds through TEST_BROKER_VISIBILITY_TIMEOUT (settings/test.py), and the chunks go to a queue
of this test's own, so that no other test's worker can take them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Count

from bti_eval.rounds import queueing, services
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import ParagraphPairFactory, ResearcherFactory
from tests.worker_process import start_worker, stop

VISIBILITY_TIMEOUT = 4
EXPLAIN_DELAY = 60  # the first worker would sleep this long in its chunk: it is killed long before


def start_slow_worker(queue: str, model_dir: Path, log: Path, *, delay: float) -> subprocess.Popen:
    return start_worker(
        model_dir=model_dir,
        log=log,
        queues=queue,
        module="tests.faults.slow_worker",
        extra_env={"TEST_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT), "BTI_TEST_EXPLAIN_DELAY": str(delay)},
    )


def wait_for(condition, *, timeout: float, worker: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert worker.poll() is None, f"the worker exited:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"timed out:\n{log.read_text()[-4000:]}"
        time.sleep(0.3)


def delete_queue(queue: str) -> None:
    from workers.celery import app

    with app.connection_for_write() as conn:
        channel = conn.channel()
        channel.queue_delete(queue)
        channel.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_chunk_leaves_its_work_to_the_next_worker(tiny_model_dir, tmp_path, monkeypatch):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run this test on Redis")
        pytest.skip("redelivery after a worker dies needs the Redis broker")
    from workers.tasks import explain_chunk

    queue = f"faults-{uuid.uuid4().hex[:12]}"
    monkeypatch.setattr(
        queueing, "enqueue_chunks", lambda chunks: [explain_chunk.apply_async(args=[c], queue=queue) for c in chunks]
    )
    pairs = [
        ParagraphPairFactory(text_a="Soft wool gloves with touch fingertips.", text_b="Knitted wool gloves."),
        ParagraphPairFactory(text_a="A long viscose dress with a V-neck.", text_b="Maxi dress in soft viscose."),
    ]
    round = services.round_create(name="killed", pairs=pairs, methods=["bti", "tfidf-w2v"], by=ResearcherFactory())
    rows = Explanation.objects.filter(round=round)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_slow_worker(queue, tiny_model_dir, first_log, delay=EXPLAIN_DELAY)
    second = None
    try:
        services.round_launch(round=round)  # two chunks, one per method
        wait_for(
            lambda: rows.filter(status=Explanation.Status.RUNNING).exists(), timeout=120, worker=first, log=first_log
        )
        killed_ids = set(rows.filter(status=Explanation.Status.RUNNING).values_list("id", flat=True))
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)  # mid-explanation: inside the chunk, before anything is stored
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        assert set(rows.filter(status=Explanation.Status.RUNNING).values_list("id", flat=True)) == killed_ids
        assert not rows.filter(status=Explanation.Status.DONE).exists()

        second = start_slow_worker(queue, tiny_model_dir, second_log, delay=0)
        round.refresh_from_db()
        wait_for(
            lambda: EvaluationRound.objects.get(pk=round.pk).status == EvaluationRound.Status.RATING,
            timeout=180,
            worker=second,
            log=second_log,
        )
    finally:
        stop(first)
        if second is not None:
            stop(second)
        delete_queue(queue)

    assert rows.count() == 4
    per_key = rows.values("round", "pair", "method").annotate(n=Count("id"))
    assert {row["n"] for row in per_key} == {1} and len(per_key) == 4
    assert set(rows.values_list("status", flat=True)) == {Explanation.Status.DONE}
    for row in rows:
        assert row.payload["method"] == row.method
        assert row.attempts == (2 if row.id in killed_ids else 1)  # the killed chunk ran again, once
    assert "bti_eval.explain_chunk" in second_log.read_text()
