"""The judge's page in headless Chromium: invite link, rubric, keyboard rating, resume, blindness, offline retry.

Needs Debian's chromium (/usr/bin/chromium) and Playwright for Python. Without chromium the test
skips on a user's laptop; with CI=true it runs (and fails if chromium is missing).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bti_eval.judging import services
from bti_eval.judging.models import Assignment, Rating
from bti_eval.rounds.models import DEFAULT_METHODS, EvaluationRound
from tests.factories import EvaluationRoundFactory, ExplanationFactory, ParagraphPairFactory
from tests.judging.conftest import method_words_in
from tests.judging.payloads import payload_for_texts

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
PAIRS = [
    (
        "Soft wool gloves with touchscreen fingertips and a ribbed cuff.",
        "Knitted gloves in a wool blend with touch fingertips.",
    ),
    (
        "Slim-fit jeans in washed stretch denim with five pockets.",
        "Skinny jeans in stretch denim, washed, with a zip fly.",
    ),
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI") != "true",
        reason="Debian's chromium (/usr/bin/chromium) is not installed; .ci/run installs it",
    ),
]


@pytest.fixture
def browser_round(transactional_db):
    """A round open for rating: 2 pairs × the 7 methods, with payloads that name their method."""
    round = EvaluationRoundFactory(status=EvaluationRound.Status.RATING)
    for text_a, text_b in PAIRS:
        pair = ParagraphPairFactory(text_a=text_a, text_b=text_b)
        for method in DEFAULT_METHODS:
            payload = payload_for_texts(text_a, text_b, method=method, extra={"diagnostics": {"method": method}})
            ExplanationFactory(round=round, pair=pair, method=method, payload=payload)
    return round


@pytest.fixture
def browser(monkeypatch):
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # Inside this context Django hands out its own connection; close it, or the test
        # database cannot be dropped at the end of the session.
        connections.close_all()


def _assert_blind(page) -> None:
    assert method_words_in(page.content()) == [], page.url
    assert method_words_in(page.inner_text("body")) == [], page.url


def _current_item(page) -> str:
    return page.get_attribute("#judge-item", "data-item")


def _rate_with_key(page, key: str) -> str:
    """Press a score key on the current item; return its public id once the page has moved on."""
    public_id = _current_item(page)
    page.keyboard.press(key)
    page.wait_for_url(lambda url: public_id not in url, timeout=10_000)  # auto-advance happens after saving
    return public_id


def test_judge_rates_with_the_keyboard_resumes_and_survives_offline(browser_round, live_server, browser):
    # browser_round (the database) comes first so that the session-scoped live server stops before it.
    from playwright.sync_api import expect

    judge, token = services.judge_invite(round=browser_round, name="Browser judge")
    total = judge.assignments.count()
    assert total == 14
    context = browser.new_context()
    page = context.new_page()

    page.goto(f"{live_server.url}/j/{token}/")
    _assert_blind(page)
    page.click("#judge-accept")
    page.wait_for_url("**/rate/")
    assert page.url.endswith("/rate/")
    expect(page.locator("h1")).to_have_text("How to rate")
    _assert_blind(page)
    page.click("#judge-start")
    page.wait_for_selector("#judge-item")

    for position, key in enumerate(("4", "2", "5")):
        _assert_blind(page)
        assert page.inner_text("#judge-item .judge-position") == f"Item {position + 1} of {total}"
        public_id = _rate_with_key(page, key)
        rating = Rating.objects.get(assignment__public_id=public_id)
        assert rating.score == int(key)
        assert rating.assignment.judge_id == judge.pk and rating.assignment.position == position
        assert rating.seconds is not None and 0 <= rating.seconds < 600

    page.reload()
    expect(page.locator("#judge-rated")).to_have_text("3")
    expect(page.locator("#judge-progress-text")).to_have_text(f"3 of {total} rated")
    page.goto(f"{live_server.url}/rate/")
    assert _current_item(page) == judge.assignments.get(position=3).public_id
    _assert_blind(page)

    # Offline: the rating waits in the browser, nothing reaches the database, then it is sent.
    offline_id = _current_item(page)
    context.set_offline(True)
    page.keyboard.press("3")
    expect(page.locator("#judge-status")).to_have_text("Offline — 1 rating waiting, will retry")
    assert not Rating.objects.filter(assignment__public_id=offline_id).exists()
    page.wait_for_timeout(1500)  # a retry or two while still offline
    assert not Rating.objects.filter(assignment__public_id=offline_id).exists()
    context.set_offline(False)
    page.wait_for_url(lambda url: offline_id not in url, timeout=15_000)
    assert Rating.objects.get(assignment__public_id=offline_id).score == 3
    assert Assignment.objects.filter(judge=judge, rating__isnull=False).count() == 4
    expect(page.locator("#judge-progress-text")).to_have_text(f"4 of {total} rated")
    _assert_blind(page)
    context.close()
