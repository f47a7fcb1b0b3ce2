"""The one CSV/JSONL row reader: records numbered by their file line, broken rows kept, clear file errors."""

from __future__ import annotations

import csv

import pytest

from explainers.errors import InputError
from explainers.rows import FieldTooLongError, Row, decode_utf8, detect_format, parse_rows, read_rows


def test_csv_rows_start_at_their_line_with_multiline_cells_blank_lines_and_short_or_long_rows():
    text = '\n \nid , a,b\n1,"two\nlines",x\n\n2,y\n3,p,q,extra1,extra2\n'
    rows = parse_rows(text, fmt="csv")
    assert rows.format == "csv" and rows.columns == ["id", "a", "b"]  # leading blank lines skipped, names trimmed
    assert rows.rows == [
        Row(4, {"id": "1", "a": "two\nlines", "b": "x"}),
        Row(7, {"id": "2", "a": "y"}),  # a short row lacks its last columns
        Row(8, {"id": "3", "a": "p", "b": "q"}, extra=("extra1", "extra2")),
    ]
    assert rows.broken() == []


def test_jsonl_rows_are_numbered_by_newlines_only_and_collect_every_key():
    # U+2028 and U+0085 are valid raw inside a JSON string; they must neither split a line nor shift numbers.
    text = '{"id": 1, "a": "one\u2028two"}\r\n\n{"id": 2, "b": "x\u0085y"}\n'
    rows = parse_rows(text, fmt="jsonl")
    assert rows.columns == ["id", "a", "b"]
    assert rows.rows == [Row(1, {"id": 1, "a": "one\u2028two"}), Row(3, {"id": 2, "b": "x\u0085y"})]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('{"id": 1, ', "not valid JSON (Expecting property name enclosed in double quotes at column 11)"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"a": ' + "[" * 100 + "]" * 100 + "}", "the line was refused: it is nested deeper than 64 levels"),
        ('{"a": "x\\u0000y"}', "column 'a' contains a NUL character (\\0), which cannot be stored; remove it"),
        ('{"a\\u0000": "x"}', "column 'a\\x00' contains a NUL character"),
    ],
    ids=["malformed", "not-object", "too-deep", "nul-value", "nul-key"],
)
def test_a_jsonl_line_that_cannot_be_read_is_a_broken_row_the_others_are_kept(line, error):
    rows = parse_rows(f'{{"a": "ok"}}\n{line}\n{{"a": "after"}}\n', fmt="jsonl", what="pairs")
    assert [r.values for r in rows.readable()] == [{"a": "ok"}, {"a": "after"}]
    [broken] = rows.broken()
    assert broken.line == 2 and broken.values == {} and error in broken.error
    with pytest.raises(InputError, match=r"^pairs line 2: ") as err:
        rows.raise_broken()
    assert error in str(err.value)


def test_a_csv_row_with_a_nul_character_is_broken_naming_its_column_or_a_cell():
    rows = parse_rows("id,a\n1,fine\n2,bro\0ken\n3,x,extra\0\n", fmt="csv")
    assert [r.line for r in rows.readable()] == [2]
    assert [(r.line, r.error.split(" contains")[0]) for r in rows.broken()] == [(3, "column 'a'"), (4, "a cell")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty; expected a header line naming the columns"),
        ("\n  \n", "the file is empty; expected a header line naming the columns"),
        ("\nid,a\0\n1,x\n", "the file line 2: the header contains a NUL character"),
        ("id,a,a,id\n1,x,y,z\n", "the file line 1: the header repeats the column(s) 'a', 'id'"),
    ],
    ids=["empty", "blank", "nul-header", "repeated-column"],
)
def test_csv_header_problems_are_input_errors(text, message):
    with pytest.raises(InputError) as err:
        parse_rows(text, fmt="csv")
    assert str(err.value).startswith(message)


def test_a_csv_cell_over_the_field_limit_names_the_record_line_and_the_limit():
    limit = csv.field_size_limit()
    with pytest.raises(FieldTooLongError) as err:
        parse_rows('id,a\n1,ok\n2,"' + "x" * (limit + 1) + '"\n', fmt="csv", what="catalog")
    assert (err.value.line, err.value.limit) == (3, limit)
    assert str(err.value).startswith(f"catalog line 3: a cell is longer than {limit:,} characters")
    assert "malformed" not in str(err.value)


def test_an_empty_jsonl_file_has_no_rows_and_no_columns():
    rows = parse_rows("\n\n", fmt="jsonl")
    assert (rows.rows, rows.columns) == ([], [])


def test_bytes_that_are_not_utf8_name_the_byte_and_its_line_a_bom_is_dropped():
    assert decode_utf8("\ufeffid\n1\n".encode()) == "id\n1\n"
    with pytest.raises(InputError, match=r"^pairs is not UTF-8 \(invalid byte 0xe9 on line 3\); save it as UTF-8$"):
        decode_utf8(b"id\n1\ncaf\xe9\n", "pairs")


def test_read_rows_detects_the_format_and_names_the_file(tmp_path):
    (tmp_path / "c.ndjson").write_text('{"id": 1}\n', encoding="utf-8")
    rows = read_rows(tmp_path / "c.ndjson", what="catalog")
    assert rows.format == "jsonl" and rows.rows == [Row(1, {"id": 1})]
    assert rows.what == f"catalog {str(tmp_path / 'c.ndjson')!r}"
    with pytest.raises(InputError, match="does not exist or is not a file"):
        read_rows(tmp_path / "missing.csv", what="catalog")
    with pytest.raises(InputError, match="unknown file format 'xml'; use one of csv, jsonl"):
        detect_format("c.csv", "xml")
    with pytest.raises(InputError, match=r"cannot tell the format of 'c\.txt' from its extension"):
        detect_format("c.txt")
    assert detect_format("c.txt", "CSV") == "csv"
