"""End to end with a real worker: a pairwise round is launched, a real Celery worker process
computes its explanations with a tiny model and opens it, the judge's pairwise items are built,
the judge chooses, and the results are Bradley–Terry strengths (the broker and the worker as in
tests/e2e/test_celery_worker.py)."""

from __future__ import annotations

import pytest

from bti_eval.judging.services.ratings import rating_submit
from bti_eval.results.report import round_report
from bti_eval.rounds import services
from bti_eval.rounds.models import EvaluationRound
from tests.factories import JudgeFactory, ResearcherFactory, gloves_and_dress_pairs
from tests.worker_process import purge_queues, running_worker, wait_while_computing

METHODS = ["bti", "tfidf-w2v", "vanilla-gradients"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_a_pairwise_round_that_ends_in_bradley_terry_results(tiny_model_dir, tmp_path):
    purge_queues()
    pairs = gloves_and_dress_pairs()
    round = services.round_create(
        name="pairwise e2e", pairs=pairs, methods=METHODS, design="pairwise", by=ResearcherFactory()
    )
    judge = JudgeFactory(round=round)
    log = tmp_path / "worker.log"
    with running_worker(model_dir=tiny_model_dir, log=log) as worker:
        services.round_launch(round=round)
        wait_while_computing(round, worker, log)
    assert round.status == EvaluationRound.Status.RATING, f"round still {round.status}:\n{log.read_text()[-4000:]}"

    items = list(judge.assignments.select_related("explanation", "right_explanation").order_by("position"))
    assert len(items) == 2 * 3 and all(item.right_explanation is not None for item in items)  # built by the worker
    for item in items:  # this judge prefers the methods in the round's order
        left, right = item.explanation.method, item.right_explanation.method
        choice = "left" if METHODS.index(left) < METHODS.index(right) else "right"
        rating_submit(judge=judge, public_id=item.public_id, score=None, choice=choice, seconds=3)
    services.round_close(round=round)
    report = round_report(round=round, use_cache=False)
    assert report["kind"] == "pairwise" and report["final"]
    assert [row["method"] for row in report["methods"]] == METHODS
    assert report["pairwise"]["judgements"] == 6 and report["pairwise"]["pairs"] == 2
