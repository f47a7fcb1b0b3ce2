"""End to end: a round launched while an automatic-metrics job runs is computed between the job's
chunks, on the demo's single worker (``-Q explain,metrics,default``), not after the whole job.

Each metrics chunk of this worker sleeps a few seconds (tests.faults.slow_worker), so the job takes
far longer than the explanations; the round must open while the job still has chunks to go.
"""

from __future__ import annotations

import pytest

from bti_eval.results import services as results
from bti_eval.results.models import AutoEvaluation
from bti_eval.rounds import services
from bti_eval.rounds.models import EvaluationRound
from tests.factories import ParagraphPairFactory, ResearcherFactory, explained_round
from tests.worker_process import filesystem_broker, publish_to, purge_queues, start_worker, stop, wait_for

METHODS = ["bti", "bti-activations", "bti-gradients", "vanilla-gradients"]
METRICS_DELAY = 4  # seconds per metrics chunk: 4 chunks, 16 s or more for the job


def rated_round(model_dir) -> EvaluationRound:
    """A round open for rating whose explanations were computed here (real payloads)."""
    pairs = [
        ParagraphPairFactory(text_a="Soft wool gloves with touch fingertips.", text_b="Knitted wool gloves."),
        ParagraphPairFactory(text_a="A long viscose dress with a V-neck.", text_b="Maxi dress in soft viscose."),
    ]
    return explained_round(name="measured", pairs=pairs, methods=METHODS, model_dir=model_dir)


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["filesystem", "default"])
@pytest.mark.django_db(transaction=True)
def test_explanations_launched_during_a_metrics_job_do_not_wait_for_the_whole_job(
    broker, tiny_model_dir, tmp_path, monkeypatch
):
    """On the embedded mode's filesystem broker, and on this run's own (Redis when reachable)."""
    from bti_eval.judging.tasks import render_judge_html
    from bti_eval.results.tasks import evaluate_auto_chunk
    from bti_eval.rounds.tasks import explain_chunk

    broker_env: dict[str, str] = {}
    if broker == "filesystem":
        broker_env, options = filesystem_broker(tmp_path / "broker")
        publish_to(monkeypatch, options, explain_chunk, evaluate_auto_chunk, render_judge_html)
    else:
        purge_queues()
    measured = rated_round(tiny_model_dir)
    log = tmp_path / "worker.log"
    worker = start_worker(
        model_dir=tiny_model_dir,
        log=log,
        queues="explain,metrics,default",
        module="tests.faults.slow_worker",
        extra_env={"BTI_TEST_METRICS_DELAY": str(METRICS_DELAY), **broker_env},
    )
    try:
        job, created = results.auto_evaluation_request(round=measured, metrics=["faithfulness"])
        assert created and job.chunks_total == len(METHODS)
        jobs = AutoEvaluation.objects.filter(pk=job.pk)
        wait_for(lambda: jobs.get().status == "running", timeout=120, worker=worker, log=log)

        pair = ParagraphPairFactory(text_a="Slim jeans in washed denim.", text_b="Skinny jeans, stretch denim.")
        new = services.round_create(name="new", pairs=[pair], methods=["bti"], by=ResearcherFactory())
        services.round_launch(round=new)  # one explanation chunk, queued while a metrics chunk runs
        wait_for(
            lambda: EvaluationRound.objects.get(pk=new.pk).status == EvaluationRound.Status.RATING,
            timeout=120,
            worker=worker,
            log=log,
        )
        at_open = jobs.get()
        assert at_open.status == "running" and at_open.chunks_done < at_open.chunks_total, (
            f"the explanations waited for the whole metrics job ({at_open.chunks_done}/{at_open.chunks_total})"
        )
        wait_for(lambda: jobs.get().status == "done", timeout=120, worker=worker, log=log)
    finally:
        stop(worker)
    finished = jobs.get()
    assert finished.chunks_done == finished.chunks_total == len(METHODS)
    assert set(finished.results["methods"]) == set(METHODS)
    assert all(finished.results["methods"][m]["faithfulness"]["pairs"] == 2 for m in METHODS)
