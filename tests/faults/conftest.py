"""Fixtures for the fault tests: a round open for rating, and a judge signed in over real HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import requests

from bti_eval.judging.models import Judge
from bti_eval.judging.services.invites import judge_invite
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory


@dataclass
class HttpJudge:
    """A judge's browser against the live server: a requests session with its session and CSRF cookies."""

    judge: Judge
    base_url: str
    session: requests.Session

    def rate(self, public_id: str, score, seconds: float | None = 3.0, method: str = "PUT") -> requests.Response:
        return self.session.request(
            method,
            f"{self.base_url}/api/judge/assignments/{public_id}/rating/",
            json={"score": score, "seconds": seconds},
            headers={"X-CSRFToken": self.session.cookies["csrftoken"], "Referer": self.base_url},
            timeout=30,
        )

    def item_ids(self) -> list[str]:
        return list(self.judge.assignments.order_by("position").values_list("public_id", flat=True))


def sign_in_over_http(base_url: str, token: str, judge: Judge) -> HttpJudge:
    """Open the invite link as a browser does: GET the start page, POST its form."""
    session = requests.Session()
    page = session.get(f"{base_url}/j/{token}/", timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    accepted = session.post(
        f"{base_url}/j/{token}/", data={"csrfmiddlewaretoken": csrf}, headers={"Referer": base_url}, timeout=30
    )
    assert accepted.status_code == 200 and "sessionid" in session.cookies  # followed on to the rubric
    return HttpJudge(judge=judge, base_url=base_url, session=session)


@pytest.fixture
def http_judge(transactional_db, live_server) -> HttpJudge:
    round = EvaluationRoundFactory(
        explained_pairs=2, methods=["bti", "tfidf-w2v"], status=EvaluationRound.Status.RATING
    )
    judge, token = judge_invite(round=round, name="Ann")
    return sign_in_over_http(live_server.url, token, judge)
