"""The judges' hot path in hand-written SQL: the signed-in judge, the item page, and saving a rating.

These statements run on every judge request, where building the equivalent ORM querysets costs
more CPU than running them (``benchmarks/judges_load.py``); everything else in judging uses the
ORM. Their query budgets are tested in ``tests/judging/test_hot_paths.py``.

Two statements differ by database, both tested on PostgreSQL and on the embedded SQLite
(``tests/judging/test_queries.py``): the round's share lock (PostgreSQL's ``FOR SHARE``; SQLite has
no row locks, its writers take turns on the whole file) and a first rating with its history row
(one PostgreSQL statement; a savepoint elsewhere).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from bti_eval.judging.models import Assignment, Judge, Rating, RatingChange
from bti_eval.pairs.models import ParagraphPair
from bti_eval.rounds.models import EvaluationRound, Explanation

# The round's columns a judge request reads; the rest of the round loads on first access.
JUDGE_ROUND_FIELDS = ["id", "status", "design"]

_quote = connection.ops.quote_name
# The quoted table names of the statements below.
TABLES = {
    name: _quote(model._meta.db_table)
    for name, model in (
        ("round", EvaluationRound),
        ("judge", Judge),
        ("assignment", Assignment),
        ("rating", Rating),
        ("change", RatingChange),
        ("explanation", Explanation),
        ("pair", ParagraphPair),
    )
}


def fetch_one(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple | None:
    """The first row of ``sql`` run with ``params`` on the default connection, or None.

    Through Django's cursor, so errors are Django's (``OperationalError`` becomes a 503) and tests
    count the statement; on PostgreSQL psycopg prepares it after ``DB_PREPARE_THRESHOLD`` runs.
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


# --- the signed-in judge ---------------------------------------------------------------------


@cache
def _user_sql() -> tuple[str, list[str], list[str]]:
    """The user → judge → round join (one statement) and the user's and judge's attnames.

    Built on first use: the user model is only known once the apps are loaded."""
    user_model = get_user_model()
    user_fields, judge_fields = user_model._meta.concrete_fields, Judge._meta.concrete_fields
    user_pk = _quote(user_model._meta.pk.column)
    columns = [f"u.{_quote(f.column)}" for f in user_fields] + [f"j.{_quote(f.column)}" for f in judge_fields]
    columns += [f"r.{_quote(name)}" for name in JUDGE_ROUND_FIELDS]
    sql = (
        f"SELECT {', '.join(columns)} FROM {_quote(user_model._meta.db_table)} u "
        f"LEFT JOIN {TABLES['judge']} j ON j.{_quote(Judge.user.field.column)} = u.{user_pk} "
        f"LEFT JOIN {TABLES['round']} r ON r.id = j.{_quote(Judge.round.field.column)} "
        f"WHERE u.{user_pk} = %s"
    )
    return sql, [f.attname for f in user_fields], [f.attname for f in judge_fields]


@cache
def _datetime_columns() -> tuple[int, ...]:
    """Positions of the datetime columns in ``_user_sql``'s row (user's, then judge's)."""
    fields = [*get_user_model()._meta.concrete_fields, *Judge._meta.concrete_fields]
    return tuple(i for i, field in enumerate(fields) if field.get_internal_type() == "DateTimeField")


def _datetimes_converted(row: tuple) -> tuple:
    """The row's datetimes as the ORM reads them: a raw cursor on SQLite gives naive ones (the ORM's
    converter makes them aware, in UTC), which a judge's time limit could not be compared with.
    PostgreSQL's are aware already (no converter)."""
    convert = getattr(connection.ops, "convert_datetimefield_value", None)
    if convert is None:
        return row
    row = list(row)
    for i in _datetime_columns():
        row[i] = convert(row[i], None, connection)
    return tuple(row)


def user_with_judge(user_id) -> tuple[Any, Judge | None] | None:
    """``(user, judge)`` for a user's primary key in one query, or None for an unknown user.

    ``judge`` is the user's Judge row (None for a researcher) with ``judge.round`` holding the
    round's ``JUDGE_ROUND_FIELDS``; ``user.judge`` and ``judge.user`` are cached both ways, so
    reading either costs no further query (and a researcher's ``user.judge`` raises at once)."""
    user_model = get_user_model()
    sql, user_attnames, judge_attnames = _user_sql()
    row = fetch_one(sql, [user_id])
    if row is None:
        return None
    n_user, n_judge = len(user_attnames), len(judge_attnames)
    row = _datetimes_converted(row)
    user = user_model.from_db(connection.alias, user_attnames, row[:n_user])
    judge = None
    if row[n_user] is not None:  # the judge's id: this user is a judge
        judge = Judge.from_db(connection.alias, judge_attnames, row[n_user : n_user + n_judge])
        judge.round = EvaluationRound.from_db(connection.alias, JUDGE_ROUND_FIELDS, row[n_user + n_judge :])
        Judge.user.field.set_cached_value(judge, user)
    user_model.judge.related.set_cached_value(user, judge)
    return user, judge


# --- the item page and the judge's progress --------------------------------------------------

# Progress: two index counts (Rating.judge repeats the assignment's judge for this).
_PROGRESS_SQL = """
  (SELECT COUNT(*) FROM {assignment} t WHERE t.judge_id = %(judge)s),
  (SELECT COUNT(*) FROM {rating} t WHERE t.judge_id = %(judge)s)"""
_ITEM_SQL = (
    """
SELECT a.public_id, a.position, a.explanation_id, p.text_a, p.text_b, r.score,
  (SELECT b.public_id FROM {assignment} b WHERE b.judge_id = a.judge_id AND b.position < a.position
   ORDER BY b.position DESC LIMIT 1),
  (SELECT b.public_id FROM {assignment} b WHERE b.judge_id = a.judge_id AND b.position > a.position
   ORDER BY b.position LIMIT 1),"""
    + _PROGRESS_SQL
    + """,
  CASE WHEN e.judge_html_version = %(version)s THEN e.judge_html END, r.comment, r.flagged,
  a.right_explanation_id, CASE WHEN f.judge_html_version = %(version)s THEN f.judge_html END, r.choice
FROM {assignment} a
JOIN {explanation} e ON e.id = a.explanation_id
JOIN {pair} p ON p.id = e.pair_id
LEFT JOIN {explanation} f ON f.id = a.right_explanation_id
LEFT JOIN {rating} r ON r.assignment_id = a.id
WHERE a.judge_id = %(judge)s AND a.public_id = %(public_id)s"""
).format(**TABLES)
# The first unrated assignment in the judge's order (at or after a position): a walk along the
# (judge, position) index that stops at the first assignment without a rating.
_UNRATED_FROM = (
    "(SELECT a.public_id FROM {assignment} a WHERE a.judge_id = %(judge)s AND a.position >= {start} "
    "AND NOT EXISTS (SELECT 1 FROM {rating} r WHERE r.assignment_id = a.id) ORDER BY a.position LIMIT 1)"
)
_FIRST_UNRATED_SQL = "SELECT " + _UNRATED_FROM.format(start="0", **TABLES)
# The first unrated assignment after a position, wrapping round to the start, and the progress.
_NEXT_SQL = (
    "SELECT COALESCE("
    + _UNRATED_FROM.format(start="%(after)s + 1", **TABLES)
    + ", "
    + _UNRATED_FROM.format(start="0", **TABLES)
    + "),"
    + _PROGRESS_SQL.format(**TABLES)
)
_JUDGE_PROGRESS_SQL = "SELECT " + _PROGRESS_SQL.format(**TABLES)


def judge_item_row(*, judge_id: int, public_id: str, html_version: int) -> tuple | None:
    """One of the judge's assignments: ``(public_id, position, explanation_id, text_a, text_b,
    score, previous public id, next public id, total, rated, html, comment, flagged,
    right_explanation_id, right_html, choice)``; each ``html`` is None unless stored by renderer
    ``html_version``; the last three are None on a rating item (not pairwise). None when the
    public id is not the judge's."""
    return fetch_one(_ITEM_SQL, {"judge": judge_id, "public_id": public_id, "version": html_version})


def judge_progress_row(*, judge_id: int) -> tuple[int, int]:
    """``(assignments, ratings)`` of a judge."""
    return fetch_one(_JUDGE_PROGRESS_SQL, {"judge": judge_id})


def judge_next_unrated_row(*, judge_id: int, after_position: int) -> tuple[str | None, int, int]:
    """``(public id of the first unrated assignment after the position, wrapping round; assignments;
    ratings)``."""
    return fetch_one(_NEXT_SQL, {"judge": judge_id, "after": after_position})


def judge_first_unrated(*, judge_id: int) -> str | None:
    """Public id of the judge's first unrated assignment in their order, or None."""
    return fetch_one(_FIRST_UNRATED_SQL, {"judge": judge_id})[0]


# --- saving a rating -------------------------------------------------------------------------

# The round's status with the judge's assignment and its rating, in one statement. On PostgreSQL
# under a SHARE row lock of the round: ratings of one round then run side by side, while a status
# change (``round_close`` locks the row FOR UPDATE) waits for the ratings in flight, and every
# rating after it sees the new status. An exclusive lock would make every judge of a round wait
# for every other (the judges' load benchmark). SQLite has no row locks: its writers take turns on
# the whole database, which orders a close and a rating the same way.
_SUBMIT_ROW_SQL = (
    "SELECT rd.status, a.id, a.position, r.id, a.right_explanation_id FROM {round} rd "
    "LEFT JOIN {assignment} a ON a.judge_id = %(judge)s AND a.public_id = %(public_id)s "
    "LEFT JOIN {rating} r ON r.assignment_id = a.id "
    "WHERE rd.id = %(round)s"
).format(**TABLES)
_SHARE_LOCK = {"postgresql": " FOR SHARE OF rd"}


def rating_target_row(*, judge: Judge, public_id: str) -> tuple[str, int | None, int | None, int | None, int | None]:
    """``(round status, assignment id, position, rating id, right explanation id)`` for one of the
    judge's assignments, the round row share-locked until the transaction ends (PostgreSQL); the ids
    are None when the public id is not the judge's (the right explanation's also on a rating item:
    only a pairwise item has one). One statement on either database."""
    sql = _SUBMIT_ROW_SQL + _SHARE_LOCK.get(connection.vendor, "")
    row = fetch_one(sql, {"judge": judge.pk, "public_id": public_id, "round": judge.round_id})
    if row is None:
        raise EvaluationRound.DoesNotExist(f"round {judge.round_id}")
    return row


_ROUND_STATUS_SQL = "SELECT rd.status FROM {round} rd WHERE rd.id = %(round)s".format(**TABLES)


def round_status_shared(*, round_id: int) -> str | None:
    """The round's status, the row share-locked until the transaction ends (PostgreSQL), as a
    rating holds it: a crowd arrival then runs beside ratings, while closing or opening the round
    waits for it. None for a round that no longer exists."""
    row = fetch_one(_ROUND_STATUS_SQL + _SHARE_LOCK.get(connection.vendor, ""), {"round": round_id})
    return row[0] if row else None


# A first rating and its first history row in one statement; nothing (no row back) when the
# assignment has a rating already (a concurrent first rating: the one-per-assignment constraint).
_RATING_INSERT_SQL = """
WITH created AS (
  INSERT INTO {rating} (assignment_id, judge_id, score, choice, seconds, comment, flagged, created_at, updated_at)
  VALUES (%(assignment)s, %(judge)s, %(score)s, %(choice)s, %(seconds)s, %(comment)s, %(flagged)s, %(now)s, %(now)s)
  ON CONFLICT (assignment_id) DO NOTHING RETURNING id
), history AS (
  INSERT INTO {change} (rating_id, score, choice, seconds, comment, flagged, changed_at)
  SELECT id, %(score)s, %(choice)s, %(seconds)s, %(comment)s, %(flagged)s, %(now)s FROM created
)
SELECT id FROM created""".format(**TABLES)
_RATING_ATTNAMES = [f.attname for f in Rating._meta.concrete_fields]


def rating_insert(
    *,
    assignment_id: int,
    judge_id: int,
    score: int | None,
    seconds: float | None,
    comment: str,
    flagged: bool,
    choice: str | None = None,
) -> Rating | None:
    """Insert an assignment's first rating (a score, or a pairwise item's ``choice``) with its first
    history row and return it; None when one exists already (a concurrent first rating committed or
    is in flight: the one-per-assignment constraint decides). PostgreSQL: one ``INSERT ... ON
    CONFLICT DO NOTHING`` statement (no savepoint round trips); elsewhere a savepoint (SQLite has no
    data-modifying WITH)."""
    state = {"score": score, "choice": choice, "seconds": seconds, "comment": comment, "flagged": flagged}
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic():
                rating = Rating.objects.create(assignment_id=assignment_id, judge_id=judge_id, **state)
        except IntegrityError:
            return None
        RatingChange.objects.create(rating=rating, **state)
        return rating
    now = timezone.now()
    row = fetch_one(_RATING_INSERT_SQL, {"assignment": assignment_id, "judge": judge_id, "now": now, **state})
    if row is None:
        return None
    values = {"id": row[0], "assignment_id": assignment_id, "judge_id": judge_id, "created_at": now, "updated_at": now}
    values.update(state)
    return Rating.from_db(connection.alias, _RATING_ATTNAMES, [values[name] for name in _RATING_ATTNAMES])
