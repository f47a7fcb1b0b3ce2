"""The embedded settings' SQLite serves concurrent writers: each waits its turn for the write lock
instead of failing with "database is locked" (which the app answers with a 503).

Runs in a fresh interpreter with the embedded settings on a scratch SQLite file: 16 threads, each
with its own connection, run transactions that read and then write, as saving a rating does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, threading
import django
django.setup()
from django.db import connection, transaction
from django.db.utils import OperationalError

with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE rated (id INTEGER PRIMARY KEY, judge INTEGER, score INTEGER)")
    cursor.execute("PRAGMA journal_mode")
    journal = cursor.fetchone()[0]
connection.close()

errors, start = [], threading.Barrier(16)

def judge(number):
    start.wait()
    try:
        for score in range(15):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM rated WHERE judge = %s", [number])  # read first ...
                cursor.execute("INSERT INTO rated (judge, score) VALUES (%s, %s)", [number, score])  # ... then write
    except OperationalError as exc:
        errors.append(str(exc))
    finally:
        connection.close()

threads = [threading.Thread(target=judge, args=(n,)) for n in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with connection.cursor() as cursor:
    cursor.execute("SELECT COUNT(*) FROM rated")
    print(json.dumps({"journal": journal, "rows": cursor.fetchone()[0], "errors": errors[:3], "failed": len(errors)}))
"""


def test_embedded_sqlite_lets_concurrent_writers_wait_instead_of_failing(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)},
        "DJANGO_SETTINGS_MODULE": "bti_eval.settings.embedded",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "BTI_VAR_DIR": str(tmp_path / "var"),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["failed"] == 0, outcome["errors"]
    assert outcome["rows"] == 16 * 15
    assert outcome["journal"] == "wal"  # readers do not wait for the writer
