"""Reading the rows of a CSV file (with a header) or a JSON Lines file, without any model.

One reader for every tabular input: catalogs (:mod:`explainers.catalog`), the CLI's pair files
(:func:`explainers.cli.read_pairs`) and the platform's pair import. :func:`parse_rows` turns decoded
text into a :class:`Rows`: the columns and one :class:`Row` a record, numbered by the file's line
where the record starts (a CSV header is line 1; a CSV cell may span lines). Blank lines are skipped.

Whole-file problems are an :class:`~explainers.errors.InputError` naming the line: a file that is
not UTF-8, a CSV file without a header, a header with a NUL character or a repeated column, a CSV
cell longer than ``csv.field_size_limit()`` (:class:`FieldTooLongError`). A record that cannot be
read (malformed JSON, a line nested too deep or with an integer too long to read, a line that is
not an object, a NUL character in a cell) is a :class:`Row` whose ``error`` says why, so that a
caller can either stop at it (:meth:`Rows.raise_broken`) or report every such row at once.
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


class FieldTooLongError(InputError):
    """A CSV cell longer than ``csv.field_size_limit()``; ``line`` is where its record starts."""

    def __init__(self, what: str, line: int, limit: int) -> None:
        super().__init__(
            f"{what} line {line}: a cell is longer than {limit:,} characters, the most one cell may hold; "
            "shorten it, or look for a quote that is never closed (it makes the rest of the file one cell)"
        )
        self.line = line
        self.limit = limit


@dataclass(frozen=True)
class Row:
    """One record: ``line`` where it starts, ``values`` (column -> cell; CSV: str, JSONL: any JSON
    value; a short CSV row lacks its last columns), the CSV cells past the header's columns in
    ``extra``, and ``error`` (empty unless the record could not be read; its ``values`` are then empty)."""

    line: int
    values: dict[str, Any]
    extra: tuple[str, ...] = ()
    error: str = ""


@dataclass
class Rows:
    """A file's ``format``, its ``columns`` (CSV: the header; JSONL: every key, in order of first
    appearance) and its records in file order, ``rows`` (broken ones included)."""

    format: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    what: str = "the file"

    def readable(self) -> list[Row]:
        return [row for row in self.rows if not row.error]

    def broken(self) -> list[Row]:
        return [row for row in self.rows if row.error]

    def raise_broken(self) -> Rows:
        """``self`` when every record was read; else an InputError naming the first broken line."""
        for row in self.rows:
            if row.error:
                raise InputError(f"{self.what} line {row.line}: {row.error}")
        return self


def detect_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """``fmt`` when given, else from the file's extension (.csv, .jsonl, .ndjson)."""
    if fmt:
        if fmt.lower() not in FORMATS:
            raise InputError(f"unknown file format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt.lower()
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise InputError(f"cannot tell the format of {str(path)!r} from its extension; name it .csv or .jsonl")
    return _EXTENSIONS[suffix]


def decode_utf8(data: bytes, what: str = "the file") -> str:
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


def read_rows(path: str | os.PathLike, *, what: str, fmt: str | None = None) -> Rows:
    """The rows of the UTF-8 file ``path`` (``fmt`` "csv" or "jsonl", else by its extension); errors
    name it as ``what`` (e.g. "catalog") followed by its path."""
    fmt = detect_format(path, fmt)
    return parse_rows(read_utf8(path, what), fmt=fmt, what=f"{what} {str(path)!r}")


def parse_rows(text: str, *, fmt: str, what: str = "the file", max_depth: int = safejson.MAX_DEPTH) -> Rows:
    """The rows of decoded ``text`` (``fmt`` "csv" or "jsonl"); ``what`` names the file in errors.
    ``max_depth``: JSONL only, how deeply a line may nest arrays and objects (deeper: a broken row)."""
    if fmt == "csv":
        return _csv_rows(text, what)
    return _jsonl_rows(text, what, max_depth)


def _nul_error(column: str | None) -> str:
    where = f"column {column!r}" if column is not None else "a cell"
    return f"{where} contains a NUL character (\\0), which cannot be stored; remove it"


def _csv_rows(text: str, what: str) -> Rows:
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        header: list[str] | None = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            start = reader.line_num + 1
            header = next(reader, None)
        if header is None:
            raise InputError(f"{what} is empty; expected a header line naming the columns")
        columns = _csv_header(header, what, reader.line_num)
        result = Rows(format="csv", columns=columns, what=what)
        has_nul = "\0" in text  # cells are searched for it only when the file holds one
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            values = dict(zip(columns, cells, strict=False))
            if has_nul and any("\0" in cell for cell in cells):
                column = next((c for c, cell in values.items() if "\0" in cell), None)
                result.rows.append(Row(line, {}, error=_nul_error(column)))
                continue
            result.rows.append(Row(line, values, extra=tuple(cells[len(columns) :])))
    except csv.Error as e:
        if "field larger than field limit" in str(e):
            raise FieldTooLongError(what, start, csv.field_size_limit()) from None
        raise InputError(f"{what} line {start}: malformed CSV ({e})") from None
    return result


def _csv_header(header: list[str], what: str, line: int) -> list[str]:
    columns = [cell.strip() for cell in header]
    if any("\0" in c for c in columns):
        raise InputError(f"{what} line {line}: the header contains a NUL character (\\0); remove it")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise InputError(f"{what} line {line}: the header repeats the column(s) {', '.join(map(repr, repeated))}")
    return columns


def _jsonl_rows(text: str, what: str, max_depth: int = safejson.MAX_DEPTH) -> Rows:
    columns: dict[str, None] = {}
    rows: list[Row] = []
    # Lines end at "\n" only: str.splitlines() would also split at U+2028 and other separators,
    # which JSON allows raw inside strings, and then the line numbers would not be the file's.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            row = _jsonl_row(number, line, max_depth)
            columns.update(dict.fromkeys(row.values))
            rows.append(row)
    return Rows(format="jsonl", columns=list(columns), rows=rows, what=what)


def _jsonl_row(number: int, line: str, max_depth: int) -> Row:
    try:
        record = safejson.loads(line, max_depth=max_depth)
    except json.JSONDecodeError as e:
        return Row(number, {}, error=f"not valid JSON ({e.msg} at column {e.colno})")
    except safejson.JSONLimitError as e:
        return Row(number, {}, error=f"the line was refused: {e}")
    if not isinstance(record, dict):
        return Row(number, {}, error=f"expected a JSON object, got {type(record).__name__}")
    nul = next((k for k, v in record.items() if "\0" in k or (isinstance(v, str) and "\0" in v)), None)
    if nul is not None:
        return Row(number, {}, error=_nul_error(nul))
    return Row(number, record)
