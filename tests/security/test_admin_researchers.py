"""/admin/ for a researcher who is not a superuser: the platform's rows, read-only, never "You
don't have permission to view or edit anything"; writes stay with superusers and the services."""

from __future__ import annotations

import pytest
from django.test import Client

from bti_eval.judging.models import Rating
from tests.security.conftest import make_world

pytestmark = pytest.mark.django_db
PLATFORM_LISTS = (
    "/admin/pairs/paragraphpair/",
    "/admin/rounds/evaluationround/",
    "/admin/rounds/explanation/",
    "/admin/judging/judge/",
    "/admin/judging/invite/",
    "/admin/judging/assignment/",
    "/admin/judging/rating/",
    "/admin/corpora/catalog/",
    "/admin/corpora/catalogjob/",
)


def test_a_researcher_views_the_platforms_rows_in_the_admin_read_only():
    world = make_world()
    assignment = world.judge.assignments.first()
    rating = Rating.objects.create(assignment=assignment, score=4, seconds=2.0)
    client = world.client("researcher")
    index = client.get("/admin/").content.decode()
    assert "permission to view or edit anything" not in index and "Ratings" in index and "Rounds" in index
    assert "Users" not in index
    for url in PLATFORM_LISTS:
        assert client.get(url).status_code == 200, url
    change = client.get(f"/admin/judging/rating/{rating.pk}/change/")
    assert change.status_code == 200 and "Save" not in change.content.decode()  # a view, no save button
    assert client.post(f"/admin/judging/rating/{rating.pk}/change/", {"score": 1}).status_code == 403
    assert client.post(f"/admin/judging/rating/{rating.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/rounds/evaluationround/add/").status_code == 403
    rating.refresh_from_db()
    assert rating.score == 4


def test_judges_and_anonymous_users_still_get_the_admin_login():
    world = make_world()
    for client in (Client(), world.client("judge")):
        assert client.get("/admin/judging/rating/")["Location"].startswith("/admin/login/")
