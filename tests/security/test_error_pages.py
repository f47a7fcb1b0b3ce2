"""Never a traceback: friendly error pages with DEBUG off, JSON errors under /api/."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import ResearcherFactory
from tests.judging.conftest import method_words_in

pytestmark = pytest.mark.django_db


def _researcher(**kwargs) -> Client:
    client = Client(raise_request_exception=False, **kwargs)
    client.force_login(ResearcherFactory())
    return client


def _friendly(response, status: int, words: str) -> str:
    html = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert words in html
    for debug_marker in ("Traceback", "Request Method:", "technical", "DEBUG = True", 'File "'):
        assert debug_marker not in html
    assert method_words_in(html) == []  # judges see these pages too
    return html


def test_debug_is_off():
    assert settings.DEBUG is False


def test_unknown_pages_are_a_friendly_404_and_json_under_api():
    client = Client()
    _friendly(client.get("/no/such/page/"), 404, "This page does not exist")
    api = client.get("/api/no/such/endpoint/")
    assert api.status_code == 404 and api.json() == {"message": "No such endpoint or object.", "extra": {}}
    round_404 = _researcher().get("/rounds/999999/")
    _friendly(round_404, 404, "This page does not exist")


def test_an_unexpected_error_is_a_friendly_500_and_json_under_api(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals: /etc/passwd")

    monkeypatch.setattr("bti_eval.rounds.views.round_list", broken)
    monkeypatch.setattr("bti_eval.rounds.apis.round_list", broken)
    client = _researcher()
    html = _friendly(client.get("/rounds/"), 500, "something went wrong on our side")
    assert "secret internals" not in html and "RuntimeError" not in html
    api = client.get("/api/rounds/")
    assert api.status_code == 500 and api["Content-Type"] == "application/json"
    assert "secret internals" not in api.content.decode() and "logged" in api.json()["message"]


def test_a_judge_on_a_researcher_page_gets_a_friendly_403(world):
    _friendly(world.client("judge").get("/rounds/"), 403, "not allowed")


def test_a_stale_form_gets_a_friendly_csrf_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    _friendly(response, 403, "Reload the page")


def test_a_malformed_request_is_a_friendly_400():
    response = Client().get("/rounds/", HTTP_HOST="evil.example.com")  # not in ALLOWED_HOSTS
    _friendly(response, 400, "could not be understood")
