"""Reading catalogs: columns, empty and duplicate texts counted, clear errors with line numbers."""

from __future__ import annotations

import json

import pytest

from explainers.catalog import read_catalog
from explainers.errors import InputError


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_csv_skips_and_counts_empty_and_duplicate_texts(tmp_path):
    path = write(
        tmp_path,
        "cat.csv",
        'sku,name,desc,other\n1,Top,"Jersey top, narrow straps",x\n2,Top (1),"Jersey top, narrow straps",y\n'
        "3,Sock,,z\n4,Hat,  ,z\n5,Scarf,Wool scarf,z\n",
    )
    items, report = read_catalog(path, id_column="sku", text_column="desc", title_column="name")
    assert [(i.id, i.title, i.text) for i in items] == [
        ("1", "Top", "Jersey top, narrow straps"),
        ("5", "Scarf", "Wool scarf"),
    ]
    assert (report.rows, report.kept, report.empty, report.duplicate) == (5, 2, 2, 1)
    assert report.empty_rows == [4, 5] and report.duplicate_rows == [3]
    assert "2 skipped as empty" in report.summary() and "1 skipped as exact duplicates" in report.summary()


def test_jsonl_with_optional_title_and_null_text(tmp_path):
    lines = [{"id": 7, "text": "Red wine"}, {"id": 8, "text": None}, {"id": 9, "text": "White wine", "t": "W"}]
    path = write(tmp_path, "cat.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    items, report = read_catalog(path, id_column="id", text_column="text")
    assert [(i.id, i.text, i.title) for i in items] == [("7", "Red wine", ""), ("9", "White wine", "")]
    assert report.empty == 1 and report.empty_rows == [2]


def test_missing_column_lists_the_columns(tmp_path):
    path = write(tmp_path, "cat.csv", "id,description\n1,a\n")
    with pytest.raises(InputError, match=r"no column 'text'; its columns are id, description"):
        read_catalog(path, id_column="id", text_column="text")


def test_not_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "cat.csv", b"id,text\n1,ok\n2,caf\xe9\n")
    with pytest.raises(InputError, match=r"not UTF-8 .* line 3"):
        read_catalog(path, id_column="id", text_column="text")


def test_malformed_jsonl_line_names_its_number(tmp_path):
    path = write(tmp_path, "cat.jsonl", '{"id": 1, "text": "a"}\n\n{"id": 2, "text": \n')
    with pytest.raises(InputError, match=r"line 3: not valid JSON"):
        read_catalog(path, id_column="id", text_column="text")


def test_repeated_or_empty_id_is_an_error(tmp_path):
    path = write(tmp_path, "cat.csv", "id,text\n1,a\n1,b\n")
    with pytest.raises(InputError, match=r"line 3: id '1' repeats line 2"):
        read_catalog(path, id_column="id", text_column="text")
    path = write(tmp_path, "cat2.csv", "id,text\n,a\n")
    with pytest.raises(InputError, match=r"line 2: empty id"):
        read_catalog(path, id_column="id", text_column="text")


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="name it .csv or .jsonl"):
        read_catalog(tmp_path / "cat.txt", id_column="id", text_column="text")
    with pytest.raises(InputError, match="does not exist"):
        read_catalog(tmp_path / "nope.csv", id_column="id", text_column="text")


def test_shared_catalogs_have_visible_empty_and_duplicate_rows(shared_data):
    items, report = read_catalog(
        shared_data / "fashion" / "hm_articles_sample.csv",
        id_column="article_id",
        text_column="detail_desc",
        title_column="prod_name",
    )
    assert report.rows == 4903 and report.empty > 0 and report.duplicate > 0
    assert report.kept == len(items) == report.rows - report.empty - report.duplicate
    assert len({i.text.strip() for i in items}) == len(items)
    _, wine = read_catalog(
        shared_data / "wine" / "winemag_sample.csv", id_column="id", text_column="description", title_column="title"
    )
    assert wine.rows == 5811 and wine.duplicate > 0


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        (
            "cat.jsonl",
            '{"id": 1, "text": "a"}\n{"id": 2, "text": ' + "[" * 1000 + "]" * 1000 + "}\n",
            ["line 2", "64 levels"],
        ),
        ("cat.jsonl", '{"id": ' + "9" * 5000 + ', "text": "a"}\n', ["line 1", "5,000 digits", "at most 4,300"]),
        ("cat.jsonl", '{"id": 1, "text": "a\\u0000b"}\n', ["line 1", "column 'text'", "NUL character"]),
        ("cat.csv", "id,text\n1,ok\n2,a\x00b\n", ["line 3", "column 'text'", "NUL character"]),
        ("cat.csv", "id,text\n1," + "x" * 378_000 + "\n", ["line 2", "longer than 131,072 characters"]),
    ],
    ids=["too-deep", "huge-int", "nul-jsonl", "nul-csv", "long-cell"],
)
def test_hostile_lines_are_input_errors_naming_the_line(tmp_path, name, content, fragments):
    path = write(tmp_path, name, content)
    with pytest.raises(InputError) as err:
        read_catalog(path, id_column="id", text_column="text")
    for fragment in fragments:
        assert fragment in str(err.value)
