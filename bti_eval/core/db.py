"""One helper for the hand-written SQL of the judges' hot path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection


def fetch_one(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple | None:
    """The first row of ``sql`` run with ``params`` on the default connection, or None.

    Through Django's cursor, so errors are Django's (``OperationalError`` becomes a 503) and tests
    count the statement; on PostgreSQL psycopg prepares it after ``DB_PREPARE_THRESHOLD`` runs.
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
