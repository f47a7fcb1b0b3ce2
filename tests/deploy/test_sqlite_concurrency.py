"""The embedded settings' SQLite serves concurrent writers: each waits its turn for the write lock
instead of failing with "database is locked" (which the app answers with a 503).

Runs in a fresh interpreter with the embedded settings on a scratch SQLite file: 16 threads, each
with its own connection, run transactions that read and then write, as saving a rating does.
"""

from __future__ import annotations

from tests.embedded_sqlite import run_on_embedded_sqlite

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
    cursor.execute("PRAGMA busy_timeout")
    busy_ms = cursor.fetchone()[0]
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
    rows = cursor.fetchone()[0]
print(json.dumps({"journal": journal, "busy_ms": busy_ms, "rows": rows, "errors": errors[:3], "failed": len(errors)}))
"""


def test_embedded_sqlite_lets_concurrent_writers_wait_instead_of_failing(tmp_path):
    outcome = run_on_embedded_sqlite(SCRIPT, tmp_path, timeout=120)
    assert outcome["failed"] == 0, outcome["errors"]
    assert outcome["rows"] == 16 * 15
    assert outcome["journal"] == "wal"  # readers do not wait for the writer
    # A writer waits up to SQLITE_BUSY_TIMEOUT (20 s) for the lock, not sqlite3's default 5 s: a
    # rating behind a slow write (a bulk import) waits instead of failing.
    assert outcome["busy_ms"] == 20_000
