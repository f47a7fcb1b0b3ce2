"""A Prolific participant in headless Chromium: from the study link through rating to Prolific's
completion URL (intercepted by Playwright's routing: nothing leaves the machine).

Needs Debian's chromium, as tests/e2e/test_judge_browser.py does (its fixtures are reused here).
"""

from __future__ import annotations

import pytest

from bti_eval.judging.models import Judge, Participation
from bti_eval.judging.services.studies import study_link_create
from bti_eval.rounds.models import EvaluationRound
from tests.e2e.test_judge_browser import (  # noqa: F401 - the browser fixture and helpers
    _assert_blind,
    _rate_with_key,
    browser,
    explained_for_browsers,
    pytestmark,
)
from tests.factories import EvaluationRoundFactory

PID, STUDY, SESSION = "5f3c1a2b" + "0" * 16, "60b1" + "1" * 20, "61c2" + "2" * 20


@pytest.fixture
def crowd_round(transactional_db):
    """A k-per-item round (k = 2) open for rating: 2 pairs × the 7 methods, payloads naming their method."""
    round = EvaluationRoundFactory(
        status=EvaluationRound.Status.RATING, design=EvaluationRound.Design.K_PER_ITEM, judges_per_explanation=2
    )
    return explained_for_browsers(round)


def _assert_private(page) -> None:
    _assert_blind(page)
    assert PID not in page.content() and SESSION not in page.content(), page.url


def test_a_prolific_participant_goes_from_the_study_link_to_the_completion_redirect(crowd_round, live_server, browser):  # noqa: F811
    from playwright.sync_api import expect

    link = study_link_create(
        round=crowd_round, platform="prolific", completion_code="C0MPL3TE", items_per_participant=5
    )
    context = browser.new_context()
    returned: list[str] = []

    def prolific(route) -> None:  # stands in for Prolific: records where the participant was sent
        returned.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Prolific: submission complete</h1>")

    context.route("https://app.prolific.com/**", prolific)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{link.token}/?PROLIFIC_PID={PID}&STUDY_ID={STUDY}&SESSION_ID={SESSION}")
    page.wait_for_url("**/rate/")
    expect(page.locator("h1")).to_have_text("How to rate")
    expect(page.locator("body")).to_contain_text("You have 5 explanations to rate")
    _assert_private(page)
    page.click("#judge-start")
    page.wait_for_selector("#judge-item")

    judge = Judge.objects.get(participant_id=PID)
    for position in range(5):
        _assert_private(page)
        assert page.inner_text("#judge-item .judge-position") == f"Item {position + 1} of 5"
        _rate_with_key(page, str(1 + position % 5))
    page.wait_for_url("**/rate/done/")
    expect(page.locator("#study-code")).to_have_text("C0MPL3TE")
    _assert_private(page)
    assert judge.ratings.count() == 5

    page.click("#study-return")
    page.wait_for_url("https://app.prolific.com/**")
    assert returned == ["https://app.prolific.com/submissions/complete?cc=C0MPL3TE"]
    expect(page.locator("h1")).to_have_text("Prolific: submission complete")
    participation = Participation.objects.get(judge=judge)
    assert (participation.outcome, participation.code, participation.study_session) == (
        "completed",
        "C0MPL3TE",
        SESSION,
    )
    context.close()
