"""Concurrent arrivals on PostgreSQL (real transactions, one connection per thread): the same
participant opening a study link twice at the same moment is one judge (the database constraint
decides); a quota and the k-per-item balance hold under a rush."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from bti_eval.judging.models import Assignment, Judge, StudyLink
from bti_eval.judging.services import studies
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory
from tests.judging.test_studies import pid, prolific

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and concurrent inserts need PostgreSQL"),
]


def _at_once(requests: list[tuple[Client, dict]], url: str) -> list:
    """GET ``url`` from each client with its query, all threads released together."""
    start = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)

    def visit(i: int, client: Client, query: dict) -> None:
        try:
            start.wait(timeout=30)
            answers[i] = client.get(url, query)
        except Exception as exc:  # reported below, with the thread's index
            answers[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=visit, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.fixture
def link() -> StudyLink:
    round = EvaluationRoundFactory(
        explained_pairs=3, methods=["bti", "tfidf-w2v"], status=EvaluationRound.Status.RATING
    )
    return studies.study_link_create(round=round, platform="prolific")


def _url(link: StudyLink) -> str:
    return reverse("judging:study-arrive", kwargs={"token": link.token})


def _signed_in_as(client: Client) -> int | None:
    return client.get(reverse("judging:rate")).wsgi_request.user.pk


def test_the_same_participant_opening_the_link_twice_at_once_is_one_judge(link):
    clients = [Client() for _ in range(4)]
    answers = _at_once([(client, prolific(1)) for client in clients], _url(link))
    assert [getattr(a, "status_code", a) for a in answers] == [302] * 4
    judge = Judge.objects.get(round=link.round)
    assert judge.participant_id == pid(1)
    assert judge.assignments.count() == 6  # built once
    assert {_signed_in_as(client) for client in clients} == {judge.user_id}


def test_two_inserts_of_one_participant_at_once_leave_one_judge_by_the_constraint(link, monkeypatch):
    """Both requests find no judge and both insert one: the unique constraint refuses the second,
    whose request then resumes the first one's judge (``participant_arrive``'s IntegrityError path)."""
    together = threading.Barrier(2)
    found = []
    original = studies._existing

    def existing(link, visit):
        judge = original(link, visit)
        found.append(judge is not None)
        if len(found) <= 2:
            together.wait(timeout=30)  # both requests past the first look, neither has inserted yet
        return judge

    monkeypatch.setattr(studies, "_existing", existing)
    clients = [Client(), Client()]
    answers = _at_once([(client, prolific(1)) for client in clients], _url(link))
    assert [getattr(a, "status_code", a) for a in answers] == [302, 302]
    assert found == [False, False, True]  # the loser looked again after its insert failed
    judge = Judge.objects.get(round=link.round)
    assert {_signed_in_as(client) for client in clients} == {judge.user_id}
    assert judge.assignments.count() == 6


def test_a_quota_holds_when_many_participants_arrive_at_once(link):
    link.quota = 5
    link.save()
    answers = _at_once([(Client(), prolific(n)) for n in range(12)], _url(link))
    statuses = sorted(getattr(a, "status_code", a) for a in answers)
    assert statuses == [302] * 5 + [409] * 7
    assert Judge.objects.filter(round=link.round).count() == 5


def test_a_rush_of_arrivals_keeps_a_k_per_item_round_balanced(link):
    round = link.round
    EvaluationRound.objects.filter(pk=round.pk).update(design="k-per-item", judges_per_explanation=2)
    link.items_per_participant = 2
    link.save()
    answers = _at_once([(Client(), prolific(n)) for n in range(6)], _url(link))
    assert [getattr(a, "status_code", a) for a in answers] == [302] * 6
    held = Counter(Assignment.objects.filter(judge__round=round).values_list("explanation_id", flat=True))
    assert len(held) == 6 and set(held.values()) == {2}  # 6 explanations, k = 2: each exactly twice
