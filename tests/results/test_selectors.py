"""round_results against an independent numpy computation; SQL aggregation; partial vs final."""

from __future__ import annotations

import time

import numpy as np
import pytest

from bti_eval.results.selectors import round_results
from bti_eval.rounds.models import EvaluationRound
from tests.factories import RatingFactory, rating_table
from tests.results.helpers import rated_round

pytestmark = pytest.mark.django_db
METHODS = ["bti", "vanilla-gradients", "tfidf-w2v"]


def expected(table: np.ndarray, n_methods: int) -> list[dict]:
    rows = []
    for m in range(n_methods):
        mine = table[table[:, 1] == m]
        scores = mine[:, 2].astype(float)
        judge_means = [scores[mine[:, 0] == j].mean() for j in np.unique(mine[:, 0])]
        rows.append(
            {
                "n": len(scores),
                "mean": scores.mean(),
                "std_ratings": scores.std(ddof=1),
                "std": np.std(judge_means, ddof=1),
                "n_judges": len(judge_means),
            }
        )
    return rows


def test_matches_numpy_with_std_across_judges_means(django_assert_max_num_queries):
    round = rated_round(METHODS, pairs=12, judges=4, seed=3, skip=0.2)
    table = rating_table(round)
    with django_assert_max_num_queries(3):
        results = round_results(round=round)
    assert [r["method"] for r in results["methods"]] == METHODS
    assert results["methods"][0]["label"] == "BTI"
    for got, want in zip(results["methods"], expected(table, len(METHODS)), strict=True):
        assert got["n"] == want["n"] and got["n_judges"] == want["n_judges"] == 4
        assert got["mean"] == pytest.approx(want["mean"], abs=1e-9)
        assert got["std"] == pytest.approx(want["std"], abs=1e-9)
        assert got["std_ratings"] == pytest.approx(want["std_ratings"], abs=1e-9)
    assert results["n_ratings"] == len(table) and results["n_judges"] == 4


def test_one_judge_has_no_std_and_unrated_methods_are_empty():
    rating = RatingFactory(score=5)
    round = rating.assignment.judge.round
    round.methods = ["bti", "tfidf-w2v"]
    round.save()
    bti, tfidf = round_results(round=round)["methods"]
    assert (bti["n"], bti["mean"], bti["std"], bti["std_ratings"], bti["n_judges"]) == (1, 5.0, None, None, 1)
    assert (tfidf["n"], tfidf["mean"], tfidf["std"]) == (0, None, None)


def test_partial_while_rating_and_final_once_closed():
    round = rated_round(["bti"], pairs=2, judges=2)
    assert round_results(round=round)["final"] is False
    round.status = EvaluationRound.Status.CLOSED
    round.save()
    assert round_results(round=round)["final"] is True and round_results(round=round)["status"] == "closed"


def test_other_rounds_do_not_leak_in():
    round = rated_round(["bti"], pairs=3, judges=2, seed=1)
    table = rating_table(round)
    rated_round(["bti"], pairs=3, judges=2, seed=2)
    assert round_results(round=round)["n_ratings"] == len(table) == 6


@pytest.mark.slow
def test_a_round_with_100000_ratings_aggregates_fast(round_of_100000_ratings):
    round, table = round_of_100000_ratings
    start = time.perf_counter()
    results = round_results(round=round)
    elapsed = time.perf_counter() - start
    assert results["n_ratings"] == 100_000
    assert results["methods"][0]["mean"] == pytest.approx(expected(table, 4)[0]["mean"])
    print(f"round_results over 100,000 ratings: {elapsed:.3f}s")
    assert elapsed < 5.0, f"round_results took {elapsed:.2f}s"
