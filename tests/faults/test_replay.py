"""A double click or a replayed rating request is one rating; a changed score updates it and keeps the
history. Sequential replays over HTTP, and truly simultaneous submits from separate connections."""

from __future__ import annotations

import threading

from bti_eval.judging.models import Rating, RatingChange


def test_a_replayed_request_is_one_rating(http_judge):
    public_id = http_judge.item_ids()[0]
    answers = [http_judge.rate(public_id, 4, seconds=7.5) for _ in range(3)]
    answers.append(http_judge.rate(public_id, 4, seconds=7.5, method="POST"))  # judge.js sends POST
    assert [a.status_code for a in answers] == [201, 200, 200, 200]
    assert [a.json()["created"] for a in answers] == [True, False, False, False]
    assert not any(a.json()["changed"] for a in answers)
    rating = Rating.objects.get()
    assert rating.score == 4 and rating.seconds == 7.5  # a replay does not add its seconds again
    assert RatingChange.objects.count() == 1


def test_a_changed_score_updates_the_rating_and_keeps_the_history(http_judge):
    public_id = http_judge.item_ids()[0]
    for score in (2, 2, 5, 5, 3):
        assert http_judge.rate(public_id, score, seconds=1.0).status_code in (200, 201)
    rating = Rating.objects.get()
    assert rating.score == 3
    assert list(rating.history.order_by("id").values_list("score", flat=True)) == [2, 5, 3]
    assert rating.seconds == 3.0  # the seconds of the three decisions, not of the replays


def _simultaneously(http_judge, public_id: str, scores: list[int]) -> list:
    """Send one rating per score at the same instant, each on its own connection."""
    barrier = threading.Barrier(len(scores))
    answers: list = [None] * len(scores)

    def send(index: int, score: int) -> None:
        barrier.wait()
        answers[index] = http_judge.rate(public_id, score)

    threads = [threading.Thread(target=send, args=(i, s)) for i, s in enumerate(scores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_simultaneous_double_clicks_make_one_rating(http_judge):
    """Two identical submits race (the live server answers each on its own thread and connection):
    exactly one creates the rating, the other sees it; on PostgreSQL this exercises the unique
    constraint (INSERT ... ON CONFLICT DO NOTHING) in rating_submit."""
    for public_id in http_judge.item_ids():
        answers = _simultaneously(http_judge, public_id, [4, 4])
        assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
        assert sum(a.json()["created"] for a in answers) == 1
    assert Rating.objects.count() == len(http_judge.item_ids())
    assert RatingChange.objects.count() == Rating.objects.count()
    assert set(Rating.objects.values_list("score", flat=True)) == {4}


def test_simultaneous_different_scores_keep_one_rating_and_both_in_the_history(http_judge):
    public_id = http_judge.item_ids()[0]
    answers = _simultaneously(http_judge, public_id, [1, 5])
    assert sorted(a.status_code for a in answers) == [200, 201]
    rating = Rating.objects.get()
    last = next(a for a in answers if a.status_code == 200)  # it came second: its score is the one kept
    assert rating.score == last.json()["score"]
    history = list(rating.history.order_by("id").values_list("score", flat=True))
    assert sorted(history) == [1, 5] and history[-1] == rating.score
