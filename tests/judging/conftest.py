"""Fixtures for judging tests: a round open for rating with every method of the paper explained."""

from __future__ import annotations

import pytest

from bti_eval.judging.services.assignments import controls_create
from bti_eval.judging.services.invites import judge_invite
from bti_eval.rounds.models import EvaluationRound, default_methods
from tests.factories import EvaluationRoundFactory

# Everything that could name a method, in any spelling a leak might use (checked case-insensitively).
METHOD_WORDS = (
    *default_methods(),
    "bti",
    "vanilla",
    "integrated",
    "gradient",
    "tfidf",
    "tf-idf",
    "w2v",
    "word2vec",
    "activation",
    "last-layer",
    "last layer",
    "last_layer",
)


def method_words_in(text: str) -> list[str]:
    lowered = text.lower()
    return [word for word in METHOD_WORDS if word in lowered]


@pytest.fixture
def rating_round(db) -> EvaluationRound:
    return EvaluationRoundFactory(explained_pairs=3, status=EvaluationRound.Status.RATING)


def add_controls(round: EvaluationRound, n: int) -> EvaluationRound:
    """``round`` with ``n`` control items made, as opening the round makes them."""
    round.control_items = n
    round.save()
    controls_create(round=round)
    return round


@pytest.fixture
def controlled_round(rating_round) -> EvaluationRound:
    """``rating_round`` with 3 control items."""
    return add_controls(rating_round, 3)


@pytest.fixture
def judge(rating_round):
    judge, _ = judge_invite(round=rating_round, name="Ann")
    return judge


@pytest.fixture
def other_judge(rating_round):
    judge, _ = judge_invite(round=rating_round, name="Ben")
    return judge


@pytest.fixture
def judge_client(client, judge):
    client.force_login(judge.user)
    return client
