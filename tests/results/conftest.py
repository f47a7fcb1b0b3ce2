"""Fixtures: see tests/researcher_fixtures.py; statistics run with fewer resamples here."""

import pytest
from django.core.cache import cache

from tests.factories import rating_table
from tests.researcher_fixtures import *  # noqa: F403
from tests.results.helpers import rated_round


@pytest.fixture(autouse=True)
def quick_statistics(settings):
    """Fewer bootstrap resamples (the page shows the count) and a fresh report cache per test."""
    settings.BTI_BOOTSTRAP_RESAMPLES = 400
    settings.BTI_ALPHA_RESAMPLES = 200
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def round_of_100000_ratings(db):
    """A rating round of 5,000 pairs × 4 methods × 5 judges, and its :func:`rating_table`."""
    round = rated_round(["bti", "bti-gradients", "vanilla-gradients", "tfidf-w2v"], pairs=5000, judges=5, seed=5)
    table = rating_table(round)
    assert len(table) == 100_000
    return round, table
