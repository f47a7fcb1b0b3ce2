"""Fixtures for the security tests: a small round open for rating, two judges, a researcher, clients."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
from django.test import Client

from bti_eval.judging.models import Judge, StudyLink
from bti_eval.judging.services.invites import judge_invite
from bti_eval.judging.services.studies import participant_arrive, study_link_create
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory, ResearcherFactory


@dataclass
class World:
    """A round open for rating (2 pairs × 2 methods), judges A and B (A's invite unused), a researcher,
    and a Prolific study link of the round, through which one participant (``crowd_judge``) arrived."""

    round: EvaluationRound
    judge: Judge
    judge_token: str
    other_judge: Judge
    researcher: object
    study_link: StudyLink
    crowd_judge: Judge | None = None

    def client(self, role: str) -> Client:
        """A fresh browser signed in as ``role``: anonymous, judge, other_judge, crowd_judge or researcher."""
        # An address of its own, so that rate-limit counts never carry over from another test.
        client = Client(REMOTE_ADDR="10.{}.{}.{}".format(*secrets.token_bytes(3)))
        user = {
            "anonymous": None,
            "judge": self.judge.user,
            "other_judge": self.other_judge.user,
            "crowd_judge": self.crowd_judge.user if self.crowd_judge else None,
            "researcher": self.researcher,
        }[role]
        if user is not None:
            client.force_login(user)
        return client


def make_world() -> World:
    round = EvaluationRoundFactory(
        explained_pairs=2, methods=["bti", "tfidf-w2v"], status=EvaluationRound.Status.RATING
    )
    judge, token = judge_invite(round=round, name="Ann")
    other, _ = judge_invite(round=round, name="Ben")
    link = study_link_create(round=round, platform="prolific")
    crowd = participant_arrive(token=link.token, params=PARTICIPANT).judge
    return World(
        round=round,
        judge=judge,
        judge_token=token,
        other_judge=other,
        researcher=ResearcherFactory(),
        study_link=link,
        crowd_judge=crowd,
    )


# The crowd participant of make_world (Prolific's three 24-character ids).
PARTICIPANT = {"PROLIFIC_PID": ["5f" * 12], "STUDY_ID": ["6a" * 12], "SESSION_ID": ["7b" * 12]}


@pytest.fixture
def world(db) -> World:
    return make_world()
