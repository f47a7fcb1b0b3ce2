"""Limits of explanation work, shared by the services and the Celery tasks (no model imports here)."""

from datetime import timedelta

CHUNK_SOFT_TIME_LIMIT = 30 * 60  # seconds; then the chunk's unfinished rows are marked failed
CHUNK_TIME_LIMIT = CHUNK_SOFT_TIME_LIMIT + 5 * 60  # the worker child is killed
# A RUNNING row older than this was lost with its worker: a retry takes it again.
STALE_RUNNING_AFTER = timedelta(seconds=CHUNK_TIME_LIMIT + 5 * 60)
