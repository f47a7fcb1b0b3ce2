"""A rating is saved only for the item the judge saw (``item``), with strict ``seconds``, and with the
judge's optional remarks on the item: a comment and a "this item is broken" flag."""

from __future__ import annotations

import json

import pytest
from django.urls import include, path, reverse
from drf_spectacular.generators import SchemaGenerator

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging.models import COMMENT_MAX_LENGTH, Rating, RatingChange
from bti_eval.judging.services.ratings import rating_submit
from tests.judging.conftest import method_words_in
from tests.judging.test_hot_paths import RATING_PUT_QUERIES

pytestmark = pytest.mark.django_db


def _rate(client, public_id, body, method="put"):
    url = reverse("api-judge-rating", kwargs={"public_id": public_id})
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("method", ["put", "post"])
def test_a_rating_sent_for_another_item_than_the_one_displayed_is_refused(judge_client, judge, method):
    first, second = judge.assignments.order_by("position")[:2]
    response = _rate(judge_client, second.public_id, {"item": first.public_id, "score": 2, "seconds": 0.2}, method)
    assert response.status_code == 409
    assert "another item" in response.json()["message"]
    assert response.json()["extra"]["fields"]["item"]
    assert not Rating.objects.exists() and not RatingChange.objects.exists()


def test_a_mismatched_item_changes_nothing_on_a_rated_item(judge_client, judge):
    first, second = judge.assignments.order_by("position")[:2]
    assert _rate(judge_client, second.public_id, {"item": second.public_id, "score": 5}).status_code == 201
    response = _rate(judge_client, second.public_id, {"item": first.public_id, "score": 1, "flagged": True})
    assert response.status_code == 409
    rating = Rating.objects.get(assignment=second)
    assert (rating.score, rating.flagged, rating.history.count()) == (5, False, 1)


def test_the_displayed_item_is_rated_and_api_clients_may_leave_item_out(judge_client, judge):
    first, second = judge.assignments.order_by("position")[:2]
    assert _rate(judge_client, first.public_id, {"item": first.public_id, "score": 4}).status_code == 201
    assert _rate(judge_client, second.public_id, {"score": 3}).status_code == 201
    assert dict(Rating.objects.values_list("assignment_id", "score")) == {first.pk: 4, second.pk: 3}


@pytest.mark.parametrize(
    "item, status",
    [("", 400), (None, 400), (7, 409)],  # blank and null are malformed; a number is read as another item's id
)
def test_a_malformed_or_foreign_item_is_refused_and_nothing_is_saved(judge_client, judge, item, status):
    public_id = judge.assignments.first().public_id
    response = _rate(judge_client, public_id, {"item": item, "score": 3})
    assert response.status_code == status, response.content
    assert "item" in response.json()["extra"]["fields"]
    assert not Rating.objects.exists()


@pytest.mark.parametrize("seconds", [True, False])
def test_booleans_are_not_seconds(judge_client, judge, seconds):
    response = _rate(judge_client, judge.assignments.first().public_id, {"score": 3, "seconds": seconds})
    assert response.status_code == 400
    assert response.json()["message"] == "seconds must be a number of seconds, 0 or more."
    assert not Rating.objects.exists()


def test_the_service_refuses_another_item_and_boolean_seconds(judge):
    first, second = judge.assignments.order_by("position")[:2]
    with pytest.raises(ApplicationError) as info:
        rating_submit(judge=judge, public_id=second.public_id, item=first.public_id, score=3, seconds=1)
    assert info.value.status == 409
    with pytest.raises(ApplicationError) as info:
        rating_submit(judge=judge, public_id=first.public_id, score=3, seconds=True)
    assert info.value.status == 400
    assert not Rating.objects.exists()


def test_comment_and_flag_are_saved_with_the_rating_and_its_history(judge_client, judge):
    public_id = judge.assignments.first().public_id
    body = {"item": public_id, "score": 2, "seconds": 6, "comment": "  Paragraph B is cut off.  ", "flagged": True}
    response = _rate(judge_client, public_id, body)
    assert response.status_code == 201
    assert response.json()["comment"] == "Paragraph B is cut off." and response.json()["flagged"] is True
    rating = Rating.objects.get(assignment__public_id=public_id)
    assert (rating.score, rating.seconds, rating.comment, rating.flagged) == (2, 6.0, "Paragraph B is cut off.", True)
    assert list(rating.history.values_list("score", "seconds", "comment", "flagged")) == [
        (2, 6.0, "Paragraph B is cut off.", True)
    ]


def test_remarks_after_rating_are_a_change_without_seconds_and_left_out_they_stay(judge_client, judge):
    public_id = judge.assignments.first().public_id
    assert _rate(judge_client, public_id, {"score": 4, "seconds": 5}).status_code == 201
    # the judge ticks the flag after rating: the page resends the current score
    response = _rate(judge_client, public_id, {"item": public_id, "score": 4, "seconds": None, "flagged": True})
    assert response.status_code == 200 and response.json()["changed"] and not response.json()["created"]
    response = _rate(judge_client, public_id, {"score": 4, "comment": "odd pair"})
    assert response.json()["changed"] and response.json()["flagged"] is True  # left out: kept
    again = _rate(judge_client, public_id, {"score": 4, "comment": "odd pair", "flagged": True})
    assert not again.json()["changed"]  # a repeat is no change
    rating = Rating.objects.get(assignment__public_id=public_id)
    assert (rating.score, rating.seconds, rating.comment, rating.flagged) == (4, 5.0, "odd pair", True)
    assert list(rating.history.values_list("score", "seconds", "comment", "flagged")) == [
        (4, 5.0, "", False),
        (4, None, "", True),
        (4, None, "odd pair", True),
    ]
    # a new score with the remarks left out keeps them; an empty comment clears it
    _rate(judge_client, public_id, {"score": 1, "seconds": 2})
    _rate(judge_client, public_id, {"score": 1, "comment": "", "flagged": False})
    rating.refresh_from_db()
    assert (rating.score, rating.seconds, rating.comment, rating.flagged) == (1, 7.0, "", False)
    assert rating.history.count() == 5


def test_a_comment_at_the_limit_is_kept_and_one_over_it_is_a_clear_400(judge_client, judge):
    first, second = judge.assignments.order_by("position")[:2]
    assert _rate(judge_client, first.public_id, {"score": 3, "comment": "é" * COMMENT_MAX_LENGTH}).status_code == 201
    assert len(Rating.objects.get(assignment=first).comment) == COMMENT_MAX_LENGTH
    response = _rate(judge_client, second.public_id, {"score": 3, "comment": "x" * (COMMENT_MAX_LENGTH + 1)})
    assert response.status_code == 400
    assert response.json()["message"] == "The comment is too long: keep it to 2,000 characters."
    assert not Rating.objects.filter(assignment=second).exists()


@pytest.mark.parametrize("comment", ["bad\x00byte", "\x00"])
def test_a_nul_character_in_the_comment_is_refused_with_a_clear_message(judge_client, judge, comment):
    response = _rate(judge_client, judge.assignments.first().public_id, {"score": 3, "comment": comment})
    assert response.status_code == 400
    assert response.json()["message"] == "The comment contains a NUL character (\\0); remove it and send it again."
    assert not Rating.objects.exists()
    with pytest.raises(ApplicationError, match="NUL"):
        rating_submit(judge=judge, public_id=judge.assignments.first().public_id, score=3, seconds=1, comment=comment)


@pytest.mark.parametrize("body", [{"comment": 5}, {"comment": None}, {"flagged": "maybe"}, {"flagged": None}])
def test_malformed_remarks_are_400(judge_client, judge, body):
    response = _rate(judge_client, judge.assignments.first().public_id, {"score": 3, **body})
    assert response.status_code == 400 and not Rating.objects.exists()


def test_a_rating_with_item_and_remarks_stays_within_the_put_budget(judge_client, judge, django_assert_max_num_queries):
    public_id = judge.assignments.order_by("position").first().public_id
    body = {"item": public_id, "score": 4, "seconds": 3, "comment": "fine", "flagged": True}
    with django_assert_max_num_queries(RATING_PUT_QUERIES):
        response = _rate(judge_client, public_id, body)
    assert response.status_code == 201


def test_the_item_page_shows_the_judges_own_remarks_escaped_and_blind(judge_client, judge):
    assignment = judge.assignments.first()
    rating_submit(
        judge=judge, public_id=assignment.public_id, score=2, seconds=1, comment="<script>x</script> & co", flagged=True
    )
    page = judge_client.get(reverse("judging:rate-item", kwargs={"public_id": assignment.public_id})).content.decode()
    assert "&lt;script&gt;x&lt;/script&gt; &amp; co</textarea>" in page and "<script>x</script>" not in page
    assert 'id="judge-flagged" name="flagged" checked' in page
    assert "This item is broken" in page and 'maxlength="2000"' in page
    assert method_words_in(page.split("<script>")[0]) == []
    fresh = judge.assignments.exclude(pk=assignment.pk).first()
    page = judge_client.get(reverse("judging:rate-item", kwargs={"public_id": fresh.public_id})).content.decode()
    assert 'name="flagged">' in page and "></textarea>" in page


def test_the_schema_documents_item_comment_flagged_and_the_conflict():
    generator = SchemaGenerator(patterns=[path("api/", include("bti_eval.judging.api_urls"))])
    schema = generator.get_schema(request=None, public=True)
    fields = schema["components"]["schemas"]["JudgeRatingApiInputRequest"]["properties"]
    assert {"item", "score", "choice", "seconds", "comment", "flagged"} <= set(fields)
    assert "must equal the URL's public id" in fields["item"]["description"]
    text, blank = fields["comment"]["oneOf"]  # drf-spectacular's form of a pattern that allows blank
    assert text["maxLength"] == COMMENT_MAX_LENGTH and "u0000" in text["pattern"] and blank["maxLength"] == 0
    assert fields["flagged"]["type"] == "boolean"
    required = schema["components"]["schemas"]["JudgeRatingApiInputRequest"].get("required", [])
    assert required == []  # a score on a rating item, a choice on a pairwise one: the service says which
    put = schema["paths"]["/api/judge/assignments/{public_id}/rating/"]["put"]
    assert "`item`" in put["description"]
