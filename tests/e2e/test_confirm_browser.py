"""Destructive buttons ask first, in headless Chromium: dismissing the dialog leaves the round open,
accepting it closes the round (static/bti/confirm.js on every form with data-confirm)."""

from __future__ import annotations

from django.conf import settings
from django.test import Client

from bti_eval.rounds.models import EvaluationRound

# The Chromium fixture and skip rule of the judge's browser test.
from tests.e2e.test_judge_browser import browser, pytestmark  # noqa: F401
from tests.factories import EvaluationRoundFactory, ResearcherFactory


def _signed_in_page(chromium, live_server, user):
    client = Client()
    client.force_login(user)
    context = chromium.new_context()
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context.new_page()


def test_closing_a_round_asks_for_confirmation(transactional_db, live_server, browser):  # noqa: F811
    round = EvaluationRoundFactory(explained_pairs=1, methods=["bti"], status=EvaluationRound.Status.RATING)
    page = _signed_in_page(browser, live_server, ResearcherFactory())
    url = f"{live_server.url}/rounds/{round.pk}/"
    page.goto(url)
    questions: list[str] = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("#close-button")
    page.wait_for_timeout(500)  # time for a submit to go out, if it were not cancelled
    assert questions and questions[0].startswith(f"Close the round “{round.name}”?")
    assert page.url == url
    round.refresh_from_db()
    assert round.status == EvaluationRound.Status.RATING

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#close-button")
    assert "The round is closed: ratings are frozen." in page.inner_text(".messages")
    round.refresh_from_db()
    assert round.status == EvaluationRound.Status.CLOSED
    assert page.locator("form[data-confirm] #archive-button").count() == 1  # the next step asks too
