"""The results app's SQL written for PostgreSQL: timestamps formatted by the database, and the CSV
export's cells computed in SQL and written by ``COPY``. Everything else reads through the ORM.

Both exist for speed on large rounds (a 100,000-rating export); the embedded SQLite path formats in
Python instead (``bti_eval.results.exports``), and the tests hold both to the same bytes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from django.db import connection
from django.db.models import BigIntegerField, Case, CharField, F, Func, IntegerField, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, Floor, Left, NullIf
from psycopg import ClientCursor


class IsoUtc(Func):
    """A timestamp as ISO 8601 text in UTC with microseconds (``2026-11-26T15:30:56.123456+00:00``),
    formatted by PostgreSQL: parsing 100,000 timestamps into datetimes and formatting them again
    took a third of an export's time."""

    output_field = CharField()
    template = """to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def rating_csv_cells(
    ratings: QuerySet, *, round_name: str, flagged: Collection[int], formula_start: Sequence[str]
) -> QuerySet:
    """``ratings`` as the CSV export's rows, every cell text as ``csv.writer`` would write it:

    - an empty text is NULL (COPY quotes an empty string, ``csv.writer`` does not);
    - seconds print as Python's ``repr`` prints a float (12.0, where PostgreSQL prints 12; the
      values stored, 0 to 3,600, need no exponent either way);
    - text cells that start like a formula get a leading ' (``exports.neutralise``).

    ``round_name`` is already neutralised; ``flagged``: the judges marked ``judge_flagged``."""
    texts = {
        "judge": Coalesce(
            NullIf("assignment__judge__name", Value("")), Concat(Value("judge "), Cast("judge_id", CharField()))
        ),
        "pair": Coalesce(
            NullIf("assignment__explanation__pair__external_id", Value("")),
            Cast("assignment__explanation__pair_id", CharField()),
        ),
        "method": F("method"),
        "comment": NullIf("comment", Value(""), output_field=CharField()),
        "participant": NullIf("assignment__judge__participant_id", Value(""), output_field=CharField()),
    }
    whole = Cast("seconds", BigIntegerField())  # exact: seconds are at most MAX_SECONDS_ON_TASK
    ratings = ratings.annotate(**{f"text_{name}": value for name, value in texts.items()})
    ratings = ratings.annotate(**{f"first_{name}": Left(f"text_{name}", 1) for name in texts})
    ratings = ratings.annotate(
        **{
            f"cell_{name}": Case(
                When(
                    **{f"first_{name}__in": formula_start},
                    then=Concat(Value("'"), F(f"text_{name}"), output_field=CharField()),
                ),
                default=F(f"text_{name}"),
                output_field=CharField(),
            )
            for name in texts
        },
        cell_seconds=Case(
            When(seconds=Floor("seconds"), then=Concat(Cast(whole, CharField()), Value(".0"))),
            default=Cast("seconds", CharField()),
            output_field=CharField(),
        ),
        cell_rated_at=IsoUtc(F("updated_at")),
        cell_control=Cast("assignment__explanation__is_control", IntegerField()),
        cell_judge_flagged=Case(When(judge_id__in=list(flagged), then=Value(1)), default=Value(0))
        if flagged
        else Value(0),
        cell_item_flagged=Cast("flagged", IntegerField()),
    )
    return ratings.order_by("judge_id", "assignment__position").values_list(
        Value(round_name, output_field=CharField()),
        "judge_id",
        "cell_judge",
        "cell_pair",
        "cell_method",
        "score",
        "cell_seconds",
        "assignment__position",
        "cell_rated_at",
        "cell_control",
        "cell_judge_flagged",
        "cell_item_flagged",
        "cell_comment",
        "cell_participant",
    )


def copy_csv(rows: QuerySet, *, header: str, lines_per_piece: int) -> Iterator[str]:
    """The CSV of ``rows`` (a values_list of cell texts) written by PostgreSQL's
    ``COPY (…) TO STDOUT (FORMAT csv)``, ``header`` first, in pieces of ``lines_per_piece`` lines as
    they come. Each CopyData message is one row ended by "\\n", where ``csv.writer`` ends it with
    "\\r\\n", so its last byte is replaced (a newline inside a quoted cell stays as it is, as
    ``csv.writer`` leaves it)."""
    sql, params = rows.query.sql_with_params()
    connection.ensure_connection()
    raw = connection.connection
    copy_sql = f"COPY ({ClientCursor(raw).mogrify(sql, params)}) TO STDOUT (FORMAT csv)"
    lines: list[bytes] = []
    with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in copy:
            lines.append(bytes(row[:-1]))
            if len(lines) == lines_per_piece:
                yield header + (b"\r\n".join(lines) + b"\r\n").decode()
                header, lines = "", []
    if lines or header:
        yield header + (b"\r\n".join(lines) + b"\r\n" if lines else b"").decode()
