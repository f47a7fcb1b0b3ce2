"""Imported methods through the API (multipart; 201/400/404/409/413; documented in the schema) and
the round page (the upload form, the errors by line, provenance, removal, the pairs download);
results and exports show the method and its provenance."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bti_eval.results import exports
from bti_eval.rounds import services
from bti_eval.rounds.models import EvaluationRound, ImportedMethod
from tests.factories import EvaluationRoundFactory, ParagraphPairFactory
from tests.imported_files import jsonl, pair_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def pairs():
    return [
        ParagraphPairFactory(text_a="Soft wool gloves, touchscreen-compatible.", text_b="Knitted gloves in wool."),
        ParagraphPairFactory(text_a="A long viscose dress.", text_b="Maxi dress in soft viscose."),
    ]


@pytest.fixture
def draft(pairs):
    return services.round_create(name="draft", pairs=pairs, methods=["bti"])


def file_of(content: bytes, name: str = "shap.jsonl") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/x-ndjson")


# --- API ---------------------------------------------------------------------------------------


def test_api_imports_lists_and_removes(researcher_api_client, researcher, draft, pairs):
    url = f"/api/rounds/{draft.pk}/imported-methods/"
    content = jsonl(*pair_lines(pairs))
    response = researcher_api_client.post(url, {"name": "shap", "file": file_of(content)}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "shap" and body["file_name"] == "shap.jsonl" and body["lines"] == 2
    assert (
        body["size_bytes"] == len(content) and len(body["sha256"]) == 64 and body["uploaded_by"] == researcher.username
    )
    assert researcher_api_client.get(f"/api/rounds/{draft.pk}/").json()["methods"] == ["bti", "shap"]
    assert [m["name"] for m in researcher_api_client.get(url).json()] == ["shap"]
    assert researcher_api_client.delete(f"{url}shap/").status_code == 204
    assert researcher_api_client.get(url).json() == []
    assert researcher_api_client.delete(f"{url}shap/").status_code == 404


def test_api_400_lists_the_errors_by_line_and_imports_nothing(researcher_api_client, draft, pairs):
    lines = pair_lines(pairs)
    lines[1]["pairs"][0]["a"] = 99
    url = f"/api/rounds/{draft.pk}/imported-methods/"
    response = researcher_api_client.post(url, {"name": "shap", "file": file_of(jsonl(*lines))}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["extra"]["errors"] == [
        {"line": 2, "message": "pair 0: 'a' = 99 is out of range; paragraph a has 5 words (indices 0 to 4)"}
    ]
    assert body["extra"]["more_errors"] == 0 and "nothing was imported" in body["message"]
    response = researcher_api_client.post(url, {"name": "bti", "file": file_of(jsonl(*pair_lines(pairs)))})
    assert response.status_code == 400 and response.json()["extra"]["field"] == "name"
    response = researcher_api_client.post(url, {"name": "shap"}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["extra"]["fields"]
    assert not ImportedMethod.objects.exists()


def test_api_409_413_and_404(researcher_api_client, draft, pairs, settings):
    content = jsonl(*pair_lines(pairs))
    url = f"/api/rounds/{draft.pk}/imported-methods/"
    EvaluationRound.objects.filter(pk=draft.pk).update(status=EvaluationRound.Status.COMPUTING)
    response = researcher_api_client.post(url, {"name": "shap", "file": file_of(content)}, format="multipart")
    assert response.status_code == 409 and "only a draft round" in response.json()["message"]
    settings.BTI_MAX_UPLOAD_BYTES = 10
    response = researcher_api_client.post(url, {"name": "shap", "file": file_of(content)}, format="multipart")
    assert response.status_code == 413
    response = researcher_api_client.post("/api/rounds/987654/imported-methods/", {"name": "shap"})
    assert response.status_code == 404


def test_the_schema_documents_the_operations(researcher_api_client):
    schema = researcher_api_client.get("/api/schema/?format=json").json()
    post = schema["paths"]["/api/rounds/{round_id}/imported-methods/"]["post"]
    assert list(post["requestBody"]["content"]) == ["multipart/form-data"]
    assert {"201", "400", "404", "409", "413"} <= set(post["responses"])
    assert "extra.errors lists {line, message}" in post["responses"]["400"]["description"]
    body = post["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    fields = schema["components"]["schemas"][body]["properties"]
    assert fields["file"]["format"] == "binary" and "split_words" in fields["file"]["description"]
    delete = schema["paths"]["/api/rounds/{round_id}/imported-methods/{name}/"]["delete"]
    assert {"204", "404", "409"} <= set(delete["responses"])


# --- pages -------------------------------------------------------------------------------------


def test_the_draft_page_offers_the_upload_and_shows_the_provenance(researcher_client, researcher, draft, pairs):
    page = researcher_client.get(f"/rounds/{draft.pk}/").content.decode()
    assert 'id="import-form"' in page and f"/rounds/{draft.pk}/pairs.jsonl" in page
    content = jsonl(*pair_lines(pairs))
    response = researcher_client.post(
        f"/rounds/{draft.pk}/imported/", {"name": "shap", "file": file_of(content)}, follow=True
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Imported 2 explanations from “shap.jsonl” as method “shap”" in page
    method = ImportedMethod.objects.get()
    assert method.uploaded_by == researcher
    assert 'data-method="shap"' in page and method.sha256[:16] in page and "(imported)" in page
    assert f"/rounds/{draft.pk}/imported/shap/remove/" in page


def test_a_refused_upload_shows_every_error_by_line(researcher_client, draft, pairs):
    lines = pair_lines(pairs)
    del lines[0]["words"][0][2]
    lines[1]["similarity"] = "high"
    response = researcher_client.post(f"/rounds/{draft.pk}/imported/", {"name": "shap", "file": file_of(jsonl(*lines))})
    page = response.content.decode()
    assert response.status_code == 400 and 'id="import-errors"' in page and "Nothing was imported" in page
    assert "line 1: paragraph a word 2 is" in page and "line 2: &#x27;similarity&#x27; must be a number" in page
    response = researcher_client.post(f"/rounds/{draft.pk}/imported/", {"name": "bti", "file": file_of(b"{}")})
    assert response.status_code == 400 and "the name of a method the platform computes" in response.content.decode()
    response = researcher_client.post(f"/rounds/{draft.pk}/imported/", {"name": "shap"})
    assert response.status_code == 400 and not ImportedMethod.objects.exists()


def test_the_page_removes_an_imported_method_and_refuses_after_launch(researcher_client, draft, pairs, published):
    content = jsonl(*pair_lines(pairs))
    researcher_client.post(f"/rounds/{draft.pk}/imported/", {"name": "shap", "file": file_of(content)})
    response = researcher_client.post(f"/rounds/{draft.pk}/imported/shap/remove/", follow=True)
    assert "“shap” and its explanations were removed" in response.content.decode()
    assert not ImportedMethod.objects.exists()
    researcher_client.post(f"/rounds/{draft.pk}/imported/", {"name": "shap", "file": file_of(content)})
    services.round_launch(round=draft)
    response = researcher_client.post(f"/rounds/{draft.pk}/imported/shap/remove/", follow=True)
    assert "only a draft round can be" in response.content.decode() and ImportedMethod.objects.exists()
    response = researcher_client.post(f"/rounds/{draft.pk}/imported/", {"name": "other", "file": file_of(content)})
    assert response.status_code == 409
    page = researcher_client.get(f"/rounds/{draft.pk}/").content.decode()
    assert 'id="import-form"' not in page and 'data-method="shap"' in page  # provenance stays, the form goes


def test_the_pairs_download_is_the_explain_and_validate_input(researcher_client, draft, pairs):
    response = researcher_client.get(f"/rounds/{draft.pk}/pairs.jsonl")
    assert response.status_code == 200 and "round-" in response["Content-Disposition"]
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert lines == [{"id": p.external_id, "a": p.text_a, "b": p.text_b} for p in pairs]


# --- results and exports -----------------------------------------------------------------------


def test_results_and_exports_show_the_imported_method_and_its_provenance(researcher_client, researcher):
    round = EvaluationRoundFactory(explained_pairs=2, methods=["bti", "shap"], judges=2, status="rating")
    ImportedMethod.objects.create(
        round=round,
        name="shap",
        file_name="shap.jsonl",
        sha256="ab" * 32,
        size_bytes=10,
        lines=2,
        uploaded_by=researcher,
    )
    page = researcher_client.get(f"/rounds/{round.pk}/results/").content.decode()
    assert 'shap <small class="muted">imported</small>' in page
    document = json.loads(exports.export_json(round))
    [record] = document["round"]["imported_methods"]
    assert record["method"] == "shap" and record["sha256"] == "ab" * 32 and record["uploaded_by"] == researcher.username
    assert record["uploaded_at"].endswith("+00:00") and document["round"]["methods"] == ["bti", "shap"]
    assert {m["method"]: m["label"] for m in document["results"]["methods"]}["shap"] == "shap"
    rows = {r["method"]: r for r in csv.DictReader(io.StringIO("".join(exports.export(round, "methods-csv"))))}
    assert rows["shap"]["imported_file"] == "shap.jsonl" and rows["shap"]["imported_lines"] == "2"
    assert rows["bti"]["imported_file"] == "" and rows["bti"]["label"] == "BTI"
