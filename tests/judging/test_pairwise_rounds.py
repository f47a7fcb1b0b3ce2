"""Pairwise rounds in the judging app: the schedule as built in the database (balance, no repeats,
random recorded sides, control items, late and revoked judges), saving and changing a choice, the
item id check, and the judge's pages and API."""

from __future__ import annotations

import copy
import json
import math
from collections import Counter

import pytest
from django.urls import reverse

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging.models import Assignment, Rating
from bti_eval.judging.services.invites import invite_revoke, judge_invite
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.rounds import services as round_services
from bti_eval.rounds.models import EvaluationRound
from tests.explanation_payloads import WORDS, explanation_payload
from tests.factories import EvaluationRoundFactory

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status
METHODS = ["bti", "bti-gradients", "vanilla-gradients", "tfidf-w2v"]


def _items(judge) -> list[tuple]:
    """A judge's items as (pair, left method, right method, left control, right control), in order."""
    return list(
        judge.assignments.order_by("position").values_list(
            "explanation__pair_id",
            "explanation__method",
            "right_explanation__method",
            "explanation__is_control",
            "right_explanation__is_control",
        )
    )


def _comparison(item: tuple) -> tuple:
    pair, left, right = item[:3]
    return (pair, frozenset((left, right)))


def _payload(pair, method: str) -> dict:
    """The same words for every method, highlighted differently by each (so their HTML differs)."""
    words = copy.deepcopy(WORDS)
    words[0][1]["saliency"] = 0.1 + 0.2 * METHODS.index(method)
    return explanation_payload(method, words=words)


def _pairwise_round(*, n_pairs: int, k: int | None = None, controls: int = 0, status=Status.COMPUTING):
    round = EvaluationRoundFactory(
        explained_pairs=n_pairs, explained_pairs__payload=_payload, methods=METHODS, status=status
    )
    round_services.round_options_update(
        round=round, design="pairwise", judges_per_explanation=k, control_items=controls
    )
    return round


def test_without_k_every_judge_compares_every_method_pair_of_every_pair_plus_the_controls():
    round = _pairwise_round(n_pairs=4, controls=2)
    judges = [judge_invite(round=round, name=f"J{i}")[0] for i in range(3)]
    round_services.round_open(round=round)
    for judge in judges:
        items = _items(judge)
        real = [item for item in items if not (item[3] or item[4])]
        controls = [item for item in items if item[3] or item[4]]
        assert len(real) == 4 * 6 and len({_comparison(i) for i in real}) == 24  # never twice, either side
        assert len(controls) == 2 and all("control" in i[1:3] and (i[3] != i[4]) for i in controls)
        assert all(i[1] != i[2] for i in items)
        pairs = [i[0] for i in items]
        assert all(a != b for a, b in zip(pairs, pairs[1:], strict=False))  # no pair twice in a row
    # Sides are random and recorded: each method is on the left in some items and on the right in others.
    left = Counter(m for judge in judges for _, m, *_ in _items(judge))
    right = Counter(m for judge in judges for _, _, m, *_ in _items(judge))
    assert all(left[m] > 0 and right[m] > 0 for m in METHODS)
    assert all(0.25 < left[m] / (left[m] + right[m]) < 0.75 for m in METHODS)
    # The same (judge, comparison) keeps its sides when built again (idempotent) ...
    from bti_eval.judging.services.assignments import assignments_build

    before = _items(judges[0])
    assert assignments_build(judge=judges[0]) == 0 and _items(judges[0]) == before
    # ... and two judges' orders differ.
    assert _items(judges[0]) != _items(judges[1])


def test_with_k_each_comparison_goes_to_k_judges_with_balanced_loads_and_method_pairs():
    round = _pairwise_round(n_pairs=5, k=2, controls=1)
    judges = [judge_invite(round=round, name=f"J{i}")[0] for i in range(4)]
    round_services.round_open(round=round)
    holders = Counter()
    loads, per_method_pair = [], Counter()
    for judge in judges:
        real = [i for i in _items(judge) if not (i[3] or i[4])]
        assert len(real) == len({_comparison(i) for i in real})
        holders.update(_comparison(i) for i in real)
        loads.append(len(real))
        per_method_pair.update((judge.pk, frozenset(i[1:3])) for i in real)
        assert sum(1 for i in _items(judge) if i[3] or i[4]) == 1  # the control goes to every judge
    assert len(holders) == 5 * 6 and set(holders.values()) == {2}
    assert max(loads) - min(loads) <= 1 and sum(loads) == 2 * 30
    for a, b in [(a, b) for n, a in enumerate(METHODS) for b in METHODS[n + 1 :]]:
        counts = [per_method_pair[(judge.pk, frozenset((a, b)))] for judge in judges]
        assert max(counts) - min(counts) <= 1

    # A judge invited while the round is open gets a fair share of the least-covered comparisons.
    late, _ = judge_invite(round=round, name="late")
    real = [i for i in _items(late) if not (i[3] or i[4])]
    assert len(real) == math.ceil(30 * 2 / 5) and len({_comparison(i) for i in real}) == len(real)

    # A revoked judge's unjudged comparisons go to others, never to one who holds them already.
    gone = judges[0]
    first = gone.assignments.order_by("position").first()
    choice = rating_submit(judge=gone, public_id=first.public_id, score=None, choice="left", seconds=2)
    assert choice.created
    revoked = invite_revoke(judge=gone)
    assert revoked.reassigned > 0
    active = [j for j in [*judges[1:], late]]
    counts = Counter()
    for judge in active:
        real = [i for i in _items(judge) if not (i[3] or i[4])]
        assert len(real) == len({_comparison(i) for i in real})
        counts.update(_comparison(i) for i in real)
    judged = _comparison(_items(gone)[0])  # the revoked judge's choice counts: it is not handed on
    assert len(counts) == 30 and all(n >= 2 for c, n in counts.items() if c != judged)


def test_pairwise_needs_two_methods_and_a_sensible_k():
    round = EvaluationRoundFactory(explained_pairs=1, methods=["bti"], status=Status.DRAFT)
    with pytest.raises(ApplicationError, match="at least two methods"):
        round_services.round_options_update(round=round, design="pairwise")
    round = EvaluationRoundFactory(explained_pairs=1, methods=METHODS, status=Status.DRAFT)
    with pytest.raises(ApplicationError, match="judges per pair and method pair"):
        round_services.round_options_update(round=round, design="pairwise", judges_per_explanation=0)
    updated = round_services.round_options_update(round=round, design="pairwise", judges_per_explanation=None)
    assert updated.design == "pairwise" and updated.judges_per_explanation is None


@pytest.fixture
def pairwise_judge():
    round = _pairwise_round(n_pairs=2, controls=1)
    judge, _ = judge_invite(round=round, name="Ann")
    round_services.round_open(round=round)
    return judge


def _put(client, public_id: str, body: dict, method: str = "put"):
    url = reverse("api-judge-rating", kwargs={"public_id": public_id})
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def test_a_choice_is_saved_at_once_changed_until_close_with_its_history(pairwise_judge, client):
    client.force_login(pairwise_judge.user)
    first, second = pairwise_judge.assignments.order_by("position")[:2]
    response = _put(client, first.public_id, {"item": first.public_id, "choice": "left", "seconds": 3.5})
    assert response.status_code == 201
    body = response.json()
    assert body["choice"] == "left" and body["score"] is None and body["created"]
    assert body["next_url"] == reverse("judging:rate-item", kwargs={"public_id": second.public_id})
    again = _put(client, first.public_id, {"choice": "left"})
    assert again.status_code == 200 and not again.json()["changed"]
    changed = _put(client, first.public_id, {"choice": "same", "seconds": 2, "comment": "close call"}, "post")
    assert changed.status_code == 200 and changed.json()["changed"]
    rating = Rating.objects.get(assignment=first)
    assert (rating.choice, rating.score, rating.seconds, rating.comment) == ("same", None, 5.5, "close call")
    assert list(rating.history.values_list("choice", flat=True)) == ["left", "same"]
    # The page shows it, with the choice marked and resumable.
    page = client.get(reverse("judging:rate-item", kwargs={"public_id": first.public_id})).content.decode()
    assert 'data-choice="same"' in page and 'data-answer="choice"' in page
    assert client.get(reverse("judging:rate-next")).url == reverse(
        "judging:rate-item", kwargs={"public_id": second.public_id}
    )
    round_services.round_close(round=pairwise_judge.round)
    closed = _put(client, first.public_id, {"choice": "right"})
    assert closed.status_code == 409 and Rating.objects.get(assignment=first).choice == "same"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"score": 4}, 400, "asks which of two explanations is better"),
        ({}, 400, "asks which of two explanations is better"),
        ({"choice": "up"}, 400, 'must be "left", "right" or "same"'),
        ({"choice": None}, 400, 'must be "left", "right" or "same"'),
        ({"choice": 1}, 400, 'must be "left", "right" or "same"'),
        ({"choice": "left", "score": 3}, 400, "not both"),
        ({"choice": "left", "item": "another-item"}, 409, "another item"),
    ],
)
def test_bad_choices_and_another_item_are_refused_and_nothing_is_saved(pairwise_judge, client, body, status, message):
    client.force_login(pairwise_judge.user)
    first = pairwise_judge.assignments.order_by("position").first()
    response = _put(client, first.public_id, body)
    assert response.status_code == status and message in response.json()["message"]
    assert not Rating.objects.exists()


def test_a_rating_item_refuses_a_choice(db, client):
    round = EvaluationRoundFactory(explained_pairs=1, methods=METHODS[:2], status=Status.RATING)
    judge, _ = judge_invite(round=round, name="Ann")
    client.force_login(judge.user)
    response = _put(client, judge.assignments.first().public_id, {"choice": "left"})
    assert response.status_code == 400 and "send a score, not a choice" in response.json()["message"]


def test_the_judge_api_gives_both_explanations_and_the_choice(pairwise_judge, client):
    client.force_login(pairwise_judge.user)
    item = pairwise_judge.assignments.order_by("position").first()
    _put(client, item.public_id, {"choice": "right"})
    body = client.get(reverse("api-judge-assignment", kwargs={"public_id": item.public_id})).json()
    assert body["kind"] == "pairwise" and body["choice"] == "right" and body["score"] is None
    assert body["html"].startswith('<div class="expl-explanation">')
    assert body["right_html"].startswith('<div class="expl-explanation">') and body["right_html"] != body["html"]
    listing = client.get(reverse("api-judge-assignments")).json()
    assert listing["items"][0]["choice"] == "right"


def test_the_pairwise_pages_show_the_pairwise_rubric_and_both_sides(pairwise_judge, client):
    client.force_login(pairwise_judge.user)
    rubric = client.get(reverse("judging:rate")).content.decode()
    assert "two</em> explanations" in rubric and "comparisons to rate" in rubric
    item = pairwise_judge.assignments.order_by("position").first()
    page = client.get(reverse("judging:rate-item", kwargs={"public_id": item.public_id})).content.decode()
    assert page.count('class="judge-explanation judge-side"') == 2
    assert page.count("data-choice=") == 4  # the item's own, and the three buttons
    item = Assignment.objects.select_related("explanation", "right_explanation").get(pk=item.pk)
    left, right = item.explanation.judge_html, item.right_explanation.judge_html
    assert left != right and page.index(left) < page.index(right)  # the left one first


def test_a_pairwise_item_and_its_choice_stay_within_the_rating_rounds_query_budgets(
    pairwise_judge, client, django_assert_max_num_queries
):
    """The same statements as a 1-5 item: the right explanation comes with the item's one query."""
    from tests.judging.test_hot_paths import ITEM_PAGE_QUERIES, RATING_PUT_QUERIES

    client.force_login(pairwise_judge.user)
    first = pairwise_judge.assignments.order_by("position").first()
    url = reverse("judging:rate-item", kwargs={"public_id": first.public_id})
    client.get(url)  # stores both explanations' HTML
    with django_assert_max_num_queries(ITEM_PAGE_QUERIES):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(RATING_PUT_QUERIES):
        assert (
            _put(client, first.public_id, {"item": first.public_id, "choice": "same", "seconds": 2}).status_code == 201
        )


def test_the_database_holds_each_comparison_once_per_judge_whichever_side_each_is_on(pairwise_judge):
    from django.db import IntegrityError, transaction

    real = pairwise_judge.assignments.filter(explanation__is_control=False, right_explanation__is_control=False)
    item = real.order_by("position").first()  # a real comparison (a control item's sides are drawn too)
    swapped = Assignment(
        judge=pairwise_judge,
        explanation_id=item.right_explanation_id,
        right_explanation_id=item.explanation_id,
        position=999,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        swapped.save()
    same_side = Assignment(
        judge=pairwise_judge, explanation_id=item.explanation_id, right_explanation_id=item.explanation_id, position=998
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        same_side.save()  # one explanation against itself
    # One explanation in two of a judge's comparisons is fine (the same method against two others).
    shared = real.filter(explanation_id=item.explanation_id).count()
    shared += real.filter(right_explanation_id=item.explanation_id).count()
    assert shared == len(METHODS) - 1
    with pytest.raises(IntegrityError), transaction.atomic():  # a rating is a score or a choice, never both
        Rating.objects.create(assignment=item, score=3, choice="left")
