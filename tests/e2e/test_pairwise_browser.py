"""A pairwise round's judge page in headless Chromium: the judge chooses with the keyboard (←, →, ↓
and 1, 2, 3) and the choice is saved for the item on screen; a click changes it; offline choices
wait and are sent; nothing on the page names a method or a side's method.

Needs Debian's chromium (/usr/bin/chromium) and Playwright for Python, as tests/e2e/test_judge_browser.py.
"""

from __future__ import annotations

import pytest

from bti_eval.judging.models import Rating
from bti_eval.rounds import services as round_services
from bti_eval.rounds.models import EvaluationRound
from tests.e2e import test_csp_browser as csp
from tests.e2e import test_judge_browser as judge_browser
from tests.factories import EvaluationRoundFactory, ExplanationFactory, ParagraphPairFactory
from tests.judging.payloads import payload_for_texts

# The judge browser test's Chromium launch and its skip rule.
browser = judge_browser.browser
pytestmark = judge_browser.pytestmark
PAIRS, _assert_blind, _current_item = judge_browser.PAIRS, judge_browser._assert_blind, judge_browser._current_item
_screenshot, _wait_until_ready = judge_browser._screenshot, judge_browser._wait_until_ready
METHODS = ["bti", "vanilla-gradients", "tfidf-w2v"]


@pytest.fixture
def pairwise_round(transactional_db):
    """A pairwise round open for rating: 2 pairs × 3 methods (3 comparisons a pair), payloads that
    name their method, one control item."""
    round = EvaluationRoundFactory(methods=METHODS, status=EvaluationRound.Status.COMPUTING)
    for text_a, text_b in PAIRS:
        pair = ParagraphPairFactory(text_a=text_a, text_b=text_b)
        round.pairs.add(pair)
        for rank, method in enumerate(METHODS):
            payload = payload_for_texts(text_a, text_b, method=method, extra={"diagnostics": {"method": method}})
            for side in payload["words"]:
                for word in side:
                    word["saliency"] = float(f"{word['saliency'] * (1 - 0.3 * rank):.3f}")
            ExplanationFactory(round=round, pair=pair, method=method, payload=payload)
    round_services.round_options_update(round=round, design="pairwise", control_items=1)
    return round_services.round_open(round=round)


def _choose_with_key(page, key: str) -> str:
    """Press a key on the item on screen once it takes input; return its public id once the page
    has moved on (the choice was saved)."""
    _wait_until_ready(page)
    public_id = _current_item(page)
    page.keyboard.press(key)
    page.wait_for_url(lambda url: public_id not in url, timeout=10_000)
    return public_id


def test_a_judge_chooses_with_the_keyboard_and_each_choice_is_saved_for_the_item_on_screen(
    pairwise_round, live_server, browser, tmp_path
):
    from playwright.sync_api import expect

    from bti_eval.judging.services.invites import judge_invite

    judge, token = judge_invite(round=pairwise_round, name="Browser judge")
    total = judge.assignments.count()
    assert total == 2 * 3 + 1
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    console_errors = csp._watch(context)  # the page runs under the Content-Security-Policy
    page = context.new_page()
    page.goto(f"{live_server.url}/j/{token}/")
    page.click("#judge-accept")
    page.wait_for_url("**/rate/")
    expect(page.locator("body")).to_contain_text("two explanations")
    _assert_blind(page)
    page.click("#judge-start")
    page.wait_for_selector("#judge-item[data-answer='choice']")
    first = _current_item(page)
    assert first == judge.assignments.get(position=0).public_id
    assert page.locator(".judge-side").count() == 2
    assert csp._violations(page, console_errors) == []
    _screenshot(page, tmp_path, "pairwise-item.png")

    keys = [("ArrowLeft", "left"), ("ArrowRight", "right"), ("ArrowDown", "same"), ("1", "left"), ("2", "right")]
    for position, (key, expected) in enumerate(keys):
        _assert_blind(page)
        assert page.inner_text("#judge-item .judge-position") == f"Item {position + 1} of {total}"
        public_id = _choose_with_key(page, key)
        rating = Rating.objects.get(assignment__public_id=public_id)
        assert (rating.choice, rating.score) == (expected, None), key
        assert rating.assignment.judge_id == judge.pk and rating.assignment.position == position
        assert rating.seconds is not None and 0.4 <= rating.seconds < 600

    # "3" is about the same; a key pressed before the item is on screen long enough does nothing.
    sixth = _current_item(page)
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(300)
    assert not Rating.objects.filter(assignment__public_id=sixth).exists()
    assert _choose_with_key(page, "3") == sixth
    assert Rating.objects.get(assignment__public_id=sixth).choice == "same"

    # Back to the first item: it shows its saved choice, and a click on another button changes it.
    page.goto(f"{live_server.url}/rate/{first}/")
    expect(page.locator("button[data-choice='left']")).to_have_attribute("aria-pressed", "true")
    _wait_until_ready(page)
    page.click("button[data-choice='right']")
    page.wait_for_url(lambda url: first not in url, timeout=10_000)
    changed = Rating.objects.get(assignment__public_id=first)
    assert changed.choice == "right" and list(changed.history.values_list("choice", flat=True)) == ["left", "right"]

    # Offline: the choice waits in the browser, then it is sent.
    page.goto(f"{live_server.url}/rate/next/")
    offline_id = _current_item(page)
    _wait_until_ready(page)
    context.set_offline(True)
    page.keyboard.press("ArrowRight")
    expect(page.locator("#judge-status")).to_have_text("Offline — 1 rating waiting, will retry")
    assert not Rating.objects.filter(assignment__public_id=offline_id).exists()
    context.set_offline(False)
    page.wait_for_url(lambda url: offline_id not in url, timeout=15_000)
    assert Rating.objects.get(assignment__public_id=offline_id).choice == "right"
    assert Rating.objects.filter(assignment__judge=judge).count() == total
    page.wait_for_url("**/rate/done/", timeout=10_000)
    expect(page.locator("h1")).to_have_text("All done, thank you")
    expect(page.locator("body")).to_contain_text(f"You rated all {total} comparisons")
    _assert_blind(page)
    assert csp._violations(page, console_errors) == []
    context.close()


def test_the_pairwise_results_page_runs_under_the_policy(pairwise_round, live_server, browser, tmp_path):
    """The researcher's page of a pairwise round: strengths, the inline plot, win rates; no violation."""
    from django.test import Client

    from bti_eval.results.simulation import ratings_simulate
    from tests.factories import ResearcherFactory

    ratings_simulate(round=pairwise_round, judges=3, seed=0, sloppy=1)
    client = Client()
    client.force_login(ResearcherFactory())
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    console_errors = csp._watch(context)
    page = context.new_page()
    page.goto(f"{live_server.url}/rounds/{pairwise_round.pk}/results/")
    page.wait_for_load_state("load")
    assert csp._violations(page, console_errors) == []
    assert page.locator("#bradley-terry tbody tr").count() == len(METHODS)
    assert page.locator("#plot svg").count() == 1 and page.locator("#win-rates table").count() == 1
    _screenshot(page, tmp_path, "pairwise-results.png")
    context.close()
