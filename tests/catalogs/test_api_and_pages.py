"""Catalogs API and pages: researcher only, clear 4xx bodies, visible skip counts."""

from __future__ import annotations

import re

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bti_eval.catalogs.models import Catalog, CatalogItem, CatalogVector


def upload(catalog_bytes: bytes, name: str = "shop") -> dict:
    return {
        "file": SimpleUploadedFile("shop.csv", catalog_bytes),
        "name": name,
        "id_column": "sku",
        "text_column": "desc",
        "title_column": "name",
    }


def test_api_is_for_researchers_only(db, api_client, catalog_bytes, django_user_model):
    assert api_client.get("/api/catalogs/").status_code in (401, 403)
    api_client.force_authenticate(django_user_model.objects.create_user("plain", password="x"))  # not staff
    assert api_client.post("/api/catalogs/", upload(catalog_bytes), format="multipart").status_code == 403
    assert not Catalog.objects.exists()


def test_api_import_embed_mine_and_job(
    researcher_api_client, catalog_bytes, tiny_model_dir, eager_celery, django_capture_on_commit_callbacks
):
    response = researcher_api_client.post("/api/catalogs/", upload(catalog_bytes), format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["items"], body["skipped_empty"], body["skipped_duplicate"]) == (5, 1, 1)
    catalog_id = body["id"]

    bad = researcher_api_client.post(
        "/api/catalogs/", {**upload(catalog_bytes, "x"), "text_column": "nope"}, format="multipart"
    )
    assert bad.status_code == 400 and "no column 'nope'" in bad.json()["message"]

    early = researcher_api_client.post(f"/api/catalogs/{catalog_id}/mine/", {"seeds": 2}, format="json")
    assert early.status_code == 400 and "Embed the catalog" in early.json()["message"]

    model = str(tiny_model_dir)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = researcher_api_client.post(f"/api/catalogs/{catalog_id}/embed/", {"model": model}, format="json")
    assert job.status_code == 202 and len(callbacks) == 1  # one chunk, sent after commit
    state = researcher_api_client.get(f"/api/catalog-jobs/{job.json()['id']}/").json()
    assert (state["status"], state["done"], state["total"], state["progress"]) == ("done", 5, 5, 1.0)
    mined = researcher_api_client.post(
        f"/api/catalogs/{catalog_id}/mine/", {"seeds": 2, "k": 1, "model": model, "random_seed": 3}, format="json"
    )
    assert mined.status_code == 201 and mined.json()["created"] == 2
    detail = researcher_api_client.get(f"/api/catalogs/{catalog_id}/").json()
    assert detail["vectors"] == {model: 5}
    assert researcher_api_client.post(f"/api/catalogs/{catalog_id}/mine/", {}, format="json").status_code == 400


def test_pages_upload_and_show_counts(researcher_client, catalog_bytes, client, db):
    assert researcher_client.get(reverse("catalogs:list")).status_code == 200
    response = researcher_client.post(reverse("catalogs:list"), upload(catalog_bytes))
    catalog = Catalog.objects.get()
    assert response.status_code == 302 and response.url == reverse("catalogs:detail", args=[catalog.pk])
    page = researcher_client.get(response.url).content.decode()
    assert "<strong>1</strong> skipped as empty" in page and "shop.csv" in page
    assert re.search(r"<strong>1</strong>\s+skipped as exact duplicates", page)
    bad = researcher_client.post(reverse("catalogs:list"), {**upload(catalog_bytes, "y"), "id_column": "nope"})
    assert bad.status_code == 400 and "no column" in bad.content.decode()
    missing = researcher_client.post(
        reverse("catalogs:detail", args=[catalog.pk]), {"action": "mine", "mine-k": 1, "mine-random_seed": 0}
    )
    assert missing.status_code == 400 and "Give a number of seeds" in missing.content.decode()
    client.logout()
    assert client.get(reverse("catalogs:list")).status_code == 302  # to the login page


def _catalog_with_vectors(n: int, items: int, vectors: dict[str, int]) -> Catalog:
    catalog = Catalog.objects.create(name=f"c{n}", id_column="id", text_column="text")
    rows = CatalogItem.objects.bulk_create(
        [CatalogItem(catalog=catalog, external_id=str(i), text=f"text {i}") for i in range(items)]
    )
    CatalogVector.objects.bulk_create(
        [
            CatalogVector(item=item, model=model, vector=CatalogVector.pack(np.ones(4)))
            for model, count in vectors.items()
            for item in rows[:count]
        ]
    )
    return catalog


def test_api_list_counts_items_and_vectors_in_a_constant_number_of_queries(
    researcher_api_client, django_assert_max_num_queries
):
    first = _catalog_with_vectors(0, items=3, vectors={"": 3, "m": 1})
    with django_assert_max_num_queries(3):
        assert researcher_api_client.get("/api/catalogs/").status_code == 200
    for n in range(1, 6):
        _catalog_with_vectors(n, items=n, vectors={"": n - 1} if n > 1 else {})
    with django_assert_max_num_queries(3):  # the same bound with six catalogs as with one
        listed = researcher_api_client.get("/api/catalogs/").json()
    by_name = {c["name"]: (c["items"], c["vectors"]) for c in listed}
    assert by_name == {
        "c0": (3, {"": 3, "m": 1}),
        "c1": (1, {}),
        **{f"c{n}": (n, {"": n - 1}) for n in range(2, 6)},
    }
    detail = researcher_api_client.get(f"/api/catalogs/{first.pk}/").json()  # a single catalog, counted alone
    assert (detail["items"], detail["vectors"]) == (3, {"": 3, "m": 1})
