"""The explain_chunk task: its contract (name, queue, acks_late, retries, limits) and thin behaviour."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError

from bti_eval.core.jobs import WORKER_INSTANCE, JobTask
from bti_eval.rounds.constants import CHUNK_SOFT_TIME_LIMIT, CHUNK_TIME_LIMIT
from bti_eval.rounds.models import Explanation
from bti_eval.rounds.tasks import explain_chunk
from tests.factories import ExplanationFactory
from workers.celery import app

COMPUTE = "bti_eval.rounds.compute.explanations_compute"


def test_task_contract():
    assert explain_chunk.name == "bti_eval.explain_chunk"
    assert explain_chunk.acks_late is True and explain_chunk.max_retries == 5
    assert explain_chunk.retry_backoff and OperationalError in explain_chunk.autoretry_for
    assert explain_chunk.soft_time_limit == CHUNK_SOFT_TIME_LIMIT < explain_chunk.time_limit == CHUNK_TIME_LIMIT
    assert app.amqp.router.route({}, explain_chunk.name, args=[[1]], kwargs={})["queue"].name == "explain"
    assert app.conf.task_serializer == "json" and app.conf.worker_prefetch_multiplier == 1


def test_every_task_acknowledges_late():
    """acks_late comes from settings (CELERY_TASK_ACKS_LATE), for every task: a killed worker's task
    goes back to the queue."""
    app.loader.import_default_modules()  # what a worker does as it starts: autodiscovers every app's tasks.py

    tasks = {name: task for name, task in app.tasks.items() if name.startswith("bti_eval.")}
    assert {
        "bti_eval.explain_chunk",
        "bti_eval.evaluate_auto_chunk",
        "bti_eval.render_judge_html",
        "bti_eval.catalog_embed_chunk",
        "bti_eval.catalog_train_recobert",
    } <= set(tasks)
    assert {name for name, task in tasks.items() if task.acks_late is not True} == set()
    # One base for retries and failure marking: every task of the platform is a JobTask.
    assert {name for name, task in tasks.items() if not isinstance(task, JobTask)} == set()


def test_task_passes_ids_to_the_service():
    with mock.patch(COMPUTE, return_value={"done": 2, "failed": 0, "skipped": 0}) as compute:
        result = explain_chunk.apply(args=[[3, 4]])
    assert result.get() == {"done": 2, "failed": 0, "skipped": 0}
    [call] = compute.call_args_list
    assert call.kwargs["explanation_ids"] == [3, 4] and call.kwargs["worker"].endswith(WORKER_INSTANCE)


def test_transient_database_errors_are_retried():
    outcomes = [OperationalError("server closed the connection"), {"done": 1, "failed": 0, "skipped": 0}]
    with mock.patch(COMPUTE, side_effect=outcomes) as compute:
        result = explain_chunk.apply(args=[[1]])
    assert result.successful() and compute.call_count == 2


@pytest.mark.django_db
def test_a_final_failure_marks_the_unfinished_rows_failed():
    pending = ExplanationFactory(status=Explanation.Status.RUNNING, payload=None)
    done = ExplanationFactory(round=pending.round)
    with mock.patch(COMPUTE, side_effect=RuntimeError("CUDA out of memory")) as compute:
        result = explain_chunk.apply(args=[[pending.pk, done.pk]])
    assert result.failed() and compute.call_count == 1  # not a transient error: no retry
    pending.refresh_from_db()
    done.refresh_from_db()
    assert pending.status == Explanation.Status.FAILED and pending.error == "RuntimeError: CUDA out of memory"
    assert done.status == Explanation.Status.DONE


@pytest.mark.django_db
def test_missing_rows_are_skipped_not_retried():
    assert explain_chunk.apply(args=[[987654]]).get() == {"done": 0, "failed": 0, "skipped": 1}


def _catalog_job(kind: str):
    from bti_eval.catalogs.models import Catalog, CatalogJob

    catalog = Catalog.objects.create(name="gloves")
    return CatalogJob.objects.create(catalog=catalog, kind=kind, status=CatalogJob.Status.RUNNING)


def _metrics_job():
    from bti_eval.results.models import AutoEvaluation
    from tests.factories import EvaluationRoundFactory

    round = EvaluationRoundFactory(methods=["bti"])
    return AutoEvaluation.objects.create(
        round=round, status=AutoEvaluation.Status.RUNNING, metrics=["plausibility"], plan=[["plausibility", None]]
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("task_name", "service", "make_job", "args"),
    [
        ("bti_eval.catalog_embed_chunk", "bti_eval.catalogs.services.catalog_embed_chunk_compute",
         lambda: _catalog_job("embed"), lambda job: [job.pk, [1, 2]]),
        ("bti_eval.catalog_train_recobert", "bti_eval.catalogs.services.catalog_train_recobert_run",
         lambda: _catalog_job("train-recobert"), lambda job: [job.pk]),
        ("bti_eval.evaluate_auto_chunk", "bti_eval.results.services.auto_evaluation_chunk_run",
         _metrics_job, lambda job: [job.pk, 0]),
    ],
)  # fmt: skip
def test_every_job_task_marks_its_job_failed_when_it_fails_for_good(task_name, service, make_job, args):
    """A catalog or automatic-metrics job whose task fails for good (not a transient error) shows
    FAILED with the error on its page, instead of running forever; a later failure does not
    overwrite the first error."""
    app.loader.import_default_modules()
    job = make_job()
    with mock.patch(service, side_effect=RuntimeError("CUDA out of memory")) as run:
        result = app.tasks[task_name].apply(args=args(job))
    assert result.failed() and run.call_count == 1
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "RuntimeError: CUDA out of memory")
    with mock.patch(service, side_effect=ValueError("later")):
        app.tasks[task_name].apply(args=args(job))
    job.refresh_from_db()
    assert job.error == "RuntimeError: CUDA out of memory"
