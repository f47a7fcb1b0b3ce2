"""Fixtures: see tests/researcher_fixtures.py; ``published`` for the rounds tests."""

from unittest import mock

import pytest

from tests.researcher_fixtures import *  # noqa: F403


@pytest.fixture
def published():
    """``explain_chunk.apply_async`` replaced by a mock: the chunks a launch publishes (``args=[ids]``)."""
    with mock.patch("bti_eval.rounds.tasks.explain_chunk.apply_async") as patched:
        yield patched
