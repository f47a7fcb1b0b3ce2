"""Fixtures for the researcher-side tests (pairs, rounds, results, workers): users and clients.

Imported by the conftest.py of those packages (``from tests.researcher_fixtures import *``).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import JudgeFactory, ResearcherFactory

__all__ = ["api_client", "judge_api_client", "judge_user", "researcher", "researcher_api_client", "researcher_client"]


@pytest.fixture
def researcher(db):
    return ResearcherFactory()


@pytest.fixture
def researcher_client(client, researcher):
    client.force_login(researcher)
    return client


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def researcher_api_client(researcher) -> APIClient:
    client = APIClient()
    client.force_authenticate(researcher)
    return client


@pytest.fixture
def judge_user(db):
    return JudgeFactory().user


@pytest.fixture
def judge_api_client(judge_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(judge_user)
    return client
