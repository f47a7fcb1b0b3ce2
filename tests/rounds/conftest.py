"""Fixtures: see tests/researcher_fixtures.py; ``delay`` for the rounds tests."""

from unittest import mock

import pytest

from tests.researcher_fixtures import *  # noqa: F403


@pytest.fixture
def delay():
    """``bti_eval.rounds.tasks.explain_chunk.delay`` replaced by a mock (the chunks a launch queues)."""
    with mock.patch("bti_eval.rounds.tasks.explain_chunk.delay") as patched:
        yield patched
