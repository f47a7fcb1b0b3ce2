"""Pair pages: upload → preview with column selects → confirm; the list; access and escaping."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bti_eval.pairs.models import ParagraphPair
from tests.factories import ParagraphPairFactory, UserFactory

pytestmark = pytest.mark.django_db

CSV = b"code,left,right\nk1,<script>alert(1)</script> wool gloves,knitted gloves\nk2,a dress,a maxi dress\n"


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def upload(client, content=CSV, name="pairs.csv", source="shop"):
    return client.post(
        reverse("pairs:import"), {"file": SimpleUploadedFile(name, content), "source": source, "format": ""}
    )


def test_upload_preview_map_and_confirm(researcher_client):
    response = upload(researcher_client)
    assert response.status_code == 302 and response.url == reverse("pairs:import-preview")

    preview = researcher_client.get(response.url)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert '<option value="left">left</option>' in html  # columns detected from the header
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "Choose the column" in html  # left/right cannot be guessed: the researcher maps them

    mapping = {"text_a": "left", "text_b": "right", "external_id": "code", "title_a": "", "title_b": ""}
    checked = researcher_client.post(response.url, {**mapping, "action": "check"})
    assert checked.status_code == 200 and "Pairs as they will be imported" in checked.content.decode()
    assert ParagraphPair.objects.count() == 0

    done = researcher_client.post(response.url, {**mapping, "action": "import"})
    assert done.status_code == 302 and done.url == reverse("pairs:list") + "?source=shop"
    assert sorted(ParagraphPair.objects.values_list("external_id", flat=True)) == ["k1", "k2"]
    listing = researcher_client.get(done.url).content.decode()
    assert "&lt;script&gt;" in listing and "<script>alert" not in listing


def test_confirm_with_row_errors_writes_nothing_and_lists_them(researcher_client):
    upload(researcher_client, content=b"id,a,b\n1,x,y\n2,,y\n")
    response = researcher_client.post(
        reverse("pairs:import-preview"), {"text_a": "a", "text_b": "b", "external_id": "id", "action": "import"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "1 row error" in html and "empty text (text_a)" in html
    assert ParagraphPair.objects.count() == 0


def test_non_utf8_upload_is_refused_on_the_form(researcher_client):
    response = upload(researcher_client, content="id,a,b\n1,caf\xe9,b\n".encode("latin-1"))
    assert response.status_code == 400 and "is not UTF-8 (invalid byte 0xe9 on line 2)" in response.content.decode()


def test_too_large_upload_is_413(researcher_client, settings):
    settings.BTI_MAX_UPLOAD_BYTES = 10
    response = upload(researcher_client)
    assert response.status_code == 413 and "the limit is 10 bytes" in response.content.decode()


def test_preview_without_an_upload_goes_back_to_the_form(researcher_client):
    response = researcher_client.get(reverse("pairs:import-preview"))
    assert response.status_code == 302 and response.url == reverse("pairs:import")


def test_pair_list_filters_by_source(researcher_client):
    ParagraphPairFactory(source="wine", external_id="w1")
    ParagraphPairFactory(source="fashion", external_id="f1")
    html = researcher_client.get(reverse("pairs:list") + "?source=wine").content.decode()
    # Whole cells, not substrings: a random CSRF token in the page may contain "f1".
    assert "<td>w1</td>" in html and "<td>f1</td>" not in html


@pytest.mark.parametrize("name", ["pairs:list", "pairs:import"])
def test_pages_are_for_researchers(client, name):
    anonymous = client.get(reverse(name))
    assert anonymous.status_code == 302 and anonymous.url.startswith("/accounts/login/")
    client.force_login(UserFactory())
    assert client.get(reverse(name)).status_code == 403


def test_upload_needs_csrf(researcher):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)
    assert upload(client).status_code == 403


def test_the_first_look_at_the_preview_shows_no_error(researcher_client):
    """Columns that cannot be guessed: the page asks for a mapping, in no red, before any submit."""
    response = upload(researcher_client)
    html = researcher_client.get(response.url).content.decode()
    assert 'id="mapping-hint"' in html and "Choose the column" in html
    assert 'class="error' not in html
    checked = researcher_client.post(response.url, {"text_a": "", "text_b": "", "action": "check"})
    assert checked.status_code == 400 and 'class="error' in checked.content.decode()  # after a submit: an error


def test_preview_counts_are_pluralized(researcher_client):
    upload(researcher_client, content=b"id,a,b\n1,x,y\n")
    html = researcher_client.get(reverse("pairs:import-preview")).content.decode()
    assert "(CSV, 1 row)" in html and "Import 1 pair</button>" in html and "1 pairs" not in html
