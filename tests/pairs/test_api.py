"""Pairs API: POST /api/pairs/import/ (multipart) and GET /api/pairs/."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bti_eval.pairs.models import ParagraphPair
from tests.factories import ParagraphPairFactory

pytestmark = pytest.mark.django_db
URL = "/api/pairs/import/"


def jsonl_file(*rows, name="pairs.jsonl"):
    return SimpleUploadedFile(name, "\n".join(json.dumps(r) for r in rows).encode())


def test_import_creates_pairs(researcher_api_client):
    response = researcher_api_client.post(
        URL, {"file": jsonl_file({"id": "1", "a": "x", "b": "y"}), "source": "api"}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] == 1 and body["valid"] and body["columns"] == ["id", "a", "b"]
    assert ParagraphPair.objects.filter(source="api", external_id="1").exists()


def test_dry_run_with_explicit_mapping(researcher_api_client):
    file = SimpleUploadedFile("p.csv", b"key,first,second\nq,one,two\n")
    data = {"file": file, "source": "s", "text_a": "first", "text_b": "second", "external_id": "key", "dry_run": True}
    response = researcher_api_client.post(URL, data, format="multipart")
    assert response.status_code == 200
    assert response.json()["preview"] == [{"row": 2, "external_id": "q", "text_a": "one", "text_b": "two"}]
    assert ParagraphPair.objects.count() == 0


def test_row_errors_are_400_with_rows_and_nothing_written(researcher_api_client):
    file = jsonl_file({"id": "1", "a": "x", "b": "y"}, {"id": "1", "a": "x", "b": "y"})
    response = researcher_api_client.post(URL, {"file": file, "source": "s"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["extra"]["errors"] == [
        {"row": 2, "column": "id", "message": "duplicate external id '1' (first at line 1)"}
    ]
    assert ParagraphPair.objects.count() == 0


def test_too_large_file_is_413(researcher_api_client, settings):
    settings.BTI_MAX_UPLOAD_BYTES = 5
    response = researcher_api_client.post(
        URL, {"file": jsonl_file({"id": "1", "a": "x", "b": "y"}), "source": "s"}, format="multipart"
    )
    assert response.status_code == 413 and "BTI_MAX_UPLOAD_BYTES" in response.json()["message"]


def test_list_filters_by_source_and_paginates(researcher_api_client):
    ParagraphPairFactory.create_batch(3, source="a")
    ParagraphPairFactory(source="b")
    body = researcher_api_client.get("/api/pairs/?source=a&limit=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2
    assert {r["source"] for r in body["results"]} == {"a"}


def test_token_authentication_works(researcher):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=researcher).key}")
    assert client.get("/api/pairs/").status_code == 200


def test_anonymous_and_judges_are_refused(api_client, judge_api_client):
    assert api_client.get("/api/pairs/").status_code == 401
    assert judge_api_client.get("/api/pairs/").status_code == 403
    file = jsonl_file({"id": "1", "a": "x", "b": "y"})
    assert judge_api_client.post(URL, {"file": file, "source": "s"}, format="multipart").status_code == 403
