"""A real Celery worker in a subprocess, against the test database and broker (for e2e and fault tests)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_SECONDS = 240  # for a worker to compute a small launched round with a tiny model


def worker_command(*, queues: str, node: str, pool: str = "solo", module: str = "celery") -> list[str]:
    """``python -m MODULE -A workers worker``: queues ``QUEUES``, one task at a time (``pool`` solo or
    prefork, concurrency 1), node name ``NODE@<host>``; no gossip, mingle or heartbeat (events nobody
    reads here), remote control kept (a starting worker pings the others)."""
    return [
        sys.executable, "-m", module, "-A", "workers", "worker", "-Q", queues,
        f"--pool={pool}", "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-l", "info", "-n", f"{node}@%h",
    ]  # fmt: skip


def start_worker(
    *,
    model_dir: Path,
    log: Path,
    queues: str,
    module: str = "celery",
    extra_env: dict[str, str] | None = None,
    node: str = "",
    pool: str = "solo",
) -> subprocess.Popen:
    """Start ``python -m MODULE -A workers worker -Q QUEUES`` (``pool``, concurrency 1) writing to ``log``.

    The worker uses this test run's database (TEST_DB_NAME_OVERRIDE), its filesystem broker folder
    when Redis is unreachable, and ``model_dir`` as the default model on the CPU. Its node name is
    ``NODE@<host>`` (default: a random ``test-…``).
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bti_eval.settings.test",
        "TEST_DB_NAME_OVERRIDE": str(connection.settings_dict["NAME"]),
        "BTI_DEFAULT_MODEL": str(model_dir),
        "BTI_EXPLAIN_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **(extra_env or {}),
    }
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        env["TEST_BROKER_DIR"] = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
    command = worker_command(queues=queues, node=node or f"test-{uuid.uuid4().hex[:8]}", pool=pool, module=module)
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_ready(workers: list[tuple[subprocess.Popen, Path, str]], *, timeout: float = 180.0) -> None:
    """Wait until each ``(process, log, node)`` has logged Celery's ``NODE@<host> ready.``: it is
    consuming its queues. Raises RuntimeError with the log's tail when one exits or the time is up."""
    deadline = time.monotonic() + timeout
    waiting = list(workers)
    while waiting:
        process, log, node = waiting[0]
        text = log.read_text(errors="replace") if log.exists() else ""
        if re.search(rf"{re.escape(node)}@\S+ ready\.", text):
            waiting.pop(0)
            continue
        if process.poll() is not None or time.monotonic() > deadline:
            state = f"exited ({process.returncode})" if process.poll() is not None else f"not ready in {timeout:.0f} s"
            raise RuntimeError(f"worker {node} {state}:\n{text[-4000:]}")
        time.sleep(0.2)


@contextmanager
def running_worker(*, model_dir: Path, log: Path, queues: str = "explain,default") -> Iterator[subprocess.Popen]:
    """A worker (``start_worker``) for the duration of the block, stopped after it whatever happens."""
    worker = start_worker(model_dir=model_dir, log=log, queues=queues)
    try:
        yield worker
    finally:
        stop(worker)


def wait_while_computing(round, worker: subprocess.Popen, log: Path, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Wait until the launched ``round`` leaves computing (it opens once the worker has computed every
    explanation), at most ``timeout`` seconds; the caller asserts the status it expects. Fails at once,
    with the log's tail, if the worker exits."""
    from bti_eval.rounds.models import EvaluationRound  # not at import: benchmarks import this before Django is set up

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        round.refresh_from_db()
        if round.status != EvaluationRound.Status.COMPUTING:
            return
        assert worker.poll() is None, f"the worker exited:\n{log.read_text()[-4000:]}"
        time.sleep(1)


def wait_for(
    condition: Callable[[], bool], *, timeout: float, worker: subprocess.Popen, log: Path, interval: float = 0.2
) -> None:
    """Wait until ``condition()`` holds; fails with the log's tail if the worker exits or ``timeout``
    seconds pass."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert worker.poll() is None, f"the worker exited:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"timed out:\n{log.read_text()[-4000:]}"
        time.sleep(interval)


def purge_queues() -> None:
    """Drop messages a previous run may have left on the shared broker."""
    from workers.celery import app

    with app.connection_for_write() as conn:
        channel = conn.channel()
        for queue in ("explain", "metrics", "default"):
            try:
                channel.queue_purge(queue)
            except Exception:  # the queue does not exist yet
                pass
        channel.close()


def stop(worker: subprocess.Popen) -> None:
    """SIGTERM (a warm shutdown), then SIGKILL if it does not exit within 20 s."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def filesystem_broker(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """A filesystem broker (the embedded mode's) in ``folder``, even when this run uses Redis:
    ``(env for start_worker's extra_env, kombu transport options for a publishing Connection)``. The
    worker gets an unreachable TEST_REDIS_URL, so settings/test.py falls back to that folder (and
    CI=false, since under CI=true an unreachable Redis is an error by design)."""
    (folder / "control").mkdir(parents=True, exist_ok=True)
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }
    return {
        "TEST_REDIS_URL": "redis://127.0.0.1:9/0",
        "TEST_BROKER_DIR": str(folder),
        "CI": "false",
    }, options  # port 9: no one


def publish_to(monkeypatch, options: dict[str, str], *tasks) -> None:
    """Make ``tasks`` (Celery tasks) publish to the filesystem broker of ``options`` from this process."""
    from kombu import Connection

    for task in tasks:
        original = task.apply_async

        def apply_async(args=None, kwargs=None, _original=original, **extra):
            with Connection("filesystem://", transport_options=options) as conn:
                return _original(args=args, kwargs=kwargs, connection=conn, **extra)

        monkeypatch.setattr(task, "apply_async", apply_async)
        monkeypatch.setattr(task, "delay", lambda *args, _send=apply_async, **kwargs: _send(args=args, kwargs=kwargs))
