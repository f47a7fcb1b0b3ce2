"""The API docs page works on a closed network: Swagger UI comes from our own static files
(drf-spectacular-sidecar), its init script is a file of its own, and it renders in Chromium with
every request to another host refused."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.test import Client

DOCS = "/api/docs/"
CHROMIUM = Path("/usr/bin/chromium")


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _references(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


@pytest.mark.django_db
def test_the_docs_page_references_only_local_files_and_they_are_served():
    client = Client()
    response = client.get(DOCS)
    assert response.status_code == 200
    page = response.content.decode()
    references = _references(page)
    assert references, page
    for url in references:
        assert not re.match(r"^(https?:)?//", url), f"{url} is not served by this site"
    scripts = [url for url in references if "swagger-ui-bundle.js" in url or "standalone" in url]
    assert len(scripts) == 2 and all(url.startswith("/static/") for url in scripts)
    for url in references:
        served = client.get(url.replace("&amp;", "&"))
        assert served.status_code == 200, url
        assert _body(served), url
    # No inline script or style: the init script is /api/docs/?script= (a CSP without 'unsafe-inline').
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) and "<style" not in page
    init = client.get(DOCS + "?script=")
    assert init.status_code == 200 and init["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in init.content.decode() and "SwaggerUIBundle" in init.content.decode()


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true", reason="Debian's chromium is not installed"
)
def test_the_docs_page_renders_in_chromium_with_no_network(transactional_db, live_server, monkeypatch, tmp_path):
    from django.db import connections
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_judge_browser import CHROMIUM_ARGS

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    refused: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})

            def only_this_site(route):
                if route.request.url.startswith(live_server.url):
                    route.continue_()
                else:
                    refused.append(route.request.url)
                    route.abort()

            page.route("**/*", only_this_site)
            page.goto(live_server.url + DOCS)
            page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
            page.wait_for_selector(".opblock", timeout=20_000)
            title = page.inner_text(".swagger-ui .info .title")
            operations = page.locator(".opblock").count()
            shot = Path(os.environ.get("BTI_SCREENSHOT_DIR", tmp_path)) / "api-docs.png"
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
            connections.close_all()
    assert "BTI evaluation platform API" in title
    assert operations > 20  # every endpoint, the token endpoint among them
    assert refused == []
    assert shot.stat().st_size > 20_000  # not a blank page
