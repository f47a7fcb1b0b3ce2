"""Judging API: the judge's assignments and rating endpoints; researchers' judge endpoints; CSRF; schema."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import include, path, reverse
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from bti_eval.judging.models import Judge, Rating
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.rounds.models import EvaluationRound
from tests.factories import ResearcherFactory

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status


def _rating_url(public_id: str) -> str:
    return reverse("api-judge-rating", kwargs={"public_id": public_id})


def _put(client, public_id, body, method="put"):
    return getattr(client, method)(_rating_url(public_id), data=json.dumps(body), content_type="application/json")


@pytest.fixture
def researcher_client(client):
    client.force_login(ResearcherFactory())
    return client


def test_assignments_are_the_judges_own_order_with_scores(judge_client, judge):
    first = judge.assignments.get(position=0)
    rating_submit(judge=judge, public_id=first.public_id, score=5, seconds=2)
    body = judge_client.get(reverse("api-judge-assignments")).json()
    assert body["progress"] == {"rated": 1, "total": 21}
    assert body["round_status"] == "rating"
    assert [item["position"] for item in body["items"]] == list(range(21))
    assert body["items"][0] == {"public_id": first.public_id, "position": 0, "score": 5, "choice": None}
    assert all(item["score"] is None for item in body["items"][1:])
    assert set(body["items"][1]) == {"public_id", "position", "score", "choice"}


def test_assignment_detail_is_html_and_texts_only(judge_client, judge):
    assignment = judge.assignments.get(position=1)
    body = judge_client.get(reverse("api-judge-assignment", kwargs={"public_id": assignment.public_id})).json()
    pair = assignment.explanation.pair
    assert set(body) == {
        "public_id",
        "position",
        "kind",
        "text_a",
        "text_b",
        "html",
        "right_html",
        "score",
        "choice",
        "round_status",
        "previous",
        "next",
        "progress",
    }
    assert body["text_a"] == pair.text_a and body["text_b"] == pair.text_b
    assert body["html"].startswith('<div class="expl-explanation">')
    assert body["kind"] == "rating" and body["right_html"] is None and body["choice"] is None
    assert body["previous"] == judge.assignments.get(position=0).public_id
    assert body["next"] == judge.assignments.get(position=2).public_id


def test_put_rating_201_then_200_and_one_rating(judge_client, judge):
    assignment = judge.assignments.get(position=0)
    first = _put(judge_client, assignment.public_id, {"score": 4, "seconds": 7.5})
    assert first.status_code == 201
    body = first.json()
    assert body["score"] == 4 and body["created"] and body["progress"] == {"rated": 1, "total": 21}
    assert body["next_url"] == reverse(
        "judging:rate-item", kwargs={"public_id": judge.assignments.get(position=1).public_id}
    )
    again = _put(judge_client, assignment.public_id, {"score": 4, "seconds": 7.5})
    assert again.status_code == 200 and not again.json()["created"] and not again.json()["changed"]
    changed = _put(judge_client, assignment.public_id, {"score": 2}, method="post")
    assert changed.status_code == 200 and changed.json()["changed"]
    rating = Rating.objects.get(assignment=assignment)
    assert rating.score == 2 and list(rating.history.values_list("score", flat=True)) == [4, 2]


@pytest.mark.parametrize(
    "body", [{"score": 0}, {"score": 6}, {"score": "abc"}, {"score": None}, {"score": 2.5}, {}, {"score": True}]
)
def test_invalid_scores_are_400_with_a_clear_message(judge_client, judge, body):
    response = _put(judge_client, judge.assignments.first().public_id, body)
    assert response.status_code == 400
    assert response.json()["message"] == "The score must be a whole number from 1 to 5."
    assert not Rating.objects.exists()


@pytest.mark.parametrize("seconds", [-3, "soon"])
def test_invalid_seconds_are_400(judge_client, judge, seconds):
    response = _put(judge_client, judge.assignments.first().public_id, {"score": 3, "seconds": seconds})
    assert response.status_code == 400 and "seconds" in response.json()["message"]


def test_closed_round_is_409_and_frozen(judge_client, judge):
    EvaluationRound.objects.filter(pk=judge.round_id).update(status=Status.CLOSED)
    response = _put(judge_client, judge.assignments.first().public_id, {"score": 3})
    assert response.status_code == 409
    assert response.json()["message"] == "This round is closed; ratings are frozen."
    assert judge_client.get(reverse("api-judge-assignments")).json()["round_status"] == "closed"


def test_another_judges_assignment_is_404_on_read_and_rate(judge_client, other_judge):
    theirs = other_judge.assignments.first().public_id
    assert judge_client.get(reverse("api-judge-assignment", kwargs={"public_id": theirs})).status_code == 404
    assert _put(judge_client, theirs, {"score": 3}).status_code == 404
    assert _put(judge_client, "x" * 22, {"score": 3}).status_code == 404
    assert not Rating.objects.exists()


def test_anonymous_and_researchers_cannot_use_the_judge_api(client, judge):
    public_id = judge.assignments.first().public_id
    assert client.get(reverse("api-judge-assignments")).status_code in (401, 403)
    assert _put(client, public_id, {"score": 3}).status_code in (401, 403)
    client.force_login(ResearcherFactory())
    assert client.get(reverse("api-judge-assignments")).status_code == 403
    assert _put(client, public_id, {"score": 3}).status_code == 403
    assert not Rating.objects.exists()


def test_rating_needs_the_csrf_token(judge):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(judge.user)
    assignment = judge.assignments.get(position=0)
    page = browser.get(reverse("judging:rate-item", kwargs={"public_id": assignment.public_id}))
    token = page.cookies["csrftoken"].value  # judge.js reads this cookie
    refused = _put(browser, assignment.public_id, {"score": 3}, method="post")
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
    assert not Rating.objects.exists()
    accepted = browser.post(
        _rating_url(assignment.public_id),
        data=json.dumps({"score": 3}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 201
    assert Rating.objects.get(assignment=assignment).score == 3


# --- researchers -----------------------------------------------------------------------------


def test_researcher_invites_lists_and_revokes(researcher_client, rating_round):
    url = reverse("api-round-judges", kwargs={"round_id": rating_round.pk})
    created = researcher_client.post(url, data={"name": "Dee", "expires_in_hours": 48}, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "name", "invite_url", "expires_at"} and body["name"] == "Dee"
    assert body["invite_url"].startswith("http://testserver/j/")
    assert Client().post(body["invite_url"].removeprefix("http://testserver"))["Location"] == "/rate/"

    listed = researcher_client.get(url).json()
    assert [(row["name"], row["invite"], row["rated"], row["total"]) for row in listed] == [("Dee", "used", 0, 21)]
    assert "invite_url" not in listed[0] and "token" not in json.dumps(listed)

    revoked = researcher_client.post(reverse("api-judge-revoke", kwargs={"judge_id": body["id"]}))
    assert revoked.status_code == 200 and revoked.json() == {"id": body["id"], "revoked": True, "reassigned": 0}
    assert researcher_client.get(url).json()[0]["invite"] == "revoked"
    assert not Judge.objects.get(pk=body["id"]).user.is_active


def test_researcher_invite_never_expiring_and_closed_round(researcher_client, rating_round):
    url = reverse("api-round-judges", kwargs={"round_id": rating_round.pk})
    body = researcher_client.post(url, data={"expires_in_hours": None}, content_type="application/json").json()
    assert body["expires_at"] is None and body["name"] == "Judge 1"  # an empty name is numbered
    EvaluationRound.objects.filter(pk=rating_round.pk).update(status=Status.CLOSED)
    refused = researcher_client.post(url, data={"name": "Eve"}, content_type="application/json")
    assert refused.status_code == 409 and "closed" in refused.json()["message"]
    assert researcher_client.get("/api/rounds/999999/judges/").status_code == 404


def test_judges_cannot_use_the_researcher_judge_api(judge_client, judge):
    assert judge_client.get(reverse("api-round-judges", kwargs={"round_id": judge.round_id})).status_code == 403
    assert judge_client.post(reverse("api-judge-revoke", kwargs={"judge_id": judge.pk})).status_code == 403


def test_the_judging_api_schema_is_valid_without_warnings():
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/", include("bti_eval.judging.api_urls"))])
    schema = generator.get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS, "drf-spectacular warned or errored; see the captured stderr"
    paths = schema["paths"]
    assert {
        "/api/rounds/{round_id}/judges/",
        "/api/judges/{judge_id}/revoke/",
        "/api/judge/assignments/",
        "/api/judge/assignments/{public_id}/",
        "/api/judge/assignments/{public_id}/rating/",
    } <= set(paths)
    rating = paths["/api/judge/assignments/{public_id}/rating/"]["put"]["responses"]
    assert {"200", "201", "400", "404", "409"} <= set(rating)
    # What the view declares itself (the post-processing hook adds a generic 400 and 404 to every
    # path with an id, worded otherwise, and never a 409 or a success body).
    assert rating["409"]["description"] == "The round is not open for rating, or is closed."
    assert rating["404"]["description"] == "Not one of your assignments."
    assert rating["400"]["description"] == "Bad score, choice or seconds."
    invite = paths["/api/rounds/{round_id}/judges/"]["post"]["responses"]
    assert invite["400"]["description"] == "Invalid input."  # the common wording, with the view's own 409
    assert invite["409"]["description"] == "The round is closed."
    for code in ("200", "201"):
        assert rating[code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/JudgeRatingApiOutput"
        }
