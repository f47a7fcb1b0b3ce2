"""Explanation chunks (enqueued by ``core.jobs.enqueue``).

Chunks are ``settings.BTI_CHUNK_SIZE`` explanation ids of ONE round and ONE method, so that a
worker loads the model once and fills its batches.
"""

from __future__ import annotations

from django.conf import settings


def chunk_ids(ids_by_method: dict[str, list[int]], *, size: int | None = None) -> list[list[int]]:
    """Split each method's ids (kept in order) into chunks of ``size`` (default BTI_CHUNK_SIZE)."""
    size = max(1, size or settings.BTI_CHUNK_SIZE)
    return [ids[i : i + size] for ids in ids_by_method.values() for i in range(0, len(ids), size)]
