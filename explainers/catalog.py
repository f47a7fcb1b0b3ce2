"""Reading a catalog (CSV with a header, or JSON Lines) into catalog items, without any model.

A catalog row becomes a :class:`CatalogItem` (id, text, optional title). Rows whose text is empty
and rows whose text repeats an earlier row's text exactly (after trimming surrounding whitespace)
are skipped and counted in the :class:`CatalogReport`, never an error: real catalogs (the H&M and
wine samples) hold both. The rows are read by :mod:`explainers.rows`; a missing column, a file that
is not UTF-8, a malformed JSONL line (or one nested too deep, or with an integer too long to read),
a NUL character in a cell, a CSV cell longer than ``csv.field_size_limit()``, a missing or repeated
id are :class:`~explainers.errors.InputError` naming the line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError
from .rows import Rows, parse_rows, read_rows

MAX_LISTED = 20  # ids of skipped rows kept in a report (the counts are always complete)
# Rows × padded tokens per forward pass when embedding a catalog (``explainers.retrieval``). It lives
# here, in a torch-free module, so that the CLI can show it as a default without importing torch.
DEFAULT_BATCH_TOKENS = 16384


@dataclass(frozen=True)
class CatalogItem:
    """One catalog item: its id in the catalog, its text (the description) and an optional title."""

    id: str
    text: str
    title: str = ""
    row: int = 0  # the file's line where the record starts (CSV header = line 1)


@dataclass
class CatalogReport:
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


def _check_columns(rows: Rows, columns: list[str]) -> None:
    """An InputError when a column the catalog needs is absent: from the header (CSV), from every line (JSONL)."""
    missing = ", ".join(repr(c) for c in columns if c not in rows.columns)
    if not missing:
        return
    if rows.format == "csv":
        raise InputError(f"{rows.what} has no column {missing}; its columns are {', '.join(rows.columns)}")
    if rows.rows:
        rows.raise_broken()  # a line that could not be read may be the one holding the key
        raise InputError(f"{rows.what} has no key {missing} on any line")


def _cell(value: Any, column: str, row: int, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list, bool)):
        raise InputError(f"{what} line {row}: column {column!r} must be text, not {type(value).__name__}")
    return str(value)


def parse_catalog(
    text: str,
    *,
    fmt: str,
    id_column: str,
    text_column: str,
    title_column: str | None = None,
    what: str = "catalog",
) -> tuple[list[CatalogItem], CatalogReport]:
    """Items of a catalog's decoded ``text`` (``fmt`` "csv" or "jsonl") and the report of skipped rows."""
    rows = parse_rows(text, fmt=fmt, what=what)
    return catalog_items(rows, id_column=id_column, text_column=text_column, title_column=title_column)


def read_catalog(
    path: str | os.PathLike,
    *,
    id_column: str,
    text_column: str,
    title_column: str | None = None,
    fmt: str | None = None,
) -> tuple[list[CatalogItem], CatalogReport]:
    """Read a UTF-8 catalog file (CSV or JSONL, by ``fmt`` or extension) -> (items, report)."""
    rows = read_rows(path, what="catalog", fmt=fmt)
    return catalog_items(rows, id_column=id_column, text_column=text_column, title_column=title_column)


def catalog_items(
    rows: Rows, *, id_column: str, text_column: str, title_column: str | None = None
) -> tuple[list[CatalogItem], CatalogReport]:
    """The catalog's items from its ``rows`` and the report of skipped rows.

    Every row needs a non-empty id, unique in the file; empty and repeated texts are skipped and counted.
    """
    _check_columns(rows, list(dict.fromkeys(c for c in (id_column, text_column, title_column) if c)))
    rows.raise_broken()
    what = rows.what
    report = CatalogReport(rows=len(rows.rows))
    items: list[CatalogItem] = []
    first_row_of_id: dict[str, int] = {}
    seen_texts: set[str] = set()
    for record in rows.rows:
        row, values = record.line, record.values
        item_id = _cell(values.get(id_column), id_column, row, what).strip()
        if not item_id:
            raise InputError(f"{what} line {row}: empty id in column {id_column!r}")
        if item_id in first_row_of_id:
            raise InputError(f"{what} line {row}: id {item_id!r} repeats line {first_row_of_id[item_id]}")
        first_row_of_id[item_id] = row
        body = _cell(values.get(text_column), text_column, row, what)
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
        title = _cell(values.get(title_column), title_column, row, what).strip() if title_column else ""
        items.append(CatalogItem(id=item_id, text=body, title=title, row=row))
    report.kept = len(items)
    return items, report
