"""A Celery worker killed with SIGKILL in the middle of an explanation chunk: a new worker, as it
starts, takes the chunk back (its rows name a worker that is gone), computes it, the round opens, and
there is exactly one explanation per (round, pair, method). No manual step and no wait for a stale
threshold or a visibility timeout.

Real processes, on both brokers: kombu's filesystem broker (the embedded mode's, which never
redelivers the message of a killed worker) and Redis (whose visibility timeout stays at its hour
here, so that only the recovery can explain a quick finish). The filesystem variant runs even when
Redis is up: its workers get an unreachable TEST_REDIS_URL and a broker folder of this test's own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Count

from bti_eval.rounds import services
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import ParagraphPairFactory, ResearcherFactory
from tests.worker_process import filesystem_broker, publish_to, start_worker, stop, wait_for

EXPLAIN_DELAY = 60  # the first worker would sleep this long in its chunk: it is killed long before
RECOVERY_TIMEOUT = 180  # seconds for the second worker to finish the round; far below 40 min or 1 h


def start_slow_worker(model_dir: Path, log: Path, *, delay: float, broker_env: dict[str, str]) -> subprocess.Popen:
    return start_worker(
        model_dir=model_dir,
        log=log,
        queues="explain,metrics,default",
        module="tests.faults.slow_worker",
        extra_env={"BTI_TEST_EXPLAIN_DELAY": str(delay), **broker_env},
    )


def redis_broker():
    """The test run's Redis, emptied of this module's queues (and of killed workers' unacked
    messages, which would otherwise come back an hour later)."""
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run this test on Redis")
        pytest.skip("Redis is not reachable")
    from workers.celery import app

    def clean() -> None:
        with app.connection_for_write() as conn:
            channel = conn.channel()
            for queue in ("explain", "metrics", "default"):
                channel.queue_purge(queue)
            channel.client.delete("unacked", "unacked_index")
            channel.close()

    return {}, clean


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["filesystem", "redis"])
@pytest.mark.django_db(transaction=True)
def test_a_new_worker_takes_back_the_chunk_of_a_killed_worker(broker, tiny_model_dir, tmp_path, monkeypatch):
    from bti_eval.rounds.tasks import explain_chunk

    if broker == "filesystem":
        broker_env, fs_options = filesystem_broker(tmp_path / "broker")
        publish_to(monkeypatch, fs_options, explain_chunk)  # this process publishes to the workers' folder
        clean = lambda: None  # noqa: E731
    else:
        broker_env, clean = redis_broker()
    clean()
    pairs = [
        ParagraphPairFactory(text_a="Soft wool gloves with touch fingertips.", text_b="Knitted wool gloves."),
        ParagraphPairFactory(text_a="A long viscose dress with a V-neck.", text_b="Maxi dress in soft viscose."),
    ]
    round = services.round_create(name="killed", pairs=pairs, methods=["bti", "tfidf-w2v"], by=ResearcherFactory())
    rows = Explanation.objects.filter(round=round)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_slow_worker(tiny_model_dir, first_log, delay=EXPLAIN_DELAY, broker_env=broker_env)
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

        started = time.monotonic()
        second = start_slow_worker(tiny_model_dir, second_log, delay=0, broker_env=broker_env)
        wait_for(
            lambda: EvaluationRound.objects.get(pk=round.pk).status == EvaluationRound.Status.RATING,
            timeout=RECOVERY_TIMEOUT,
            worker=second,
            log=second_log,
        )
        assert time.monotonic() - started < RECOVERY_TIMEOUT
    finally:
        stop(first)
        if second is not None:
            stop(second)
        clean()

    assert rows.count() == 4
    per_key = rows.values("round", "pair", "method").annotate(n=Count("id"))
    assert {row["n"] for row in per_key} == {1} and len(per_key) == 4
    assert set(rows.values_list("status", flat=True)) == {Explanation.Status.DONE}
    for row in rows:
        assert row.payload["method"] == row.method
        assert row.attempts == (2 if row.id in killed_ids else 1)  # the killed chunk ran again, once
    log = second_log.read_text()
    assert "took back" in log and "bti_eval.explain_chunk" in log
