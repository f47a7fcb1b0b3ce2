"""The judge's two busiest requests (the item page and the rating PUT): few queries, and the blind
explanation HTML rendered once per explanation, never stale (issue 6's load target)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.urls import reverse

from bti_eval.judging import queries, selectors
from bti_eval.judging.blind import JUDGE_HTML_VERSION, explanation_judge_html
from bti_eval.judging.services import judge_html
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.rounds.models import Explanation

pytestmark = pytest.mark.django_db

# Session, user with judge and its round's status (judging.auth.JudgeAwareBackend), then the item with
# neighbours, progress and HTML.
ITEM_PAGE_QUERIES = 3
# Session, user with judge, BEGIN, round share lock with the assignment, insert with its history row
# (ON CONFLICT DO NOTHING, no savepoint), next unrated with progress, COMMIT (PostgreSQL). Without
# PostgreSQL (the embedded SQLite) the portable insert adds the savepoint and history statements.
RATING_PUT_QUERIES = 7 if connection.vendor == "postgresql" else 11


def _item_url(assignment) -> str:
    return reverse("judging:rate-item", kwargs={"public_id": assignment.public_id})


def _put(client, assignment, score: int):
    return client.put(
        reverse("api-judge-rating", kwargs={"public_id": assignment.public_id}),
        json.dumps({"score": score, "seconds": 4}),
        content_type="application/json",
    )


def test_item_page_stays_within_its_query_budget(judge_client, judge, django_assert_max_num_queries):
    first, second = judge.assignments.order_by("position")[:2]
    judge_client.get(_item_url(first))  # stores the explanation's HTML
    with django_assert_max_num_queries(ITEM_PAGE_QUERIES):
        response = judge_client.get(_item_url(first))
    assert response.status_code == 200
    assert f'data-item="{first.public_id}"' in response.content.decode()
    assert _item_url(second) in response.content.decode()


def test_rating_put_stays_within_its_query_budget(judge_client, judge, django_assert_max_num_queries):
    first, second = judge.assignments.order_by("position")[:2]
    with django_assert_max_num_queries(RATING_PUT_QUERIES):
        response = _put(judge_client, first, 4)
    assert response.status_code == 201
    body = response.json()
    assert body["progress"] == {"rated": 1, "total": judge.assignments.count()}
    assert body["next_url"] == _item_url(second)


def test_next_url_wraps_round_to_the_first_unrated_item_then_to_done(judge_client, judge):
    assignments = list(judge.assignments.order_by("position"))
    for assignment in assignments[1:-1]:
        rating_submit(judge=judge, public_id=assignment.public_id, score=3, seconds=1)
    assert _put(judge_client, assignments[-1], 2).json()["next_url"] == _item_url(assignments[0])
    body = _put(judge_client, assignments[0], 5).json()
    assert body["next_url"] == reverse("judging:rate-done")
    assert body["progress"] == {"rated": len(assignments), "total": len(assignments)}


def test_the_explanation_html_is_rendered_once_and_shared_by_every_judge(
    judge_client, judge, other_judge, client, monkeypatch
):
    assignment = judge.assignments.select_related("explanation__pair").get(position=0)
    fresh = explanation_judge_html(explanation=assignment.explanation)
    page = judge_client.get(_item_url(assignment)).content.decode()
    assert fresh in page
    stored = Explanation.objects.get(pk=assignment.explanation_id)
    assert stored.judge_html == fresh and stored.judge_html_version == JUDGE_HTML_VERSION

    def no_render(**kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(judge_html, "explanation_judge_html", no_render)
    theirs = other_judge.assignments.get(explanation_id=assignment.explanation_id)
    client.force_login(other_judge.user)
    assert fresh in client.get(_item_url(theirs)).content.decode()
    api = client.get(reverse("api-judge-assignment", kwargs={"public_id": theirs.public_id})).json()
    assert api["html"] == fresh and api["public_id"] == theirs.public_id


def test_html_of_another_renderer_version_is_rendered_again(judge_client, judge):
    assignment = judge.assignments.select_related("explanation__pair").get(position=0)
    Explanation.objects.filter(pk=assignment.explanation_id).update(
        judge_html="<p>stale</p>", judge_html_version=JUDGE_HTML_VERSION + 1
    )
    page = judge_client.get(_item_url(assignment)).content.decode()
    assert "stale" not in page
    assert explanation_judge_html(explanation=assignment.explanation) in page
    assert Explanation.objects.get(pk=assignment.explanation_id).judge_html_version == JUDGE_HTML_VERSION


def test_judge_for_user_loads_the_judge_and_its_round(judge, rating_round):
    found = selectors.judge_for_user(user=judge.user)
    assert (found.pk, found.name, found.seed, found.created_at) == (judge.pk, judge.name, judge.seed, judge.created_at)
    assert found.round.status == rating_round.status
    assert found.round.methods == rating_round.methods  # the rest of the round loads when first read
    judge.user.is_active = False
    assert selectors.judge_for_user(user=judge.user) is None


def test_next_redirect_is_one_query_after_the_session_and_user(judge_client, judge, django_assert_max_num_queries):
    assignments = list(judge.assignments.order_by("position"))
    rating_submit(judge=judge, public_id=assignments[0].public_id, score=3, seconds=1)
    judge_client.get(reverse("judging:rate-next"))  # marks the rubric seen (a session save)
    with django_assert_max_num_queries(3):  # session, user with judge, first unrated
        response = judge_client.get(reverse("judging:rate-next"))
    assert response.status_code == 302 and response["Location"] == _item_url(assignments[1])
    for assignment in assignments[1:]:
        rating_submit(judge=judge, public_id=assignment.public_id, score=3, seconds=1)
    assert queries.judge_first_unrated(judge_id=judge.pk) is None
    assert judge_client.get(reverse("judging:rate-next"))["Location"] == reverse("judging:rate-done")


def test_a_crowd_participant_with_a_time_limit_costs_no_extra_query(
    client, rating_round, django_assert_max_num_queries
):
    """The time limit and the finished mark are columns of the judge row loaded with the user."""
    from bti_eval.judging.services.studies import participant_arrive, study_link_create

    link = study_link_create(round=rating_round, platform="prolific", time_limit_minutes=30)
    ids = {"PROLIFIC_PID": ["a" * 24], "STUDY_ID": ["b" * 24], "SESSION_ID": ["c" * 24]}
    judge = participant_arrive(token=link.token, params=ids).judge
    client.force_login(judge.user)
    first, second = judge.assignments.order_by("position")[:2]
    client.get(_item_url(first))  # stores the explanation's HTML
    with django_assert_max_num_queries(ITEM_PAGE_QUERIES):
        page = client.get(_item_url(first))
    assert page.status_code == 200 and "min left" in page.content.decode()
    with django_assert_max_num_queries(RATING_PUT_QUERIES):
        response = _put(client, first, 4)
    assert response.status_code == 201 and response.json()["next_url"] == _item_url(second)
