"""Fixtures: see tests/researcher_fixtures.py; statistics run with fewer resamples here."""

import pytest
from django.core.cache import cache

from tests.researcher_fixtures import *  # noqa: F403


@pytest.fixture(autouse=True)
def quick_statistics(settings):
    """Fewer bootstrap resamples (the page shows the count) and a fresh report cache per test."""
    settings.BTI_BOOTSTRAP_RESAMPLES = 400
    settings.BTI_ALPHA_RESAMPLES = 200
    cache.clear()
    yield
    cache.clear()
