"""Response headers and small site-wide behaviour: the Content-Security-Policy with per-request
nonces, the favicon, one-line logs for client errors, and what the log-in page says about its limit."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import path

from bti_eval.core import ratelimit
from tests.factories import ResearcherFactory

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "factory-password"


def _csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def _nonce(response) -> str:
    [nonce] = re.findall(r"'nonce-([^']+)'", _csp(response)["script-src"])
    return nonce


# --- Content-Security-Policy -----------------------------------------------------------------


def test_every_kind_of_response_carries_the_policy(world):
    researcher, judge = world.client("researcher"), world.client("judge")
    public_id = world.judge.assignments.first().public_id
    responses = {
        "researcher page": researcher.get("/rounds/"),
        "judge page": judge.get(f"/rate/{public_id}/"),
        "api": researcher.get("/api/rounds/"),
        "api error": researcher.get("/api/no/such/"),
        "error page": Client().get("/no/such/page/"),
        "static file": Client().get("/static/bti/app.css"),
        "login": Client().get("/accounts/login/"),
    }
    for name, response in responses.items():
        policy = _csp(response)
        assert policy["default-src"] == "'self'", name
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'", name
        assert policy["frame-ancestors"] == "'none'" and policy["form-action"] == "'self'", name
        assert policy["img-src"] == "'self' data:", name
        assert "unsafe-inline" not in response["Content-Security-Policy"], name
        assert "unsafe-eval" not in response["Content-Security-Policy"], name


def test_the_judge_page_inlines_its_css_and_js_with_this_requests_nonce(world):
    client = world.client("judge")
    public_id = world.judge.assignments.first().public_id
    first, second = client.get(f"/rate/{public_id}/"), client.get(f"/rate/{public_id}/")
    assert _nonce(first) != _nonce(second) and len(_nonce(first)) >= 16
    for response in (first, second):
        html = response.content.decode()
        blocks = re.findall(r"<(script|style)\b([^>]*)>", html)
        assert blocks, "the judge page inlines its assets"
        for tag, attributes in blocks:
            if "src=" in attributes:
                continue
            assert f'nonce="{_nonce(response)}"' in attributes, (tag, attributes)


def test_error_pages_style_themselves_with_the_nonce():
    response = Client().get("/no/such/page/")
    assert f'<style nonce="{_nonce(response)}">' in response.content.decode()


def test_only_the_api_docs_allow_inline_style_attributes(world):
    researcher = world.client("researcher")
    docs = researcher.get("/api/docs/")
    assert _csp(docs)["style-src-attr"] == "'unsafe-inline'"
    assert "unsafe-inline" not in _csp(docs)["style-src"] and "unsafe-inline" not in _csp(docs)["script-src"]
    assert "style-src-attr" not in _csp(researcher.get("/rounds/"))


def test_templates_hold_no_inline_handlers_or_style_attributes_and_every_inline_block_has_a_nonce():
    offenders = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        html = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<[a-zA-Z][^>]*\s(on[a-z]+|style)\s*=", html):
            offenders.append(f"{template.relative_to(ROOT)}: {match.group(0)[:60]}")
        for match in re.finditer(r"<(script|style)\b([^>]*)>", html):
            if "src=" not in match.group(2) and "nonce=" not in match.group(2):
                offenders.append(f"{template.relative_to(ROOT)}: {match.group(0)}")
    assert not offenders, offenders


def test_the_results_plot_is_inlined_without_style_attributes(world):
    response = world.client("researcher").get(f"/rounds/{world.round.pk}/results/")
    html = response.content.decode()
    assert response.status_code == 200 and "<svg" in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert " style=" not in svg and "<style" not in svg
    assert re.search(r'<path [^>]*fill="#[0-9a-fA-F]{6}"', svg)  # the colours are presentation attributes now


# --- favicon ---------------------------------------------------------------------------------


def test_the_favicon_is_served_and_linked_from_both_base_templates(world):
    icon = Client().get("/favicon.ico")
    assert icon.status_code == 200
    assert icon["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = Client().get("/static/bti/favicon.svg")
    assert svg.status_code == 200
    public_id = world.judge.assignments.first().public_id
    researcher_page = world.client("researcher").get("/rounds/").content.decode()
    assert 'rel="icon" href="/favicon.ico"' in researcher_page and "bti/favicon.svg" in researcher_page
    # Judge pages link the root icon only: a static path would put the project's name ("bti") in
    # front of judges, where the blinding tests forbid every method's name.
    judge_page = world.client("judge").get(f"/rate/{public_id}/").content.decode()
    assert 'rel="icon" href="/favicon.ico"' in judge_page and "/static/" not in judge_page.split("</head>")[0]


# --- logging ---------------------------------------------------------------------------------


def _boom(request):
    raise RuntimeError("a bug")


def _forbidden(request):
    raise PermissionDenied("not yours")


urlpatterns = [path("boom/", _boom), path("forbidden/", _forbidden)]


@pytest.mark.urls(__name__)
def test_a_403_is_one_log_line_and_a_500_keeps_its_traceback(db, caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/forbidden/").status_code == 403
        assert client.get("/boom/").status_code == 500
    forbidden = [r for r in caplog.records if r.getMessage().startswith("Forbidden")]
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert forbidden and all(r.exc_info is None for r in forbidden)
    assert "\n" not in logging.Formatter().format(forbidden[0])
    assert error.exc_info is not None and "RuntimeError: a bug" in logging.Formatter().format(error)


def test_a_judge_on_a_researcher_page_is_logged_without_a_traceback(world, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert world.client("judge").get("/rounds/").status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records and all(r.exc_info is None and "Traceback" not in caplog.text for r in records)


# --- log-in limit ----------------------------------------------------------------------------


def _login(browser: Client, username: str, password: str):
    return browser.post("/accounts/login/", {"username": username, "password": password})


@pytest.mark.parametrize("exists", [True, False], ids=["real-user", "unknown-user"])
def test_the_login_page_counts_down_the_tries_and_says_when_it_unlocks(db, exists):
    username = ResearcherFactory().username if exists else "nobody-by-this-name"
    browser = Client(REMOTE_ADDR="192.0.2.77")
    limit = ratelimit.LOGIN_PER_USER.max_failures  # 10
    pages = [_login(browser, username, "wrong").content.decode() for _ in range(limit)]
    assert all("tries left" not in page for page in pages[:4])  # no noise while plenty are left
    assert "5 tries left" in pages[4] and "paused for up to 15 minutes" in pages[4]
    assert "1 try left" in pages[8]
    assert "That was the last try" in pages[9] and "15 minutes (at " in pages[9]
    blocked = _login(browser, username, PASSWORD)
    text = blocked.content.decode()
    assert blocked.status_code == 429
    assert re.search(r"Log-in works again in 1[45] minutes \(at \d\d:\d\d UTC\)", text), text
    assert 840 <= int(blocked["Retry-After"]) <= 900


def test_the_login_messages_do_not_tell_a_real_username_from_an_unknown_one(db):
    def messages_for(username: str, address: str) -> list[str]:
        browser = Client(REMOTE_ADDR=address)
        pages = [_login(browser, username, "wrong").content.decode() for _ in range(11)]
        return [re.sub(r"\d\d:\d\d UTC", "HH:MM", re.sub(r"csrfmiddlewaretoken[^>]*>", "", p)) for p in pages]

    real = messages_for(ResearcherFactory().username, "192.0.2.78")
    unknown = messages_for("nobody-by-this-name", "192.0.2.79")
    assert [re.findall(r'<li class="msg-[^"]*">([^<]*)</li>', p) for p in real] == [
        re.findall(r'<li class="msg-[^"]*">([^<]*)</li>', p) for p in unknown
    ]
