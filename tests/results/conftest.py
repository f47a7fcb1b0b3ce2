"""Fixtures: see tests/researcher_fixtures.py; statistics run with fewer resamples here."""

import pytest
from django.core.cache import cache

from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory, rating_table
from tests.researcher_fixtures import *  # noqa: F403


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
    round = EvaluationRoundFactory(
        methods=["bti", "bti-gradients", "vanilla-gradients", "tfidf-w2v"],
        explained_pairs=5000,
        judges=5,
        status=EvaluationRound.Status.RATING,
        judges__seed=5,
    )
    table = rating_table(round)
    assert len(table) == 100_000
    return round, table
