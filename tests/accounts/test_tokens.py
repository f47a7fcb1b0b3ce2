"""Researchers' API tokens: the token page (make, show once, list by prefix, revoke), token
authentication (only a hash stored; legacy DRF tokens still work), and POST /api/auth/token/."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token as LegacyToken
from rest_framework.test import APIClient

from bti_eval.accounts.models import ApiToken
from bti_eval.accounts.services import api_token_hash
from bti_eval.core import ratelimit
from bti_eval.judging.services.invites import judge_invite
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory, ParagraphPairFactory, ResearcherFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-not-for-production"
TOKENS = "/accounts/tokens/"


@pytest.fixture
def researcher():
    return ResearcherFactory()


@pytest.fixture
def researcher_client(researcher):
    client = Client()
    client.force_login(researcher)
    return client


def _new_key(page: str) -> str | None:
    found = re.search(r'value="([^"]+)" id="new-token"', page)
    return found.group(1) if found else None


def _api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# --- the page ------------------------------------------------------------------------------------


def test_the_token_page_makes_a_token_shows_it_once_and_it_works(researcher_client, researcher):
    assert 'href="/accounts/tokens/"' in researcher_client.get("/rounds/").content.decode()  # in the nav
    assert researcher_client.post(TOKENS, {"name": "notebook"}).status_code == 302
    page = researcher_client.get(TOKENS).content.decode()
    key = _new_key(page)
    assert key and 'data-copy="new-token"' in page and "not shown again" in page
    token = ApiToken.objects.get(user=researcher)
    assert token.name == "notebook" and token.prefix == key[:8] and f"<code>{key[:8]}…</code>" in page
    assert token.key_hash == api_token_hash(key) and key not in str(ApiToken.objects.values().get())
    again = researcher_client.get(TOKENS).content.decode()
    assert key not in again and "notebook" in again  # shown once; listed by name and prefix
    assert _api(key).get("/api/rounds/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_several_tokens_and_revoking_one(researcher_client, researcher):
    researcher_client.post(TOKENS, {"name": "laptop"})
    laptop = _new_key(researcher_client.get(TOKENS).content.decode())
    researcher_client.post(TOKENS, {"name": ""})
    server = _new_key(researcher_client.get(TOKENS).content.decode())
    assert list(ApiToken.objects.filter(user=researcher).values_list("name", flat=True)) == ["API token", "laptop"]
    page = researcher_client.get(TOKENS).content.decode()
    forms = re.findall(r'<form method="post" action="/accounts/tokens/\d+/revoke/"\s+data-confirm="[^"]+">', page)
    assert len(forms) == 2 and page.count('class="danger">Revoke</button>') == 2
    revoke = reverse("accounts:token-revoke", kwargs={"token_id": ApiToken.objects.get(name="laptop").pk})
    assert researcher_client.post(revoke).status_code == 302
    assert _api(laptop).get("/api/rounds/").status_code == 401
    assert _api(server).get("/api/rounds/").status_code == 200


def test_a_researcher_cannot_revoke_anothers_token(researcher_client):
    other = ResearcherFactory()
    client = Client()
    client.force_login(other)
    client.post(TOKENS, {"name": "theirs"})
    theirs = ApiToken.objects.get(user=other)
    response = researcher_client.post(reverse("accounts:token-revoke", kwargs={"token_id": theirs.pk}), follow=True)
    assert "No such API token" in response.content.decode()
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_a_nul_in_the_name_is_refused(researcher_client):
    response = researcher_client.post(TOKENS, {"name": "note\x00book"})
    assert response.status_code == 400 and "Null characters are not allowed" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_legacy_drf_tokens_keep_working_are_listed_and_revocable(researcher_client, researcher):
    legacy = LegacyToken.objects.create(user=researcher)
    assert _api(legacy.key).get("/api/rounds/").status_code == 200
    page = researcher_client.get(TOKENS).content.decode()
    assert "drf_create_token" in page and f"{legacy.key[:8]}…" in page and legacy.key not in page
    assert researcher_client.post(reverse("accounts:legacy-token-revoke")).status_code == 302
    assert _api(legacy.key).get("/api/rounds/").status_code == 401


def test_judges_and_other_users_have_no_token_page(client):
    client.force_login(UserFactory())
    assert client.get(TOKENS).status_code == 403
    assert client.post(TOKENS, {"name": "x"}).status_code == 403
    assert Client().get(TOKENS)["Location"].startswith("/accounts/login/")


def test_an_inactive_users_token_stops_working(researcher_client, researcher):
    researcher_client.post(TOKENS, {"name": "x"})
    key = _new_key(researcher_client.get(TOKENS).content.decode())
    researcher.is_active = False
    researcher.save()
    assert _api(key).get("/api/rounds/").status_code == 401


# --- POST /api/auth/token/ -----------------------------------------------------------------------


def _obtain(client: APIClient, username: str, password: str, **extra):
    return client.post("/api/auth/token/", {"username": username, "password": password, **extra}, format="json")


def test_the_token_endpoint_trades_a_password_for_a_token(researcher):
    response = _obtain(APIClient(), researcher.username, PASSWORD, name="ci")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "ci" and body["prefix"] == body["token"][:8]
    assert ApiToken.objects.get(user=researcher).key_hash == api_token_hash(body["token"])
    # README's curl example: list rounds, create a round.
    ParagraphPairFactory.create_batch(3, source="fashion")
    client = _api(body["token"])
    assert client.get("/api/rounds/").status_code == 200
    created = client.post(
        "/api/rounds/", {"name": "fashion pilot", "source": "fashion", "methods": ["bti", "tfidf-w2v"]}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert [r["name"] for r in client.get("/api/rounds/").json()["results"]] == ["fashion pilot"]


def test_the_token_endpoint_refuses_wrong_passwords_non_researchers_and_judges(researcher):
    wrong = _obtain(APIClient(), researcher.username, "nope")
    assert wrong.status_code == 400 and "username and password" in wrong.json()["message"]
    user = UserFactory()
    refused = _obtain(APIClient(), user.username, PASSWORD)
    assert refused.status_code == 403 and "researchers" in refused.json()["message"]
    judge, _ = judge_invite(
        round=EvaluationRoundFactory(explained_pairs=1, status=EvaluationRound.Status.RATING), name="Ann"
    )
    assert _obtain(APIClient(), judge.user.username, "").status_code == 400  # a judge has no password
    assert not ApiToken.objects.exists()


def test_the_token_endpoint_is_rate_limited_like_the_login_page(researcher):
    client = APIClient(REMOTE_ADDR="10.9.8.7")
    for _ in range(ratelimit.LOGIN_PER_USER.max_failures):
        assert _obtain(client, researcher.username, "nope").status_code == 400
    blocked = _obtain(client, researcher.username, PASSWORD)
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert "Wait" in blocked.json()["message"] and not ApiToken.objects.exists()
    # The log-in page shares the count: it refuses too.
    login = Client(REMOTE_ADDR="10.9.8.7").post(
        "/accounts/login/", {"username": researcher.username, "password": PASSWORD}
    )
    assert login.status_code == 429


def test_the_token_endpoint_is_in_the_schema():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/auth/token/"]["post"]
    assert operation["operationId"] == "auth_token_create"
    assert {"201", "400", "403", "429"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"username", "password"} <= set(schema["components"]["schemas"][body]["required"])


def test_a_researcher_holds_at_most_twenty_tokens(researcher_client, researcher):
    from bti_eval.accounts.services import MAX_TOKENS_PER_USER

    for _ in range(MAX_TOKENS_PER_USER):
        assert researcher_client.post(TOKENS, {"name": "x"}).status_code == 302
    response = researcher_client.post(TOKENS, {"name": "one more"})
    assert response.status_code == 409 and "revoke one" in response.content.decode()
    assert ApiToken.objects.filter(user=researcher).count() == MAX_TOKENS_PER_USER
