"""Enqueueing explanation chunks.

Chunks are ``settings.BTI_CHUNK_SIZE`` explanation ids of ONE round and ONE method, so that a
worker loads the model once and fills its batches.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings


def chunk_ids(ids_by_method: dict[str, list[int]], *, size: int | None = None) -> list[list[int]]:
    """Split each method's ids (kept in order) into chunks of ``size`` (default BTI_CHUNK_SIZE)."""
    size = max(1, size or settings.BTI_CHUNK_SIZE)
    return [ids[i : i + size] for ids in ids_by_method.values() for i in range(0, len(ids), size)]


def enqueue_chunks(chunks: Iterable[list[int]]) -> int:
    """Send one ``bti_eval.explain_chunk`` task per chunk (ids only, JSON); returns the count."""
    from bti_eval.rounds.tasks import explain_chunk

    count = 0
    for chunk in chunks:
        explain_chunk.delay(chunk)
        count += 1
    return count
