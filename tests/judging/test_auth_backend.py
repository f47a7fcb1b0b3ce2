"""The judge-aware session backend: one query loads the user, their judge and the judge's round,
researchers are plain users, and revoked judges are signed out (bti_eval.judging.auth)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bti_eval.judging import selectors
from bti_eval.judging.auth import JudgeAwareBackend
from bti_eval.judging.models import Judge
from bti_eval.judging.services.invites import invite_revoke, judge_invite

pytestmark = pytest.mark.django_db


def test_a_judge_comes_with_its_judge_row_and_round_status_in_one_query(judge):
    with CaptureQueriesContext(connection) as queries:
        user = JudgeAwareBackend().get_user(judge.user.pk)
        found = selectors.judge_for_user(user=user)
        assert found.pk == judge.pk and found.round_id == judge.round_id
        assert found.round.status == judge.round.status and found.user is user
    assert len(queries) == 1


def test_a_researcher_is_a_plain_user_without_a_judge_and_without_a_second_query(db):
    researcher = get_user_model().objects.create_user("rita", password="x" * 12, is_staff=True)
    with CaptureQueriesContext(connection) as queries:
        user = JudgeAwareBackend().get_user(researcher.pk)
        assert user == researcher and user.is_staff
        assert selectors.judge_for_user(user=user) is None
        with pytest.raises(Judge.DoesNotExist):
            user.judge  # noqa: B018 - the access is the point
    assert len(queries) == 1


def test_unknown_malformed_and_revoked_users_get_none(judge):
    backend = JudgeAwareBackend()
    assert backend.get_user(10**9) is None
    assert backend.get_user("not a number") is None
    invite_revoke(judge=judge)
    assert backend.get_user(judge.user.pk) is None


def test_the_invite_login_uses_the_judge_aware_backend_and_revoking_ends_the_session(client, rating_round):
    judge, token = judge_invite(round=rating_round, name="Cleo")
    response = client.post(reverse("judging:invite-accept", kwargs={"token": token}))
    assert response.status_code == 302
    assert client.session["_auth_user_backend"] == "bti_eval.judging.auth.JudgeAwareBackend"
    invite_revoke(judge=judge)
    assert client.get(reverse("judging:rate-next")).status_code == 403
