"""Reading pair files (CSV with a header, or JSON Lines) into raw records, without touching the database.

A record is ``(row, values)``: ``row`` is the 1-based line of the file where the record starts
(a CSV header is line 1), ``values`` maps column name to cell (CSV: str; JSONL: any JSON value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bti_eval.core.exceptions import ApplicationError
from explainers import rows as _rows
from explainers.errors import InputError

FORMATS = _rows.FORMATS
EXTRA_CELLS = "\0extra"  # key of the cells beyond the header's columns in a CSV record
FIELDS = ("external_id", "text_a", "text_b", "title_a", "title_b")
REQUIRED_FIELDS = ("text_a", "text_b")
# The explainers' CLI format (one JSON object a line: {"id": ..., "a": ..., "b": ...}), then common names.
_GUESSES = {
    "external_id": ("id", "external_id", "pair_id"),
    "text_a": ("a", "text_a", "paragraph_a", "seed"),
    "text_b": ("b", "text_b", "paragraph_b", "other"),
    "title_a": ("title_a",),
    "title_b": ("title_b",),
}


@dataclass
class ParsedFile:
    format: str
    columns: list[str]
    records: list[tuple[int, dict[str, Any]]]
    # Rows that could not be read at all (bad JSON, not an object, a NUL character): (row, message).
    broken: list[tuple[int, str]] = field(default_factory=list)


def detect_format(*, filename: str, fmt: str | None) -> str:
    """``fmt`` when given, else from the file name's extension (.csv, .jsonl, .ndjson):
    :func:`explainers.rows.detect_format`, its InputError as an ApplicationError."""
    try:
        return _rows.detect_format(filename or "", fmt)
    except InputError as exc:
        hint = "" if fmt else ", or choose the format explicitly"
        raise ApplicationError(f"{_sentence(exc)}{hint}.") from None


def decode_utf8(content: bytes) -> str:
    """The file's text; a UTF-8 byte-order mark is dropped. Any other encoding is refused clearly
    (:func:`explainers.rows.decode_utf8`, which names the bad byte and its line)."""
    try:
        return _rows.decode_utf8(content, "the file")
    except InputError as exc:
        # explainers ends with "save it as UTF-8"; say how, from a spreadsheet.
        raise ApplicationError(
            f"{_sentence(exc)} (e.g. 'CSV UTF-8' in a spreadsheet) and upload it again.",
            extra={"encoding": "utf-8 required"},
        ) from None


def _sentence(exc: InputError) -> str:
    """An explainers message (lower-case, no full stop) as the start of a sentence."""
    text = str(exc)
    return text[:1].upper() + text[1:]


def parse(*, text: str, fmt: str) -> ParsedFile:
    """Split ``text`` into records with :func:`explainers.rows.parse_rows`. CSV needs a header row;
    blank lines are skipped.

    A row that holds a NUL character (PostgreSQL cannot store one in text), a JSONL line that is not
    an object, nested deeper than ``safejson.MAX_DEPTH`` or holding an over-long integer is a broken
    row naming the line (and the column), never a crash."""
    try:
        rows = _rows.parse_rows(text, fmt=fmt, what="the file")
    except _rows.FieldTooLongError as exc:
        raise ApplicationError(
            f"{_sentence(exc)}.", extra={"line": exc.line, "max_field_characters": exc.limit}
        ) from None
    except InputError as exc:
        raise ApplicationError(f"{_sentence(exc)}.") from None
    # A CSV row's cells past the header's columns are kept under EXTRA_CELLS: a row error later.
    records = [
        (row.line, {**row.values, EXTRA_CELLS: list(row.extra)} if row.extra else row.values) for row in rows.readable()
    ]
    broken = [(row.line, row.error) for row in rows.broken()]
    if fmt == "jsonl":
        _check_jsonl_read(records, broken)
    return ParsedFile(format=fmt, columns=rows.columns, records=records, broken=broken)


def _check_jsonl_read(records: list[tuple[int, dict[str, Any]]], broken: list[tuple[int, str]]) -> None:
    """An ApplicationError when no line of a JSONL file could be read: there are no columns to map."""
    if records:
        return
    if not broken:
        raise ApplicationError("The JSONL file is empty: it needs one JSON object per line.")
    row, message = broken[0]
    raise ApplicationError(
        f"Nothing was imported: no line of the file could be read (line {row}: {message}).",
        extra={
            "errors": [{"row": r, "column": "", "message": m} for r, m in broken],
            "error_count": len(broken),
        },
    )


def guess_mapping(columns: list[str]) -> dict[str, str | None]:
    """A default column for each field, by name (``id``/``a``/``b`` first, the explainers' CLI format)."""
    lowered = {c.lower(): c for c in columns}
    mapping: dict[str, str | None] = {}
    for name, candidates in _GUESSES.items():
        mapping[name] = next((lowered[c] for c in candidates if c in lowered), None)
    return mapping
