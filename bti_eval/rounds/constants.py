"""Limits of explanation work, shared by the services and the Celery tasks, and the method name
the platform keeps for itself (no model imports here)."""

from datetime import timedelta

# The method of a round's control items (judging.controls); no imported method may take it.
CONTROL_METHOD = "control"

CHUNK_SOFT_TIME_LIMIT = 30 * 60  # seconds; then the chunk's unfinished rows are marked failed
CHUNK_TIME_LIMIT = CHUNK_SOFT_TIME_LIMIT + 5 * 60  # the worker child is killed
# A RUNNING row older than this was lost with its worker: a retry takes it again.
STALE_RUNNING_AFTER = timedelta(seconds=CHUNK_TIME_LIMIT + 5 * 60)
