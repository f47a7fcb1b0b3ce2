"""The judge's page in headless Chromium when saving fails: it keeps the unsent rating (across a
reload too), retries by itself, tells the judge what it is doing, and the rating is stored once.

tests/e2e/test_judge_browser.py covers the browser going offline and coming back; these add a
server that answers 503 (its database connection dropped) and a network that fails while the judge
reloads the page.
"""

from __future__ import annotations

import os

import pytest

from bti_eval.judging.models import Rating, RatingChange
from bti_eval.judging.services.invites import judge_invite
from bti_eval.rounds.models import EvaluationRound
from tests.e2e.test_judge_browser import CHROMIUM, browser  # noqa: F401  (the Chromium fixture)
from tests.factories import EvaluationRoundFactory
from tests.faults.dbfaults import drop_connection_on

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI") != "true",
        reason="Debian's chromium (/usr/bin/chromium) is not installed; .ci/run installs it",
    ),
]
RATING_API = "**/api/judge/assignments/*/rating/"


@pytest.fixture
def judge_round(transactional_db):
    return EvaluationRoundFactory(explained_pairs=2, methods=["bti", "tfidf-w2v"], status=EvaluationRound.Status.RATING)


def _open_first_item(browser, live_server, round):  # noqa: F811
    from playwright.sync_api import expect

    judge, token = judge_invite(round=round, name="Browser judge")
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/j/{token}/")
    page.click("#judge-accept")
    page.click("#judge-start")
    page.wait_for_selector("#judge-item")
    expect(page.locator("#judge-status")).to_have_text("")
    page.wait_for_selector('#judge-item[data-ready="1"]', state="attached")  # keys are taken from now on
    return judge, context, page


def test_a_503_from_a_dropped_database_connection_is_retried_until_saved(judge_round, live_server, browser):  # noqa: F811
    from playwright.sync_api import expect

    judge, context, page = _open_first_item(browser, live_server, judge_round)
    public_id = page.get_attribute("#judge-item", "data-item")
    with drop_connection_on('INSERT INTO "judging_rating"', times=2) as fault:
        page.keyboard.press("4")
        expect(page.locator("#judge-status")).to_have_text("Server busy — 1 rating waiting, will retry")
        expect(page.locator('button[data-score="4"]')).to_have_class("judge-score is-pending")
        page.wait_for_url(lambda url: public_id not in url, timeout=30_000)  # saved on a retry, then moved on
    assert fault.count == 2
    rating = Rating.objects.get(assignment__public_id=public_id)
    assert rating.score == 4 and RatingChange.objects.filter(rating=rating).count() == 1
    expect(page.locator("#judge-progress-text")).to_have_text("1 of 4 rated")
    context.close()


def test_an_unsent_rating_survives_a_reload_and_is_sent_when_the_network_is_back(judge_round, live_server, browser):  # noqa: F811
    from playwright.sync_api import expect

    judge, context, page = _open_first_item(browser, live_server, judge_round)
    public_id = page.get_attribute("#judge-item", "data-item")
    page.route(RATING_API, lambda route: route.abort("internetdisconnected"))
    page.keyboard.press("2")
    expect(page.locator("#judge-status")).to_have_text("Offline — 1 rating waiting, will retry")

    page.reload()  # the page loads; the rating API is still unreachable
    expect(page.locator('button[data-score="2"]')).to_have_class("judge-score is-pending")
    expect(page.locator("#judge-status")).to_have_text("Offline — 1 rating waiting, will retry")
    assert "judge-pending-ratings-v1" in page.evaluate("Object.keys(window.localStorage)")
    assert not Rating.objects.exists()

    page.unroute(RATING_API)  # the network is back, and the browser says so ("online"): sent at once
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_url(lambda url: public_id not in url, timeout=30_000)
    assert Rating.objects.get(assignment__public_id=public_id).score == 2
    assert Rating.objects.count() == 1 and RatingChange.objects.count() == 1
    assert page.evaluate("window.localStorage.getItem('judge-pending-ratings-v1')") == "{}"
    context.close()
