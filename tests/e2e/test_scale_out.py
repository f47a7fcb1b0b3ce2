"""Scale-out: two real Celery workers with distinct node names (``-n``) on one Redis share one round,
and every (round, pair, method) is computed once.

Why both workers take work on every run, not by luck:

- both workers log ``ready`` (they consume ``explain``) before the round is launched;
- the round is 12 chunks of one pair (BTI_CHUNK_SIZE = 1), and every chunk takes at least
  ``DELAY`` seconds (``tests.faults.slow_worker`` sleeps before explaining);
- a worker holds one chunk at a time: concurrency 1, ``worker_prefetch_multiplier = 1`` and
  ``acks_late`` (settings), so it reserves the next message only after finishing the last.

The workers run the prefork pool, as production's do (its main process answers other workers'
pings while a child computes; see workers.celery.worker_is_gone).

So while the first worker to get a message sits on its chunk for at least ``DELAY`` seconds, the 11
other chunks wait in Redis, and the other worker, blocked in its BRPOP on the same list, is handed
the next one. One worker taking all 12 chunks would need 12 × ``DELAY`` seconds during which the
other, ready and idle, got none: Redis does not do that.

On the filesystem broker (no Redis) the test skips: the embedded mode runs one worker by design.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

from bti_eval.rounds import services
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import JudgeFactory, ParagraphPairFactory, ResearcherFactory
from tests.worker_process import TIMEOUT_SECONDS, purge_queues, start_worker, stop, wait_ready

PAIRS, METHODS = 6, ["bti", "vanilla-gradients"]  # 12 chunks of one pair
DELAY = "0.5"  # seconds each chunk takes at least


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_share_a_round_and_compute_each_explanation_once(tiny_model_dir, tmp_path, settings):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("scale-out needs Redis (the filesystem broker of the embedded mode serves one worker)")
    settings.BTI_CHUNK_SIZE = 1  # read by round_launch, here
    purge_queues()
    round = services.round_create(
        name="scale-out", pairs=ParagraphPairFactory.create_batch(PAIRS), methods=METHODS, by=ResearcherFactory()
    )
    judge = JudgeFactory(round=round)
    nodes = [f"scale-{side}-{uuid.uuid4().hex[:8]}" for side in "ab"]
    logs = {node: tmp_path / f"{node}.log" for node in nodes}
    workers = [
        start_worker(
            model_dir=tiny_model_dir,
            log=logs[node],
            queues="explain,default",
            module="tests.faults.slow_worker",
            extra_env={"BTI_TEST_EXPLAIN_DELAY": DELAY},
            node=node,
            pool="prefork",
        )
        for node in nodes
    ]
    try:
        wait_ready([(worker, logs[node], node) for worker, node in zip(workers, nodes, strict=True)])
        services.round_launch(round=round)  # commits, then enqueues 12 chunks
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            round.refresh_from_db()
            if round.status == EvaluationRound.Status.RATING:
                break
            assert all(w.poll() is None for w in workers), "a worker exited:\n" + tail(logs)
            time.sleep(0.5)
    finally:
        for worker in workers:
            stop(worker)

    assert round.status == EvaluationRound.Status.RATING, f"round still {round.status}:\n{tail(logs)}"
    rows = list(Explanation.objects.filter(round=round))
    assert sorted((r.pair_id, r.method) for r in rows) == sorted(
        {(p, m) for p in round.pairs.values_list("id", flat=True) for m in METHODS}
    )  # exactly one row per (round, pair, method)
    assert {r.status for r in rows} == {Explanation.Status.DONE}
    assert [r.attempts for r in rows] == [1] * len(rows)  # no chunk computed twice
    node_names = {r.worker.rpartition(" ")[0].partition("@")[0] for r in rows}
    assert node_names == set(nodes), f"explanations per node: {node_names}\n{tail(logs)}"
    succeeded = {
        node: len(re.findall(r"bti_eval\.explain_chunk\[[^\]]+\] succeeded", logs[node].read_text())) for node in nodes
    }
    assert sum(succeeded.values()) == PAIRS * len(METHODS) and min(succeeded.values()) >= 1, succeeded
    assert judge.assignments.count() == PAIRS * len(METHODS)  # the round opened once, whoever finished last


def tail(logs: dict) -> str:
    return "\n".join(f"--- {node}\n{log.read_text(errors='replace')[-2000:]}" for node, log in logs.items())
