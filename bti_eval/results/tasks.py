"""Results tasks: one chunk of an automatic-metrics job, routed to the ``metrics`` queue by
settings.CELERY_TASK_ROUTES so that a metrics job never holds up a round's explanations; and a
closed round's report, computed once into the results cache (``default`` queue: no model)."""

from __future__ import annotations

from celery import shared_task

from bti_eval.core.jobs import JobTask, worker_identity

AUTO_CHUNK_SOFT_TIME_LIMIT = 60 * 60  # seconds: one metric of one method (sanity explains its sample once)


@shared_task(
    name="bti_eval.evaluate_auto_chunk",
    base=JobTask,
    bind=True,
    fails_job="bti_eval.results.services.auto_evaluation_fail",
    max_retries=3,
    soft_time_limit=AUTO_CHUNK_SOFT_TIME_LIMIT,
    time_limit=AUTO_CHUNK_SOFT_TIME_LIMIT + 300,
)
def evaluate_auto_chunk(self, job_id: int, index: int) -> str:
    """Compute chunk ``index`` of an automatic-metrics job, then queue the next.

    Idempotent: a chunk already computed (a redelivered message) does nothing.
    """
    from bti_eval.results.services import auto_evaluation_chunk_run

    return auto_evaluation_chunk_run(job_id=job_id, index=index, worker=worker_identity(self.request.hostname or ""))


@shared_task(name="bti_eval.results_report_compute", base=JobTask, max_retries=3)
def report_compute(round_id: int) -> bool:
    """Compute and cache a closed round's report; False when the round is gone or not closed."""
    from bti_eval.results.services import round_report_prepare

    return round_report_prepare(round_id=round_id)
