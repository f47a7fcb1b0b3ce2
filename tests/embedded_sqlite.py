"""Run a script in a fresh interpreter under the embedded settings (``make demo``'s), on a
scratch SQLite file, and read the JSON object it prints last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_on_embedded_sqlite(script: str, tmp_path: Path, *, timeout: float) -> dict[str, Any]:
    """Run ``script`` with ``python -c`` on ``tmp_path/demo.sqlite3`` (no Redis: the embedded
    settings' own queue) and return the JSON object on its last line of output; fails the test
    with the script's stderr if it exits non-zero."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)},
        "DJANGO_SETTINGS_MODULE": "bti_eval.settings.embedded",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "BTI_VAR_DIR": str(tmp_path / "var"),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
