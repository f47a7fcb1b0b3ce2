"""Celery tasks: thin. Ids in, rows re-fetched by the service, JSON arguments only.

``bti_eval.explain_chunk`` is routed to the ``explain`` queue and ``bti_eval.evaluate_auto_chunk``
to ``metrics`` (settings.CELERY_TASK_ROUTES), so GPU workers can take only explanation work
(``celery -A workers worker -Q explain``) and a metrics job never holds up a round's explanations.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task

from bti_eval.rounds.constants import CHUNK_SOFT_TIME_LIMIT, CHUNK_TIME_LIMIT, TRANSIENT_ERRORS
from workers.celery import app, worker_identity  # noqa: F401  (app: configures what shared_task binds to)

logger = logging.getLogger(__name__)
# Every task acknowledges late (settings.CELERY_TASK_ACKS_LATE). A transient error (the database or
# broker going away) is retried with exponential backoff, capped at 5 minutes, jittered.
RETRY_TRANSIENT = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
}


class ExplainChunkTask(Task):
    """Marks a chunk's unfinished rows FAILED when the task finally fails (soft time limit, retries
    exhausted, a bug), so that they show in the round's failures and can be retried from the UI."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        from bti_eval.rounds.services import explanations_fail

        ids = kwargs.get("explanation_ids", args[0] if args else [])
        try:
            explanations_fail(explanation_ids=ids, error=f"{type(exc).__name__}: {exc}")
        except Exception:  # the database may be the reason the task failed
            logger.exception("could not mark explanations %s failed", ids)


@shared_task(
    name="bti_eval.explain_chunk",
    base=ExplainChunkTask,
    bind=True,
    **RETRY_TRANSIENT,
    max_retries=5,
    soft_time_limit=CHUNK_SOFT_TIME_LIMIT,
    time_limit=CHUNK_TIME_LIMIT,
)
def explain_chunk(self, explanation_ids: list[int]) -> dict[str, int]:
    """Compute one chunk: explanations of one round and one method (ids of Explanation rows)."""
    from bti_eval.rounds.compute import explanations_compute

    return explanations_compute(explanation_ids=explanation_ids, worker=worker_identity(self.request.hostname or ""))


AUTO_CHUNK_SOFT_TIME_LIMIT = 60 * 60  # seconds: one metric of one method (sanity explains its sample once)


class AutoEvaluationChunkTask(Task):
    """Marks the job FAILED when a chunk finally fails (time limit, retries exhausted, a bug), so that
    the results page shows the error and a new job can be requested."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        from bti_eval.results.services import auto_evaluation_fail

        job_id = kwargs.get("job_id", args[0] if args else None)
        try:
            auto_evaluation_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        except Exception:
            logger.exception("could not mark automatic-metrics job %s failed", job_id)


@shared_task(
    name="bti_eval.evaluate_auto_chunk",
    base=AutoEvaluationChunkTask,
    bind=True,
    **RETRY_TRANSIENT,
    max_retries=3,
    soft_time_limit=AUTO_CHUNK_SOFT_TIME_LIMIT,
    time_limit=AUTO_CHUNK_SOFT_TIME_LIMIT + 300,
)
def evaluate_auto_chunk(self, job_id: int, index: int) -> str:
    """Compute chunk ``index`` of an automatic-metrics job, then queue the next (``metrics`` queue).

    Idempotent: a chunk already computed (a redelivered message) does nothing.
    """
    from bti_eval.results.services import auto_evaluation_chunk_run

    return auto_evaluation_chunk_run(job_id=job_id, index=index, worker=worker_identity(self.request.hostname or ""))


@shared_task(
    name="bti_eval.render_judge_html",
    **RETRY_TRANSIENT,
    max_retries=5,
)
def render_judge_html(round_id: int) -> int:
    """Render a round's judge HTML once when it opens (``default`` queue: no model needed)."""
    from bti_eval.judging.services.judge_html import round_judge_html_render

    return round_judge_html_render(round_id=round_id)
