"""Corpora API and pages: researcher only, clear 4xx bodies, visible skip counts."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bti_eval.corpora.models import Corpus


def upload(catalog_bytes: bytes, name: str = "shop") -> dict:
    return {
        "file": SimpleUploadedFile("shop.csv", catalog_bytes),
        "name": name,
        "id_column": "sku",
        "text_column": "desc",
        "title_column": "name",
    }


def test_api_is_for_researchers_only(db, api_client, catalog_bytes, django_user_model):
    assert api_client.get("/api/corpora/").status_code in (401, 403)
    api_client.force_authenticate(django_user_model.objects.create_user("plain", password="x"))  # not staff
    assert api_client.post("/api/corpora/", upload(catalog_bytes), format="multipart").status_code == 403
    assert not Corpus.objects.exists()


def test_api_import_embed_mine_and_job(
    researcher_api_client, catalog_bytes, tiny_model_dir, eager_celery, django_capture_on_commit_callbacks
):
    response = researcher_api_client.post("/api/corpora/", upload(catalog_bytes), format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["items"], body["skipped_empty"], body["skipped_duplicate"]) == (5, 1, 1)
    corpus_id = body["id"]

    bad = researcher_api_client.post(
        "/api/corpora/", {**upload(catalog_bytes, "x"), "text_column": "nope"}, format="multipart"
    )
    assert bad.status_code == 400 and "no column 'nope'" in bad.json()["message"]

    early = researcher_api_client.post(f"/api/corpora/{corpus_id}/mine/", {"seeds": 2}, format="json")
    assert early.status_code == 400 and "Embed the corpus" in early.json()["message"]

    model = str(tiny_model_dir)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = researcher_api_client.post(f"/api/corpora/{corpus_id}/embed/", {"model": model}, format="json")
    assert job.status_code == 202 and len(callbacks) == 1  # one chunk, sent after commit
    state = researcher_api_client.get(f"/api/corpus-jobs/{job.json()['id']}/").json()
    assert (state["status"], state["done"], state["total"], state["progress"]) == ("done", 5, 5, 1.0)
    mined = researcher_api_client.post(
        f"/api/corpora/{corpus_id}/mine/", {"seeds": 2, "k": 1, "model": model, "random_seed": 3}, format="json"
    )
    assert mined.status_code == 201 and mined.json()["created"] == 2
    detail = researcher_api_client.get(f"/api/corpora/{corpus_id}/").json()
    assert detail["vectors"] == {model: 5}
    assert researcher_api_client.post(f"/api/corpora/{corpus_id}/mine/", {}, format="json").status_code == 400


def test_pages_upload_and_show_counts(researcher_client, catalog_bytes, client, db):
    assert researcher_client.get(reverse("corpora:list")).status_code == 200
    response = researcher_client.post(reverse("corpora:list"), upload(catalog_bytes))
    corpus = Corpus.objects.get()
    assert response.status_code == 302 and response.url == reverse("corpora:detail", args=[corpus.pk])
    page = researcher_client.get(response.url).content.decode()
    assert "<strong>1</strong> skipped as empty" in page and "<strong>1</strong>" in page and "shop.csv" in page
    bad = researcher_client.post(reverse("corpora:list"), {**upload(catalog_bytes, "y"), "id_column": "nope"})
    assert bad.status_code == 400 and "no column" in bad.content.decode()
    missing = researcher_client.post(
        reverse("corpora:detail", args=[corpus.pk]), {"action": "mine", "mine-k": 1, "mine-random_seed": 0}
    )
    assert missing.status_code == 400 and "Give a number of seeds" in missing.content.decode()
    client.logout()
    assert client.get(reverse("corpora:list")).status_code == 302  # to the login page
