"""A real database fault for tests: the server's own connection is dropped in the middle of a request.

``drop_connection_on(sql_fragment, times=1)`` installs an execute wrapper on every Django connection opened
while it is active (the live server's thread included). The first ``times`` statements containing the
fragment find their connection gone: on PostgreSQL the backend is terminated (``pg_terminate_backend``) just
before the statement is sent, so psycopg raises a genuine OperationalError; on SQLite (a laptop
without PostgreSQL) the wrapper raises the OperationalError itself.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from django.db import OperationalError, connections
from django.db.backends.signals import connection_created


class DropConnection:
    """Execute wrapper: kill the connection under the first ``times`` statements containing ``fragment``."""

    def __init__(self, fragment: str, times: int = 1):
        self.fragment = fragment
        self.times = times
        self.count = 0
        self.fired = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self._lock:
            hit = self.fragment in sql and self.count < self.times
            if hit:
                self.count += 1
                self.fired.set()
        if hit:
            connection = context["connection"]
            if connection.vendor != "postgresql":
                raise OperationalError("server closed the connection unexpectedly (simulated)")
            _terminate(connection.connection.info.backend_pid)
        return execute(sql, params, many, context)


def _terminate(pid: int) -> None:
    """Terminate backend ``pid`` from another connection and wait until it is gone."""
    import psycopg

    settings = connections["default"].settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):
            if admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is None:
                return
            time.sleep(0.02)


@contextlib.contextmanager
def drop_connection_on(fragment: str, *, times: int = 1) -> Iterator[DropConnection]:
    """Within this block, the first ``times`` SQL statements containing ``fragment`` lose their connection."""
    wrapper = DropConnection(fragment, times)

    def install(sender, connection, **kwargs):
        if wrapper not in connection.execute_wrappers:
            connection.execute_wrappers.append(wrapper)

    connection_created.connect(install, weak=False)
    opened = [conn for conn in connections.all(initialized_only=True) if conn.connection is not None]
    for conn in opened:
        conn.execute_wrappers.append(wrapper)
    try:
        yield wrapper
    finally:
        connection_created.disconnect(install)
        for conn in connections.all(initialized_only=True):
            if wrapper in conn.execute_wrappers:
                conn.execute_wrappers.remove(wrapper)
