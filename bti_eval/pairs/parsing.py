"""Reading pair files (CSV with a header, or JSON Lines) into raw records, without touching the database.

A record is ``(row, values)``: ``row`` is the 1-based line of the file where the record starts
(a CSV header is line 1), ``values`` maps column name to cell (CSV: str; JSONL: any JSON value).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from bti_eval.core.exceptions import ApplicationError
from explainers import corpus as _corpus
from explainers import safejson
from explainers.errors import InputError

FORMATS = _corpus.FORMATS
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
    # Rows that could not be read at all (bad JSON, not an object): (row, message).
    broken: list[tuple[int, str]] = field(default_factory=list)


def detect_format(*, filename: str, fmt: str | None) -> str:
    """``fmt`` when given, else from the file name's extension (.csv, .jsonl, .ndjson):
    :func:`explainers.corpus.detect_format`, its InputError as an ApplicationError."""
    try:
        return _corpus.detect_format(filename or "", fmt)
    except InputError as exc:
        hint = "" if fmt else ", or choose the format explicitly"
        raise ApplicationError(f"{_sentence(exc)}{hint}.") from None


def decode_utf8(content: bytes) -> str:
    """The file's text; a UTF-8 byte-order mark is dropped. Any other encoding is refused clearly
    (:func:`explainers.corpus.decode_utf8`, which names the bad byte and its line)."""
    try:
        return _corpus.decode_utf8(content, "the file")
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
    """Split ``text`` into records. CSV needs a header row; JSONL skips blank lines.

    A row that holds a NUL character (PostgreSQL cannot store one in text), a JSONL line nested
    deeper than ``safejson.MAX_DEPTH`` or holding an over-long integer is a broken row naming the
    line (and the column), never a crash."""
    return _parse_csv(text) if fmt == "csv" else _parse_jsonl(text)


def _parse_csv(text: str) -> ParsedFile:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise ApplicationError("The CSV file is empty: it needs a header row and at least one row of pairs.")
        columns = [cell.strip() for cell in header]
        if any("\0" in c for c in columns):
            raise ApplicationError("The CSV header contains a NUL character (\\0); remove it and upload again.")
        duplicates = sorted({c for c in columns if columns.count(c) > 1})
        if duplicates:
            raise ApplicationError(f"The CSV header repeats the column(s) {', '.join(map(repr, duplicates))}.")
        records: list[tuple[int, dict[str, Any]]] = []
        broken: list[tuple[int, str]] = []
        has_nul = "\0" in text  # cells are searched for it only when the file holds one
        line = reader.line_num
        for cells in reader:
            row, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            values: dict[str, Any] = dict(zip(columns, cells, strict=False))
            if has_nul and any("\0" in cell for cell in cells):
                broken.append((row, _nul_message(next((c for c, cell in values.items() if "\0" in cell), None))))
                continue
            if len(cells) > len(columns):
                values[EXTRA_CELLS] = cells[len(columns) :]  # reported as a row error
            records.append((row, values))
    except csv.Error as exc:
        limit = csv.field_size_limit()
        if "field larger than field limit" in str(exc):
            raise ApplicationError(
                f"The CSV file has a field longer than {limit:,} characters (the most one cell may hold) near "
                f"line {reader.line_num}. Shorten that cell, or check for a quote that is never closed: "
                "it makes the rest of the file one cell.",
                extra={"line": reader.line_num, "max_field_characters": limit},
            ) from None
        raise ApplicationError(f"The CSV file is malformed near line {reader.line_num}: {exc}.") from exc
    return ParsedFile(format="csv", columns=columns, records=records, broken=broken)


def _nul_message(column: str | None) -> str:
    where = f"column {column!r}" if column else "a cell"
    return f"{where} contains a NUL character (\\0), which cannot be stored; remove it"


def _parse_jsonl(text: str) -> ParsedFile:
    columns: dict[str, None] = {}
    records: list[tuple[int, dict[str, Any]]] = []
    broken: list[tuple[int, str]] = []
    for row, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = safejson.loads(line)
        except json.JSONDecodeError as exc:
            broken.append((row, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except safejson.JSONLimitError as exc:
            broken.append((row, f"the line was refused: {exc}"))
            continue
        if not isinstance(value, dict):
            broken.append((row, 'each line must be a JSON object, like {"id": "1", "a": "...", "b": "..."}'))
            continue
        nul = next((str(k) for k, v in value.items() if "\0" in str(k) or (isinstance(v, str) and "\0" in v)), None)
        if nul is not None:
            broken.append((row, _nul_message(nul)))
            continue
        columns.update(dict.fromkeys(str(k) for k in value))
        records.append((row, {str(k): v for k, v in value.items()}))
    if not records and not broken:
        raise ApplicationError("The JSONL file is empty: it needs one JSON object per line.")
    if not records:  # no columns to map: say why no line could be read, not that columns are missing
        row, message = broken[0]
        raise ApplicationError(
            f"Nothing was imported: no line of the file could be read (line {row}: {message}).",
            extra={
                "errors": [{"row": r, "column": "", "message": m} for r, m in broken],
                "error_count": len(broken),
            },
        )
    return ParsedFile(format="jsonl", columns=list(columns), records=records, broken=broken)


def guess_mapping(columns: list[str]) -> dict[str, str | None]:
    """A default column for each field, by name (``id``/``a``/``b`` first, the explainers' CLI format)."""
    lowered = {c.lower(): c for c in columns}
    mapping: dict[str, str | None] = {}
    for name, candidates in _GUESSES.items():
        mapping[name] = next((lowered[c] for c in candidates if c in lowered), None)
    return mapping
