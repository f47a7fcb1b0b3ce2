"""The Celery app. Configured from Django settings (``CELERY_*``); tasks live in each app's ``tasks.py``.

Queues (settings.CELERY_TASK_ROUTES): explanation chunks go to ``explain`` so that GPU workers can
consume only those (``celery -A workers worker -Q explain``); automatic-metrics chunks go to
``metrics``, so that they never wait in line in front of a round's explanations; light work to
``default``. A worker that takes several queues polls them in turn (kombu's round-robin cycle), and an
automatic-metrics job has one chunk in the broker at a time, so an explanation chunk waits for at most
one metrics chunk, never for a whole job.

Recovering work lost with a worker: every chunk records the identity of the worker running it
(``worker_identity``: the Celery node name and a random instance id of this worker process). When a
worker starts (``worker_ready``) it takes back the running explanations and automatic-metrics jobs
whose worker is gone (``worker_is_gone``): a ``kill -9`` leaves them running, and the filesystem
broker of the embedded mode never redelivers their messages (Redis does, after its visibility
timeout, and the duplicate does nothing: both tasks are idempotent).
"""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bti_eval.settings.embedded")

app = Celery("bti_eval")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # each app's tasks.py (the app that owns a service owns its tasks)

logger = logging.getLogger(__name__)
PING_TIMEOUT_SECONDS = 2.0


def worker_is_gone(recorded: str, *, me: str, ping=None) -> bool:
    """Whether the worker named by ``recorded`` (a ``worker_identity``) no longer runs, asked by the
    worker ``me`` as it starts.

    The same node name with another instance is a previous run of this worker (two live workers
    cannot share a node name), so it is gone; another node is gone when it does not answer a
    control ping within PING_TIMEOUT_SECONDS. ``ping(node) -> bool`` defaults to Celery's.
    """
    node, _, instance = recorded.rpartition(" ")
    my_node, _, my_instance = me.rpartition(" ")
    if not node or not instance or recorded == me:
        return False
    if node == my_node:
        return True
    return not (ping or _ping)(node)


def _ping(node: str) -> bool:
    try:
        return bool(app.control.ping(destination=[node], timeout=PING_TIMEOUT_SECONDS))
    except Exception:  # the broker cannot broadcast: assume it lives (the stale rule still applies)
        logger.exception("could not ping worker %s", node)
        return True


@worker_ready.connect
def recover_lost_work(sender=None, **kwargs) -> None:
    """On worker start: queue again the explanations and automatic-metrics chunks of dead workers."""
    from bti_eval.core.jobs import worker_identity
    from bti_eval.results.services import auto_evaluations_recover_lost
    from bti_eval.rounds.services import explanations_recover_lost

    me = worker_identity(getattr(sender, "hostname", "") or "")
    answers: dict[str, bool] = {}

    def is_gone(recorded: str) -> bool:
        if recorded not in answers:
            answers[recorded] = worker_is_gone(recorded, me=me)
        return answers[recorded]

    try:
        explanations = explanations_recover_lost(is_gone=is_gone)
        jobs = auto_evaluations_recover_lost(is_gone=is_gone)
    except Exception:  # never keep a worker from starting; the stale rule of retry still applies
        logger.exception("could not recover the work of dead workers")
        return
    if explanations or jobs:
        logger.warning("recovered %d explanation(s) and %d metrics job(s) of dead workers", explanations, jobs)
