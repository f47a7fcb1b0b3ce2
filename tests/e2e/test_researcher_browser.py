"""The researcher's pages in headless Chromium: invite links stay listed and copy to the clipboard,
a token is shown once with a copy button, and the preview shows the judge's page with a banner.
Screenshots go to ``BTI_SCREENSHOT_DIR`` when it is set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bti_eval.judging.models import Judge
from tests.e2e.test_judge_browser import CHROMIUM, CHROMIUM_ARGS, browser, browser_round  # noqa: F401 - fixtures
from tests.factories import ResearcherFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI") != "true", reason="Debian's chromium is not installed"
    ),
]
PASSWORD = "pw-not-for-production"


def _shot(page, name: str) -> None:
    folder = os.environ.get("BTI_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_invite_links_copy_tokens_and_preview(browser_round, live_server, browser):  # noqa: F811
    from playwright.sync_api import expect

    researcher = ResearcherFactory()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", researcher.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/rounds/")

    page.goto(f"{live_server.url}/rounds/{browser_round.pk}/judges/")
    for name in ("Alice", "Bob"):
        page.fill("#id_name", name)
        page.click("text=Invite a judge >> nth=-1")
        page.wait_for_load_state()
    page.fill("#id_names", "Cleo\nDan")
    page.click("text=Invite these judges")
    page.wait_for_load_state()
    links = page.locator(".fresh-links input[type=text]")
    expect(links).to_have_count(4)  # Alice's link is still there after Bob's and the bulk invite
    alice = Judge.objects.get(round=browser_round, name="Alice")
    page.click(f'[data-copy="invite-url-{alice.pk}"]')
    expect(page.locator(f'[data-copy="invite-url-{alice.pk}"]')).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.input_value(f"#invite-url-{alice.pk}") and "/j/" in copied
    _shot(page, "judges-page")

    page.goto(f"{live_server.url}/accounts/tokens/")
    page.fill("#id_name", "analysis notebook")
    page.click("text=Create a token")
    page.wait_for_load_state()
    key = page.input_value("#new-token")
    page.click('[data-copy="new-token"]')
    assert page.evaluate("navigator.clipboard.readText()") == key
    _shot(page, "token-page")
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)  # shown once

    page.goto(f"{live_server.url}/rounds/{browser_round.pk}/")
    page.click("text=Preview as a judge")
    page.wait_for_selector(".preview-banner")
    expect(page.locator("#preview-method")).to_have_text(browser_round.methods[0])
    assert page.locator(".judge-score[disabled]").count() == 5
    page.keyboard.press("4")  # rating is off: nothing is sent
    _shot(page, "preview")
    context.close()
