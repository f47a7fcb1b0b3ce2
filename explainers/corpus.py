"""Reading a catalog (CSV with a header, or JSON Lines) into corpus items, without any model.

A catalog row becomes a :class:`CorpusItem` (id, text, optional title). Rows whose text is empty
and rows whose text repeats an earlier row's text exactly (after trimming surrounding whitespace)
are skipped and counted in the :class:`CorpusReport`, never an error: real catalogs (the H&M and
wine samples) hold both. A missing column, a file that is not UTF-8, a malformed JSONL line (or one
nested too deep, or with an integer too long to read), a NUL character in a cell, a CSV cell
longer than ``csv.field_size_limit()``, a missing or repeated id are
:class:`~explainers.errors.InputError` naming the line.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import safejson
from .errors import InputError

FORMATS = ("csv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
MAX_LISTED = 20  # ids of skipped rows kept in a report (the counts are always complete)
# Rows × padded tokens per forward pass when embedding a catalog (``explainers.retrieval``). It lives
# here, in a torch-free module, so that the CLI can show it as a default without importing torch.
DEFAULT_BATCH_TOKENS = 16384


@dataclass(frozen=True)
class CorpusItem:
    """One catalog item: its id in the catalog, its text (the description) and an optional title."""

    id: str
    text: str
    title: str = ""
    row: int = 0  # the file's line where the record starts (CSV header = line 1)


@dataclass
class CorpusReport:
    """What reading kept and skipped: ``rows`` read, ``kept`` items, ``empty`` rows without text and
    ``duplicate`` rows repeating an earlier text; ``*_rows`` list the first few line numbers."""

    rows: int = 0
    kept: int = 0
    empty: int = 0
    duplicate: int = 0
    empty_rows: list[int] = field(default_factory=list)
    duplicate_rows: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.rows} rows read, {self.kept} items kept, {self.empty} skipped as empty, "
            f"{self.duplicate} skipped as exact duplicates of an earlier text"
        )


def detect_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """``fmt`` when given, else from the file's extension (.csv, .jsonl, .ndjson)."""
    if fmt:
        if fmt.lower() not in FORMATS:
            raise InputError(f"unknown catalog format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt.lower()
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise InputError(f"cannot tell the format of {str(path)!r} from its extension; name it .csv or .jsonl")
    return _EXTENSIONS[suffix]


def decode_utf8(data: bytes, what: str = "catalog") -> str:
    """``data`` as text (a UTF-8 byte-order mark dropped); other encodings are an InputError naming the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(
            f"{what} is not UTF-8 (invalid byte 0x{data[e.start]:02x} on line {line}); save it as UTF-8"
        ) from None


def read_utf8(path: str | os.PathLike, what: str) -> str:
    """The text of the file ``path`` (a UTF-8 byte-order mark dropped); a missing, unreadable or
    non-UTF-8 file is an InputError naming it as ``what`` (e.g. "catalog") and the bad byte's line."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} {str(p)!r} does not exist or is not a file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {what} {str(p)!r}: {e.strerror}") from None
    return decode_utf8(data, f"{what} {str(p)!r}")


def _csv_records(text: str, columns: list[str], what: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{what} is empty; expected a header line naming the columns") from None
    except csv.Error as e:
        raise _csv_error(e, what, 1) from None
    header = [h.strip() for h in header]
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(
            f"{what} has no column {', '.join(repr(c) for c in missing)}; its columns are {', '.join(header)}"
        )
    index = {c: header.index(c) for c in columns}
    records = []
    start = reader.line_num + 1
    try:
        for cells in reader:
            row, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            records.append((row, {c: cells[i] if i < len(cells) else None for c, i in index.items()}))
    except csv.Error as e:
        raise _csv_error(e, what, start) from None
    return records


def _csv_error(error: csv.Error, what: str, line: int) -> InputError:
    """A CSV reading error naming the line; a cell over the field size limit says so, and the limit."""
    if "field larger than field limit" in str(error):
        return InputError(
            f"{what} line {line}: a cell is longer than {csv.field_size_limit():,} characters, the most one "
            "cell may hold; shorten it, or look for a quote that is never closed (it makes the rest of the "
            "file one cell)"
        )
    return InputError(f"{what} line {line}: {error}")


def _jsonl_records(text: str, columns: list[str], what: str) -> list[tuple[int, dict[str, Any]]]:
    records = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = safejson.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{what} line {number}: not valid JSON ({e.msg} at column {e.colno})") from None
        except safejson.JSONLimitError as e:
            raise InputError(f"{what} line {number}: the line was refused: {e}") from None
        if not isinstance(record, dict):
            raise InputError(f"{what} line {number}: expected a JSON object, got {type(record).__name__}")
        seen.update(record)
        records.append((number, {c: record.get(c) for c in columns}))
    missing = [c for c in columns if c not in seen]
    if records and missing:
        raise InputError(f"{what} has no key {', '.join(repr(c) for c in missing)} on any line")
    return records


def _cell(value: Any, column: str, row: int, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list, bool)):
        raise InputError(f"{what} line {row}: column {column!r} must be text, not {type(value).__name__}")
    text = str(value)
    if "\0" in text:
        raise InputError(f"{what} line {row}: column {column!r} contains a NUL character (\\0); remove it")
    return text


def parse_corpus(
    text: str,
    *,
    fmt: str,
    id_column: str,
    text_column: str,
    title_column: str | None = None,
    what: str = "catalog",
) -> tuple[list[CorpusItem], CorpusReport]:
    """Items of a catalog's decoded ``text`` (``fmt`` "csv" or "jsonl") and the report of skipped rows.

    Every row needs a non-empty id, unique in the file; empty and repeated texts are skipped and counted.
    """
    columns = list(dict.fromkeys(c for c in (id_column, text_column, title_column) if c))
    records = (_csv_records if fmt == "csv" else _jsonl_records)(text, columns, what)
    report = CorpusReport(rows=len(records))
    items: list[CorpusItem] = []
    first_row_of_id: dict[str, int] = {}
    seen_texts: set[str] = set()
    for row, values in records:
        item_id = _cell(values[id_column], id_column, row, what).strip()
        if not item_id:
            raise InputError(f"{what} line {row}: empty id in column {id_column!r}")
        if item_id in first_row_of_id:
            raise InputError(f"{what} line {row}: id {item_id!r} repeats line {first_row_of_id[item_id]}")
        first_row_of_id[item_id] = row
        body = _cell(values[text_column], text_column, row, what)
        key = body.strip()
        if not key:
            report.empty += 1
            if len(report.empty_rows) < MAX_LISTED:
                report.empty_rows.append(row)
            continue
        if key in seen_texts:
            report.duplicate += 1
            if len(report.duplicate_rows) < MAX_LISTED:
                report.duplicate_rows.append(row)
            continue
        seen_texts.add(key)
        title = _cell(values[title_column], title_column, row, what).strip() if title_column else ""
        items.append(CorpusItem(id=item_id, text=body, title=title, row=row))
    report.kept = len(items)
    return items, report


def read_corpus(
    path: str | os.PathLike,
    *,
    id_column: str,
    text_column: str,
    title_column: str | None = None,
    fmt: str | None = None,
) -> tuple[list[CorpusItem], CorpusReport]:
    """Read a UTF-8 catalog file (CSV or JSONL, by ``fmt`` or extension) -> (items, report)."""
    p = Path(path)
    fmt = detect_format(p, fmt)
    return parse_corpus(
        read_utf8(p, "catalog"),
        fmt=fmt,
        id_column=id_column,
        text_column=text_column,
        title_column=title_column,
        what=f"catalog {str(p)!r}",
    )
