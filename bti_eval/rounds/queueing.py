"""Talking to the task broker: a quick reachability check, and enqueueing explanation chunks.

Chunks are ``settings.BTI_CHUNK_SIZE`` explanation ids of ONE round and ONE method, so that a
worker loads the model once and fills its batches.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from bti_eval.core.exceptions import ApplicationError

BROKER_TIMEOUT_SECONDS = 3.0


def broker_check(*, timeout: float = BROKER_TIMEOUT_SECONDS) -> None:
    """Raise ApplicationError(503) unless the Celery broker accepts a connection within ``timeout``."""
    from workers.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    except Exception as exc:  # kombu raises transport-specific errors; all mean "unreachable"
        raise ApplicationError(
            f"The task broker is unreachable ({type(exc).__name__}: {exc}). Start Redis (or check REDIS_URL) "
            "and try again; nothing was changed.",
            status=503,
        ) from exc


def chunk_ids(ids_by_method: dict[str, list[int]], *, size: int | None = None) -> list[list[int]]:
    """Split each method's ids (kept in order) into chunks of ``size`` (default BTI_CHUNK_SIZE)."""
    size = max(1, size or settings.BTI_CHUNK_SIZE)
    return [ids[i : i + size] for ids in ids_by_method.values() for i in range(0, len(ids), size)]


def enqueue_chunks(chunks: Iterable[list[int]]) -> int:
    """Send one ``bti_eval.explain_chunk`` task per chunk (ids only, JSON); returns the count."""
    from workers.tasks import explain_chunk

    count = 0
    for chunk in chunks:
        explain_chunk.delay(chunk)
        count += 1
    return count
