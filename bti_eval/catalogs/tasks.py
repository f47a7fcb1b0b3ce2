"""Catalog tasks: embed a chunk of items, train RecoBERT. Both are model work, routed to the
``explain`` queue by settings.CELERY_TASK_ROUTES (GPU workers take them with ``-Q explain``)."""

from __future__ import annotations

from celery import shared_task

from bti_eval.core.jobs import JobTask
from bti_eval.rounds.constants import CHUNK_SOFT_TIME_LIMIT, CHUNK_TIME_LIMIT

TRAIN_SOFT_TIME_LIMIT = 6 * 60 * 60


@shared_task(
    name="bti_eval.catalog_embed_chunk",
    base=JobTask,
    fails_job="bti_eval.catalogs.services.catalog_job_fail",
    soft_time_limit=CHUNK_SOFT_TIME_LIMIT,
    time_limit=CHUNK_TIME_LIMIT,
)
def catalog_embed_chunk(job_id: int, item_ids: list[int]) -> int:
    """Embed one chunk of a catalog's items (vectors stored per (item, model))."""
    from bti_eval.catalogs.services import catalog_embed_chunk_compute

    return catalog_embed_chunk_compute(job_id=job_id, item_ids=item_ids)


@shared_task(
    name="bti_eval.catalog_train_recobert",
    base=JobTask,
    fails_job="bti_eval.catalogs.services.catalog_job_fail",
    autoretry_for=(),  # a retry finds its job started and does nothing: fail it instead
    soft_time_limit=TRAIN_SOFT_TIME_LIMIT,
    time_limit=TRAIN_SOFT_TIME_LIMIT + 300,
)
def catalog_train_recobert(job_id: int) -> dict:
    """Train a RecoBERT model on a catalog into settings.VAR_DIR/models/ (a rerun of a started job is a no-op)."""
    from bti_eval.catalogs.services import catalog_train_recobert_run

    return catalog_train_recobert_run(job_id=job_id)
