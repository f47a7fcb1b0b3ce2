"""Warnings of a pair import: things worth a look that do not block it.

- ``identical``: a pair whose two paragraphs are the same text (compared with runs of whitespace
  collapsed and the ends stripped; case and punctuation count), which explains nothing.
- ``column-twice``: one column mapped to two fields (e.g. the same column as Title A and Title B).
  text_a and text_b from one column is an error, not a warning (every pair would be identical).
- ``too-long``: paragraphs with more tokens (special tokens included) than the default model
  reads; the explainers cut them there, and the words past the cut are not explained.

Each warning carries its count and the file's line numbers of the first few pairs concerned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.template.defaultfilters import pluralize

from bti_eval.pairs import tokens

MAX_LISTED_ROWS = 10
FIELD_NAMES = {
    "external_id": "External id",
    "text_a": "Paragraph A",
    "text_b": "Paragraph B",
    "title_a": "Title A",
    "title_b": "Title B",
}


@dataclass
class ImportWarning:
    code: str  # "identical", "column-twice" or "too-long"
    message: str
    count: int  # pairs, fields or paragraphs concerned (the message says which)
    rows: list[int] = field(default_factory=list)  # the file's lines of the first pairs concerned
    row_count: int = 0  # lines (pairs) concerned in all

    def rows_text(self) -> str:
        """ " Lines 3, 5." / " First lines: 3, 5, … (24 in all)." / "" when no line applies."""
        if not self.rows:
            return ""
        listed = ", ".join(map(str, self.rows))
        if self.row_count > len(self.rows):
            return f" First lines: {listed}, … ({self.row_count} in all)."
        return f" Line{pluralize(len(self.rows))} {listed}."


def import_warnings(*, mapping: dict[str, str | None], texts: Sequence[tuple[int, str, str]]) -> list[ImportWarning]:
    """The warnings for ``mapping`` (field -> column) and ``texts``: (row, text_a, text_b) of the
    pairs that map without errors."""
    return [
        *_columns_mapped_twice(mapping),
        *_identical(texts),
        *_too_long(texts),
    ]


def _columns_mapped_twice(mapping: dict[str, str | None]) -> list[ImportWarning]:
    fields_of: dict[str, list[str]] = {}
    for name, column in mapping.items():
        if column:
            fields_of.setdefault(column, []).append(name)
    return [
        ImportWarning(
            code="column-twice",
            message=f"Column “{column}” is mapped to {len(names)} fields: "
            f"{' and '.join(FIELD_NAMES.get(n, n) for n in names)}.",
            count=len(names),
        )
        for column, names in fields_of.items()
        if len(names) > 1
    ]


def _identical(texts: Sequence[tuple[int, str, str]]) -> list[ImportWarning]:
    rows = [row for row, a, b in texts if " ".join(a.split()) == " ".join(b.split())]
    if not rows:
        return []
    n = len(rows)
    return [
        ImportWarning(
            code="identical",
            message=f"{n} pair{pluralize(n)} {pluralize(n, 'has,have')} two identical paragraphs; "
            "there is no difference to explain.",
            count=n,
            rows=rows[:MAX_LISTED_ROWS],
            row_count=n,
        )
    ]


def _too_long(texts: Sequence[tuple[int, str, str]]) -> list[ImportWarning]:
    model = tokens.default_model_tokenizer()
    if model is None or not texts:
        return []
    too_long = model.over_limit(t for _, a, b in texts for t in (a, b))
    rows: list[int] = []
    paragraphs = 0
    for row, a, b in texts:
        long = (a in too_long) + (b in too_long)
        if long:
            paragraphs += long
            rows.append(row)
    if not paragraphs:
        return []
    return [
        ImportWarning(
            code="too-long",
            message=f"{paragraphs} paragraph{pluralize(paragraphs)} {pluralize(paragraphs, 'is,are')} longer than "
            f"the model reads ({model.limit} tokens); words past that are not explained.",
            count=paragraphs,
            rows=rows[:MAX_LISTED_ROWS],
            row_count=len(rows),
        )
    ]
