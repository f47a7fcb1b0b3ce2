"""Background jobs: the one way work is enqueued (``enqueue``), the base of every Celery task, the
broker's reachability, and the identity of the worker process running a job.

A job's row (explanations, an automatic-metrics job, a catalog job) is its identity: a task takes its
id(s), re-fetches the row, and calls the service of the app that owns it. A job's row records
``worker_identity`` while it runs, so that a worker starting after another died can take its work back.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from importlib import import_module
from typing import Any

from celery import Task
from django.db import InterfaceError, OperationalError, models, transaction
from django.utils import timezone

from bti_eval.core.exceptions import ApplicationError

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 3.0
# This worker process's instance: prefork children inherit it, a restarted worker gets a new one.
WORKER_INSTANCE = uuid.uuid4().hex[:16]
# Errors worth retrying a whole task for (the database or the network blinked), never DoesNotExist.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
# The most of an error message a job's row keeps.
ERROR_LENGTH = 5000


class JobTask(Task):
    """The base of every task (``@shared_task(base=JobTask, ...)``).

    Retries: a transient error (TRANSIENT_ERRORS) is retried with exponential backoff, capped at 5
    minutes and jittered, ``max_retries`` times; every task acknowledges late (settings).
    Failure marking: once a task fails for good (retries exhausted, a time limit, a bug), the service
    named by ``fails_job`` (``"module.function"``) marks its job's row FAILED with the error, so that
    the page shows it instead of spinning. That service takes the task's first argument (the job's
    identity) under the same keyword, and ``error``.
    """

    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = True
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5
    fails_job = ""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if not self.fails_job:
            return
        module, _, name = self.fails_job.rpartition(".")
        arguments = inspect.signature(self.__wrapped__).bind_partial(*args, **kwargs).arguments
        job: dict[str, Any] = dict([next(iter(arguments.items()))]) if arguments else {}
        try:
            getattr(import_module(module), name)(**job, error=f"{type(exc).__name__}: {exc}")
        except Exception:  # the database may be the reason the task failed
            logger.exception("could not mark the job of %s %s failed", self.name, job)


def worker_identity(node: str) -> str:
    """What a job records about its worker: ``"<node name> <instance>"``."""
    return f"{node} {WORKER_INSTANCE}"


def broker_check(*, timeout: float = BROKER_TIMEOUT_SECONDS) -> None:
    """Raise ApplicationError(503) unless the Celery broker accepts a connection within ``timeout``."""
    from celery import current_app

    try:
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    except Exception as exc:  # kombu raises transport-specific errors; all mean "unreachable"
        raise ApplicationError(
            f"The task broker is unreachable ({type(exc).__name__}: {exc}). Start Redis (or check REDIS_URL) "
            "and try again; nothing was changed.",
            status=503,
        ) from exc


Refused = Callable[[str], Any] | models.Model | None


def enqueue(task: Task, *calls: Sequence[Any], on_refused: Refused = None, check_broker: bool = True) -> None:
    """Send ``task(*args)`` for each ``args`` of ``calls`` (ids only, JSON) once the current
    transaction commits; the queue is the task's in settings.CELERY_TASK_ROUTES.

    - ``check_broker``: the broker must accept a connection now, else ApplicationError 503, raised
      inside the caller's transaction so that nothing is written. Off where nobody waits for an
      answer (a worker queueing the next chunk, a round opening).
    - When the broker refuses a publish after the commit, ``on_refused`` decides: a job's row (a
      model with ``Status.FAILED``, ``error`` and ``finished_at``) is marked FAILED with a message
      that says what to do; a callable gets that message (it may undo what the commit did, or raise
      ApplicationError for the request waiting); None only logs (the work is done later anyway).
    """
    if not calls:
        return
    if check_broker:
        broker_check()
    transaction.on_commit(partial(_publish, task, [list(args) for args in calls], on_refused))


def _publish(task: Task, calls: list[list[Any]], on_refused: Refused) -> None:
    try:
        for args in calls:
            task.apply_async(args=args)
    except Exception as exc:  # kombu raises transport-specific errors
        logger.exception("the broker refused %s", task.name)
        message = f"Could not queue the task {task.name} ({type(exc).__name__}: {exc}); check the broker (Redis)."
        if isinstance(on_refused, models.Model):
            job_mark_failed(type(on_refused), on_refused.pk, error=f"{message} Then start the job again.")
        elif on_refused is not None:
            on_refused(message)


def job_mark_failed(model: type[models.Model], pk: int, *, error: str) -> int:
    """Mark the job row ``pk`` of ``model`` (a model with ``Status``, ``error`` and ``finished_at``)
    FAILED with ``error`` (its first ERROR_LENGTH characters), unless it has ended already (DONE or
    FAILED, so that the first error is the one kept); returns 0 or 1."""
    ended = (model.Status.DONE, model.Status.FAILED)
    return (
        model.objects.filter(pk=pk)
        .exclude(status__in=ended)
        .update(status=model.Status.FAILED, error=error[:ERROR_LENGTH], finished_at=timezone.now())
    )
