"""Fixtures: see tests/researcher_fixtures.py."""

from tests.researcher_fixtures import *  # noqa: F403
