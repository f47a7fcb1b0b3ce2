"""pairs_import: CSV and JSONL, mapping, dry run, all-or-nothing row errors, encoding and size limits."""

from __future__ import annotations

import json

import pytest

from bti_eval.core.exceptions import ApplicationError
from bti_eval.pairs.models import ParagraphPair
from bti_eval.pairs.services import pairs_import
from tests.factories import ParagraphPairFactory

pytestmark = pytest.mark.django_db

CSV = (
    "sku,seed text,other text,seed title,other title\n"
    "A1,Soft wool gloves with touchscreen fingertips.,Knitted gloves in a wool blend.,Gloves,Knit gloves\n"
    'A2,"A long dress, in viscose.",A maxi dress with a V-neck.,Dress,Maxi\n'
)
MAPPING = {
    "external_id": "sku",
    "text_a": "seed text",
    "text_b": "other text",
    "title_a": "seed title",
    "title_b": "other title",
}


def jsonl(*rows: dict) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


def test_csv_import_with_mapping_creates_pairs(researcher):
    result = pairs_import(content=CSV.encode(), filename="pairs.csv", mapping=MAPPING, source="shop", by=researcher)

    assert result.created == 2 and result.valid and result.format == "csv"
    assert result.columns == ["sku", "seed text", "other text", "seed title", "other title"]
    pair = ParagraphPair.objects.get(source="shop", external_id="A2")
    assert pair.text_a == "A long dress, in viscose." and pair.text_b == "A maxi dress with a V-neck."
    assert (pair.title_a, pair.title_b, pair.created_by) == ("Dress", "Maxi", researcher)


def test_jsonl_default_mapping_is_the_explainers_cli_format(researcher):
    content = jsonl({"id": 1, "a": "first paragraph", "b": "second paragraph"}, {"id": "x2", "a": "c", "b": "d"})

    result = pairs_import(content=content, filename="pairs.jsonl", source="cli", by=researcher)

    assert result.mapping["external_id"] == "id" and result.mapping["text_a"] == "a"
    assert sorted(ParagraphPair.objects.filter(source="cli").values_list("external_id", flat=True)) == ["1", "x2"]


def test_dry_run_previews_and_writes_nothing(researcher):
    result = pairs_import(
        content=CSV.encode(), filename="p.csv", mapping=MAPPING, source="s", by=researcher, dry_run=True
    )

    assert result.dry_run and result.created == 0 and result.rows == 2
    assert result.preview[0] == {
        "row": 2,
        "external_id": "A1",
        "text_a": "Soft wool gloves with touchscreen fingertips.",
        "text_b": "Knitted gloves in a wool blend.",
        "title_a": "Gloves",
        "title_b": "Knit gloves",
    }
    assert ParagraphPair.objects.count() == 0


def test_one_bad_row_rejects_the_whole_file_with_row_level_errors(researcher):
    ParagraphPairFactory(source="shop", external_id="taken")
    content = (
        jsonl(
            {"id": "ok1", "a": "fine", "b": "fine too"},
            {"id": "e1", "a": "   ", "b": "text"},  # line 2: empty text
            {"id": "e2", "a": "text"},  # line 3: missing column b
            {"id": "ok1", "a": "again", "b": "again"},  # line 4: duplicate in the file
            {"id": "taken", "a": "x", "b": "y"},  # line 5: already in the source
        )
        + b"\n{not json\n"  # line 6: not JSON
    )

    with pytest.raises(ApplicationError) as info:
        pairs_import(content=content, filename="p.jsonl", source="shop", by=researcher)

    errors = {(e["row"], e["column"]): e["message"] for e in info.value.extra["errors"]}
    assert errors[(2, "a")] == "empty text (text_a)"
    assert "missing column 'b'" in errors[(3, "b")]
    assert "duplicate external id 'ok1' (first at line 1)" == errors[(4, "id")]
    assert "already exists in source 'shop'" in errors[(5, "id")]
    assert "not valid JSON" in errors[(6, "")]
    assert info.value.status == 400 and "Nothing was imported" in info.value.message
    assert ParagraphPair.objects.count() == 1  # only the pre-existing pair


def test_dry_run_reports_the_same_errors_without_raising(researcher):
    content = b"id,a,b\n1,x,\n"
    result = pairs_import(content=content, filename="p.csv", source="s", by=researcher, dry_run=True)
    assert not result.valid
    assert result.errors_as_dicts() == [{"row": 2, "column": "b", "message": "empty text (text_b)"}]


def test_csv_row_numbers_follow_file_lines_with_multiline_cells(researcher):
    content = b'id,a,b\n1,"two\nlines",x\n\n2,y,\n'
    result = pairs_import(content=content, filename="p.csv", source="s", by=researcher, dry_run=True)
    assert [(e.row, e.column) for e in result.errors] == [(5, "b")]
    assert result.preview[0]["text_a"] == "two\nlines"


def test_csv_short_and_long_rows_are_row_errors(researcher):
    content = b"id,a,b\n1,x\n2,x,y,z\n"
    result = pairs_import(content=content, filename="p.csv", source="s", by=researcher, dry_run=True)
    messages = [(e.row, e.message) for e in result.errors]
    assert (2, "missing column 'b' (text_b)") in messages
    assert (3, "the row has more cells than the header has columns") in messages


def test_mapped_column_missing_from_the_header_is_a_clear_error(researcher):
    with pytest.raises(ApplicationError, match=r"Column 'text' \(mapped to text_a\) is not in the file.*sku"):
        pairs_import(
            content=CSV.encode(),
            filename="p.csv",
            mapping={"text_a": "text", "text_b": "other text"},
            source="s",
            by=researcher,
        )


def test_unmappable_file_asks_for_the_text_columns(researcher):
    with pytest.raises(ApplicationError, match="Choose the column.*text_a and text_b"):
        pairs_import(content=b"x,y\n1,2\n", filename="p.csv", source="s", by=researcher)


def test_non_utf8_file_is_refused_naming_the_encoding(researcher):
    content = "id,a,b\n1,café au lait,thé\n".encode("latin-1")
    expected = r"The file is not UTF-8 \(invalid byte 0xe9 on line 2\); save it as UTF-8 \(e\.g\. 'CSV UTF-8' in a"
    with pytest.raises(ApplicationError, match=expected) as info:
        pairs_import(content=content, filename="p.csv", source="s", by=researcher)
    assert info.value.status == 400 and info.value.extra == {"encoding": "utf-8 required"}
    assert ParagraphPair.objects.count() == 0


def test_utf8_bom_is_accepted(researcher):
    content = "\ufeffid,a,b\n1,café,thé\n".encode()
    assert pairs_import(content=content, filename="p.csv", source="s", by=researcher).created == 1


def test_size_limit_is_413(researcher, settings):
    settings.BTI_MAX_UPLOAD_BYTES = 50
    with pytest.raises(ApplicationError, match="the limit is 50 bytes") as info:
        pairs_import(content=CSV.encode(), filename="p.csv", mapping=MAPPING, source="s", by=researcher)
    assert info.value.status == 413


def test_format_comes_from_the_extension_or_is_asked_for(researcher):
    with pytest.raises(ApplicationError, match="Cannot tell the format .* or choose the format explicitly"):
        pairs_import(content=b"id,a,b\n1,x,y\n", filename="pairs.txt", source="s", by=researcher)
    result = pairs_import(content=b"id,a,b\n1,x,y\n", filename="pairs.txt", fmt="csv", source="s", by=researcher)
    assert result.created == 1


def test_same_external_id_in_another_source_is_fine(researcher):
    ParagraphPairFactory(source="other", external_id="1")
    assert pairs_import(content=b"id,a,b\n1,x,y\n", filename="p.csv", source="mine", by=researcher).created == 1


def test_jsonl_text_with_a_line_separator_is_one_line(researcher):
    # U+2028 is valid raw inside a JSON string (copied from web pages); it does not end the line.
    content = '{"id": "1", "a": "first\u2028line", "b": "x"}\n{"id": "2", "a": "y", "b": "z"}\n'.encode()
    result = pairs_import(content=content, filename="p.jsonl", source="s", by=researcher)
    assert result.created == 2
    assert ParagraphPair.objects.get(source="s", external_id="1").text_a == "first\u2028line"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\n\n", "The file is empty; expected a header line naming the columns."),
        (b"id,a,a\n1,x,y\n", "The file line 1: the header repeats the column(s) 'a'."),
    ],
    ids=["empty", "repeated-column"],
)
def test_a_csv_file_without_a_usable_header_is_refused(researcher, content, message):
    with pytest.raises(ApplicationError) as info:
        pairs_import(content=content, filename="p.csv", source="s", by=researcher)
    assert info.value.message == message and info.value.status == 400
