"""The database connection dropped in the middle of a rating (a real server, a really terminated
PostgreSQL backend): the judge gets a clear 503 (not a 500), a retry succeeds, nothing is doubled."""

from __future__ import annotations

from bti_eval.judging.models import Rating, RatingChange
from tests.faults.dbfaults import drop_connection_on


def test_a_rating_whose_connection_drops_is_a_503_then_the_retry_saves_it_once(http_judge):
    public_id = http_judge.item_ids()[0]
    with drop_connection_on('INSERT INTO "judging_rating"') as fault:
        failed = http_judge.rate(public_id, 4)
    assert fault.fired.is_set()
    assert failed.status_code == 503
    assert failed.headers["Content-Type"] == "application/json" and failed.headers["Retry-After"] == "5"
    assert failed.json()["message"].startswith("The database is unreachable right now; nothing was saved.")
    assert "Traceback" not in failed.text
    assert not Rating.objects.exists()  # the transaction rolled back with the connection

    retried = http_judge.rate(public_id, 4)  # the server reconnects for the next request
    assert retried.status_code == 201 and retried.json()["created"] is True
    again = http_judge.rate(public_id, 4)  # the client retrying once more (its answer got lost, say)
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["changed"] is False
    assert Rating.objects.get().score == 4
    assert RatingChange.objects.count() == 1


def test_a_connection_lost_after_the_insert_rolls_back_the_whole_rating(http_judge):
    """Dropped between the rating and its history row: neither is kept, the retry writes both once."""
    public_id = http_judge.item_ids()[1]
    with drop_connection_on('INSERT INTO "judging_ratingchange"'):
        assert http_judge.rate(public_id, 2).status_code == 503
    assert not Rating.objects.exists() and not RatingChange.objects.exists()
    assert http_judge.rate(public_id, 2).status_code == 201
    assert Rating.objects.count() == 1 and RatingChange.objects.count() == 1


def test_a_change_whose_connection_drops_keeps_the_old_score_and_the_retry_applies_it(http_judge):
    public_id = http_judge.item_ids()[0]
    assert http_judge.rate(public_id, 3).status_code == 201
    with drop_connection_on('UPDATE "judging_rating"'):
        assert http_judge.rate(public_id, 5).status_code == 503
    assert Rating.objects.get().score == 3
    changed = http_judge.rate(public_id, 5)
    assert changed.status_code == 200 and changed.json()["changed"] is True
    assert list(RatingChange.objects.order_by("id").values_list("score", flat=True)) == [3, 5]


def test_a_judge_page_whose_connection_drops_is_a_friendly_503(http_judge):
    public_id = http_judge.item_ids()[0]
    with drop_connection_on('FROM "judging_assignment"'):
        page = http_judge.session.get(f"{http_judge.base_url}/rate/{public_id}/", timeout=30)
    assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")
    assert "Temporarily unavailable" in page.text and "Traceback" not in page.text
    assert http_judge.session.get(f"{http_judge.base_url}/rate/{public_id}/", timeout=30).status_code == 200
