"""End to end: a real Celery worker process computes a launched round and opens it.

The broker is Redis when reachable (always in CI), else the filesystem broker of settings/test.py;
the worker shares this test's database (TEST_DB_NAME_OVERRIDE) and broker folder (TEST_BROKER_DIR).
"""

from __future__ import annotations

import pytest

from bti_eval.rounds import services
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import JudgeFactory, ResearcherFactory, gloves_and_dress_pairs
from tests.worker_process import purge_queues, running_worker, wait_while_computing


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_the_round_and_opens_it(tiny_model_dir, tmp_path):
    purge_queues()
    pairs = gloves_and_dress_pairs()
    round = services.round_create(name="e2e", pairs=pairs, methods=["bti", "tfidf-w2v"], by=ResearcherFactory())
    judge = JudgeFactory(round=round)
    log = tmp_path / "worker.log"
    with running_worker(model_dir=tiny_model_dir, log=log) as worker:
        services.round_launch(round=round)  # commits, then enqueues 2 chunks (one per method)
        wait_while_computing(round, worker, log)

    rows = Explanation.objects.filter(round=round)
    assert round.status == EvaluationRound.Status.RATING, f"round still {round.status}:\n{log.read_text()[-4000:]}"
    assert rows.count() == 4
    assert set(rows.values_list("status", flat=True)) == {Explanation.Status.DONE}
    for row in rows:
        assert row.payload["method"] == row.method and row.payload["model"] == tiny_model_dir.name
        assert row.attempts == 1
    assert judge.assignments.count() == 4  # the worker's round_open built the judge's assignments
    assert "bti_eval.explain_chunk" in log.read_text()
