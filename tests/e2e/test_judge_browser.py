"""The judge's page in headless Chromium: invite link, rubric, keyboard rating, resume, blindness, offline retry;
a fast second key press, the rating bar on a phone, and the judge's remarks (comment, "broken" flag).

Needs Debian's chromium (/usr/bin/chromium) and Playwright for Python. Without chromium the test
skips on a user's laptop; with CI=true it runs (and fails if chromium is missing).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bti_eval.judging.models import Assignment, Rating
from bti_eval.judging.services.invites import judge_invite
from bti_eval.rounds.models import EvaluationRound, default_methods
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
    return explained_for_browsers(EvaluationRoundFactory(status=EvaluationRound.Status.RATING))


def explained_for_browsers(round: EvaluationRound) -> EvaluationRound:
    """``round`` with the PAIRS explained by the paper's seven methods, each payload naming its method
    (in ``diagnostics``, where a careless page might show it)."""
    for text_a, text_b in PAIRS:
        pair = ParagraphPairFactory(text_a=text_a, text_b=text_b)
        for method in default_methods():
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


def _wait_until_ready(page) -> None:
    """The item is on screen and its input guard has passed: keys and buttons are taken from now on."""
    page.wait_for_selector('#judge-item[data-ready="1"]', state="attached", timeout=10_000)


def _rate_with_key(page, key: str) -> str:
    """Press a score key on the current item; return its public id once the page has moved on."""
    _wait_until_ready(page)
    public_id = _current_item(page)
    page.keyboard.press(key)
    page.wait_for_url(lambda url: public_id not in url, timeout=10_000)  # auto-advance happens after saving
    return public_id


def test_judge_rates_with_the_keyboard_resumes_and_survives_offline(browser_round, live_server, browser):
    # browser_round (the database) comes first so that the session-scoped live server stops before it.
    from playwright.sync_api import expect

    judge, token = judge_invite(round=browser_round, name="Browser judge")
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
    _wait_until_ready(page)
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


def _eventually(check, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _open_first_item(browser, live_server, round, **context_options):
    judge, token = judge_invite(round=round, name="Browser judge")
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.goto(f"{live_server.url}/j/{token}/")
    page.click("#judge-accept")
    page.click("#judge-start")
    page.wait_for_selector("#judge-item")
    return judge, context, page


def _press_4_then_2(page, *, gap_ms: int, rated, following) -> None:
    """Once ``rated`` is ready, press 4 and, ``gap_ms`` later, 2: ``rated`` is rated 4, the page
    moves on to ``following``, and the 2 rates neither of them."""
    _wait_until_ready(page)
    page.keyboard.press("4")
    page.wait_for_timeout(gap_ms)
    page.keyboard.press("2")
    page.wait_for_url(lambda url: rated.public_id not in url, timeout=10_000)
    assert _current_item(page) == following.public_id
    page.wait_for_timeout(1500)  # long enough for any stray rating to arrive
    assert Rating.objects.get(assignment=rated).score == 4
    assert not Rating.objects.filter(assignment=following).exists()


def test_a_second_key_press_right_after_a_rating_never_rates_the_next_item(browser_round, live_server, browser):
    judge, context, page = _open_first_item(browser, live_server, browser_round)
    first, second, third = judge.assignments.order_by("position")[:3]
    assert _current_item(page) == first.public_id
    page.keyboard.press("1")  # at once, before the item was on screen long enough: nothing happens

    # 4, then 2 within 200 ms: item 1 is 4, and the 2 lands nowhere (not on item 1, not on item 2).
    _press_4_then_2(page, gap_ms=150, rated=first, following=second)
    assert Rating.objects.get(assignment=first).history.count() == 1

    # The case: 2 pressed half a second after the 4, while the page moves on to item 2.
    _press_4_then_2(page, gap_ms=500, rated=second, following=third)

    # Seconds on task run from the moment the item was on screen, not from the navigation's start:
    # item 4 loads in a hidden tab (keys pressed there do nothing), is shown 2 s later, and is rated
    # 1 s after that.
    fourth = judge.assignments.get(position=3)
    page.add_init_script(
        "Object.defineProperty(document, 'visibilityState', {get: () => window.__shown ? 'visible' : 'hidden'});"
    )
    page.goto(f"{live_server.url}/rate/{fourth.public_id}/")
    page.wait_for_timeout(1000)
    page.keyboard.press("1")
    page.wait_for_timeout(1000)
    assert page.get_attribute("#judge-item", "data-ready") is None
    assert not Rating.objects.filter(assignment=fourth).exists()
    page.evaluate("window.__shown = true; document.dispatchEvent(new Event('visibilitychange'))")
    _wait_until_ready(page)
    page.wait_for_timeout(1000)
    page.keyboard.press("5")
    page.wait_for_url(lambda url: fourth.public_id not in url, timeout=10_000)
    seconds = Rating.objects.get(assignment=fourth).seconds
    assert Rating.objects.get(assignment=fourth).score == 5
    assert 1.0 + 0.4 <= seconds < 1.0 + 0.45 + 0.9, seconds  # not the 3+ s since the page loaded
    for rating in Rating.objects.filter(assignment__judge=judge):
        assert rating.seconds >= 0.4  # never the 0.1 s of a press that came before the item was seen
    context.close()


def _screenshot(page, tmp_path, name: str) -> None:
    """Screenshots of the item page go to BTI_SCREENSHOT_DIR when set (to look at), else tmp_path."""
    folder = Path(os.environ.get("BTI_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name))


def _assert_rating_bar_in_view(page, width: int, height: int) -> None:
    bar = page.locator("#judge-bar").bounding_box()
    assert bar is not None and bar["height"] > 0
    assert 0 <= bar["y"] and bar["y"] + bar["height"] <= height + 0.5, bar
    assert 0 <= bar["x"] and bar["x"] + bar["width"] <= width + 0.5, bar
    labels = page.locator("#judge-bar .judge-score-label")
    assert labels.count() == 5
    for index in range(5):
        label = labels.nth(index)
        assert label.is_visible(), index
        box = label.bounding_box()
        button = page.locator("#judge-bar .judge-score").nth(index).bounding_box()
        assert box["width"] > 0 and box["height"] > 0
        assert bar["y"] <= box["y"] and box["y"] + box["height"] <= min(bar["y"] + bar["height"], height) + 0.5
        assert button["x"] <= box["x"] + 0.5 and box["x"] + box["width"] <= button["x"] + button["width"] + 0.5
        # the whole word is drawn: nothing clipped or spilling over
        assert label.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), label.inner_text()


def test_on_a_phone_the_rating_bar_and_its_labels_are_in_view_without_scrolling(
    browser_round, live_server, browser, tmp_path
):
    # The longest explanation of the round, so that the page is taller than the screen.
    longest = max(browser_round.explanations.select_related("pair"), key=lambda e: len(e.pair.text_a))
    judge, context, page = _open_first_item(
        browser, live_server, browser_round, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    item = judge.assignments.filter(explanation__pair=longest.pair).order_by("position").first()
    page.goto(f"{live_server.url}/rate/{item.public_id}/")
    page.wait_for_selector("#judge-item")
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate("document.documentElement.scrollHeight") > 844  # the item is taller than the screen
    _assert_rating_bar_in_view(page, 390, 844)
    _assert_blind(page)
    _screenshot(page, tmp_path, "judge-item-390x844.png")

    # At the end of the page the bar takes its own place: it covers none of the last content.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_timeout(100)
    bar = page.locator("#judge-bar").bounding_box()
    for selector in ("#judge-comment", ".judge-nav"):
        box = page.locator(selector).bounding_box()
        assert box["y"] + box["height"] <= bar["y"] + 0.5 or box["y"] >= bar["y"] + bar["height"] - 0.5, selector
    _assert_rating_bar_in_view(page, 390, 844)
    _screenshot(page, tmp_path, "judge-item-390x844-end.png")

    # A tap on a button rates the item on screen.
    _wait_until_ready(page)
    page.locator('#judge-bar button[data-score="3"]').tap()
    page.wait_for_url(lambda url: item.public_id not in url, timeout=10_000)
    assert Rating.objects.get(assignment=item).score == 3
    context.close()

    desktop = browser.new_context(viewport={"width": 1280, "height": 800})
    page = desktop.new_page()
    _, token = judge_invite(round=browser_round, name="Desktop judge")
    page.goto(f"{live_server.url}/j/{token}/")
    page.click("#judge-accept")
    page.click("#judge-start")
    page.wait_for_selector("#judge-item")
    _assert_rating_bar_in_view(page, 1280, 800)
    _screenshot(page, tmp_path, "judge-item-1280x800.png")
    desktop.close()


def test_a_judge_flags_an_item_and_comments_and_it_is_saved_with_the_rating(browser_round, live_server, browser):
    from playwright.sync_api import expect

    judge, context, page = _open_first_item(browser, live_server, browser_round)
    first, second = judge.assignments.order_by("position")[:2]

    # Rating without touching the remarks: nothing is flagged, no comment.
    _rate_with_key(page, "3")
    rating = Rating.objects.get(assignment=first)
    assert (rating.score, rating.flagged, rating.comment) == (3, False, "")

    # Before rating: tick "broken", type a comment; they go with the rating.
    assert _current_item(page) == second.public_id
    _wait_until_ready(page)
    page.check("#judge-flagged")
    page.fill("#judge-comment", "The second paragraph is cut off <b>here</b>")
    assert not Rating.objects.filter(assignment=second).exists()  # nothing to attach them to yet
    page.click('button[data-score="2"]')
    page.wait_for_url(lambda url: second.public_id not in url, timeout=10_000)
    rating = Rating.objects.get(assignment=second)
    assert (rating.score, rating.flagged, rating.comment) == (2, True, "The second paragraph is cut off <b>here</b>")
    assert rating.history.count() == 1

    # After rating: back on the item, edit the remarks; they are sent with the current score, and the
    # page stays on the item.
    page.goto(f"{live_server.url}/rate/{second.public_id}/")
    expect(page.locator("#judge-comment")).to_have_value("The second paragraph is cut off <b>here</b>")
    expect(page.locator("#judge-flagged")).to_be_checked()
    _assert_blind(page)
    _wait_until_ready(page)
    page.uncheck("#judge-flagged")
    _eventually(lambda: Rating.objects.get(pk=rating.pk).flagged is False)
    page.fill("#judge-comment", "Fine after all")
    page.locator("#judge-comment").blur()
    _eventually(lambda: Rating.objects.get(pk=rating.pk).comment == "Fine after all")
    expect(page.locator("#judge-status")).to_have_text("Saved")
    rating.refresh_from_db()
    assert (rating.score, rating.flagged, rating.comment) == (2, False, "Fine after all")
    assert _current_item(page) == second.public_id  # no advance for a remark
    page.wait_for_timeout(700)
    assert _current_item(page) == second.public_id

    # Offline: the remark waits in the retry queue like a rating, and is sent when the network is back.
    context.set_offline(True)
    page.check("#judge-flagged")
    expect(page.locator("#judge-status")).to_have_text("Offline — 1 rating waiting, will retry")
    rating.refresh_from_db()
    assert rating.flagged is False
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#judge-status")).to_have_text("Saved", timeout=15_000)
    rating.refresh_from_db()
    assert (rating.score, rating.flagged, rating.comment) == (2, True, "Fine after all")
    assert list(rating.history.values_list("score", "flagged", "comment")) == [
        (2, True, "The second paragraph is cut off <b>here</b>"),
        (2, False, "The second paragraph is cut off <b>here</b>"),
        (2, False, "Fine after all"),
        (2, True, "Fine after all"),
    ]
    assert rating.seconds == rating.history.first().seconds  # remarks add no seconds on task
    context.close()


def test_the_pairs_table_keeps_the_rounds_row_budget_and_merges_same_word_pairs(transactional_db, live_server, browser):
    """Point 2 in the browser: a method that selected six pairs, three of them "a ↔ a", shows at most
    the round's ``pairs_shown`` rows; the same-word pairs make one row, and every "a" is outlined."""
    text_a = "a warm a wool a glove scarf"
    text_b = "a soft a wool a mitten hat"
    round = EvaluationRoundFactory(status=EvaluationRound.Status.RATING, pairs_shown=2, methods=["tfidf-w2v"])
    pair = ParagraphPairFactory(text_a=text_a, text_b=text_b)
    payload = payload_for_texts(text_a, text_b, method="tfidf-w2v")
    # word indices: a=0,2,4 on both sides; wool=3; glove/mitten=5
    payload["pairs"] = [
        {"a": i, "b": j, "word_similarity": 1.0, "score": s}
        for i, j, s in [(0, 0, 0.31), (2, 2, 0.30), (4, 4, 0.29), (3, 3, 0.2), (5, 5, 0.1), (1, 1, 0.05)]
    ]
    ExplanationFactory(round=round, pair=pair, method="tfidf-w2v", payload=payload)
    _, context, page = _open_first_item(browser, live_server, round)
    rows = page.locator(".expl-pairs tbody tr")
    assert rows.count() == 2
    assert [" ".join(rows.nth(i).inner_text().split()) for i in range(2)] == ["a↔a 1.00", "wool↔wool 0.65"]
    outlined = page.locator(".expl-paragraph .expl-selected")
    assert sorted(outlined.all_inner_texts()) == sorted(["a", "a", "a", "wool"] * 2)
    _assert_blind(page)
    context.close()
