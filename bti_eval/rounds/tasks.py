"""Round tasks: explain one chunk (one round, one method). Routed to the ``explain`` queue by
settings.CELERY_TASK_ROUTES, so that GPU workers take only explanation work (``-Q explain``)."""

from __future__ import annotations

from celery import shared_task

from bti_eval.core.jobs import JobTask, worker_identity
from bti_eval.rounds.constants import CHUNK_SOFT_TIME_LIMIT, CHUNK_TIME_LIMIT


@shared_task(
    name="bti_eval.explain_chunk",
    base=JobTask,
    bind=True,
    fails_job="bti_eval.rounds.services.explanations_fail",
    soft_time_limit=CHUNK_SOFT_TIME_LIMIT,
    time_limit=CHUNK_TIME_LIMIT,
)
def explain_chunk(self, explanation_ids: list[int]) -> dict[str, int]:
    """Compute one chunk: explanations of one round and one method (ids of Explanation rows). A
    final failure marks the chunk's unfinished rows FAILED, to be retried from the round's page."""
    from bti_eval.rounds.compute import explanations_compute

    return explanations_compute(explanation_ids=explanation_ids, worker=worker_identity(self.request.hostname or ""))
