"""Celery tasks of corpora: thin. Ids in, rows re-fetched by the service. The services send both to
the ``explain`` queue (model work: GPU workers take them with ``-Q explain``)."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from bti_eval.rounds.constants import CHUNK_SOFT_TIME_LIMIT, CHUNK_TIME_LIMIT, TRANSIENT_ERRORS
from workers.celery import app  # noqa: F401  (configures the app that shared_task binds to)

logger = logging.getLogger(__name__)
TRAIN_SOFT_TIME_LIMIT = 6 * 60 * 60


class CorpusJobTask(Task):
    """Marks the job FAILED when the task finally fails, so the page shows it instead of spinning."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        from bti_eval.corpora.services import corpus_job_fail

        job_id = kwargs.get("job_id", args[0] if args else None)
        try:
            corpus_job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        except Exception:
            logger.exception("could not mark corpus job %s failed", job_id)


@shared_task(
    name="bti_eval.corpus_embed_chunk",
    base=CorpusJobTask,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=CHUNK_SOFT_TIME_LIMIT,
    time_limit=CHUNK_TIME_LIMIT,
)
def corpus_embed_chunk(job_id: int, item_ids: list[int]) -> int:
    """Embed one chunk of a corpus's items (vectors stored per (item, model))."""
    from bti_eval.corpora.services import corpus_embed_chunk_compute

    return corpus_embed_chunk_compute(job_id=job_id, item_ids=item_ids)


@shared_task(
    name="bti_eval.corpus_train_recobert",
    base=CorpusJobTask,
    soft_time_limit=TRAIN_SOFT_TIME_LIMIT,
    time_limit=TRAIN_SOFT_TIME_LIMIT + 300,
)
def corpus_train_recobert(job_id: int) -> dict:
    """Train a RecoBERT model on a corpus into settings.VAR_DIR/models/ (a rerun of a started job is a no-op)."""
    from bti_eval.corpora.services import recobert_train_run

    return recobert_train_run(job_id=job_id)
