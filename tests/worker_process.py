"""A real Celery worker in a subprocess, against the test database and broker (for e2e and fault tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def start_worker(
    *, model_dir: Path, log: Path, queues: str, module: str = "celery", extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start ``python -m MODULE -A workers worker -Q QUEUES`` (solo pool) writing to ``log``.

    The worker uses this test run's database (TEST_DB_NAME_OVERRIDE), its filesystem broker folder
    when Redis is unreachable, and ``model_dir`` as the default model on the CPU.
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
    command = [
        sys.executable, "-m", module, "-A", "workers", "worker", "-Q", queues,
        "--pool=solo", "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-l", "info", "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def stop(worker: subprocess.Popen) -> None:
    """SIGTERM (a warm shutdown), then SIGKILL if it does not exit within 20 s."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
