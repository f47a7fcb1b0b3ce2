"""round_report against independent computations: scipy/krippendorff called directly on the ratings."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict

import krippendorff
import numpy as np
import pytest
from scipy import stats

from bti_eval.judging.models import Rating
from bti_eval.results.report import round_report
from tests.results.helpers import holm_reject, rated_round

pytestmark = pytest.mark.django_db
METHODS = ["bti", "bti-gradients", "tfidf-w2v"]


def ratings(round) -> list[tuple[int, int, int, str, int]]:
    """(judge, explanation, pair, method, score) of every real rating, straight from the database."""
    return list(
        Rating.objects.filter(
            assignment__explanation__round=round, assignment__explanation__is_control=False
        ).values_list(
            "assignment__judge_id",
            "assignment__explanation_id",
            "assignment__explanation__pair_id",
            "assignment__explanation__method",
            "score",
        )
    )


@pytest.fixture
def round_and_ratings():
    round = rated_round(METHODS, pairs=15, judges=4, seed=8, skip=0.1)
    # Make bti clearly better than tfidf-w2v so that some tests are significant.
    bti = Rating.objects.filter(assignment__explanation__round=round, assignment__explanation__method="bti")
    bti.filter(score__lt=3).update(score=5)
    return round, ratings(round)


def test_paired_tests_match_scipy_on_per_pair_means(round_and_ratings):
    round, rows = round_and_ratings
    report = round_report(round=round)
    per_pair: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for _, _, pair, method, score in rows:
        per_pair[method][pair].append(score)
    expected = []
    for a, b in itertools.combinations(METHODS, 2):
        shared = sorted(set(per_pair[a]) & set(per_pair[b]))
        x = np.array([np.mean(per_pair[a][p]) for p in shared])
        y = np.array([np.mean(per_pair[b][p]) for p in shared])
        d = x - y
        ranks = stats.rankdata(np.abs(d[d != 0]))
        effect = (ranks[d[d != 0] > 0].sum() - ranks[d[d != 0] < 0].sum()) / ranks.sum()
        expected.append((a, b, len(shared), stats.wilcoxon(x, y).pvalue, effect))
    pvalues = [e[3] for e in expected]
    assert len(report["comparisons"]) == 3
    for got, want in zip(report["comparisons"], expected, strict=True):
        assert (got["a"], got["b"], got["n"]) == want[:3]
        assert got["p"] == pytest.approx(want[3]) and got["effect"] == pytest.approx(want[4])
        # Holm's adjusted p-value, closed form: the largest (m − j) p_(j), capped at 1, over the
        # ascending p_(j) (j from 0) up to this one.
        ranked = sorted(pvalues)
        bound = max((len(ranked) - j) * p for j, p in enumerate(ranked) if p <= want[3])
        assert got["p_holm"] == pytest.approx(min(1.0, bound)) and got["significant"] == (got["p_holm"] < 0.05)
    for alpha in (0.01, 0.05, 0.1):
        rejected = {i for i, c in enumerate(report["comparisons"]) if c["p_holm"] <= alpha}
        assert rejected == holm_reject(pvalues, alpha)
    assert any(c["significant"] for c in report["comparisons"])
    letters = {row["method"]: row["letters"] for row in report["methods"]}
    for c in report["comparisons"]:
        assert bool(set(letters[c["a"]]) & set(letters[c["b"]])) == (not c["significant"])
    matrix = {row["method"]: row["cells"] for row in report["matrix"]}
    assert matrix["bti"][0] is None and matrix["bti"][2]["effect"] == pytest.approx(-matrix["tfidf-w2v"][0]["effect"])


def test_alpha_matches_krippendorff_on_the_judge_by_explanation_matrix(round_and_ratings):
    round, rows = round_and_ratings
    report = round_report(round=round)
    judges = sorted({r[0] for r in rows})

    def expected(method: str | None, level: str) -> float:
        chosen = [r for r in rows if method is None or r[3] == method]
        units = sorted({r[1] for r in chosen})
        matrix = np.full((len(judges), len(units)), np.nan)
        for judge, explanation, _, _, score in chosen:
            matrix[judges.index(judge), units.index(explanation)] = score
        return krippendorff.alpha(reliability_data=matrix, level_of_measurement=level, value_domain=[1, 2, 3, 4, 5])

    for level in ("ordinal", "interval"):
        overall = report["agreement"]["overall"][level]
        assert overall["alpha"] == pytest.approx(expected(None, level), abs=1e-12)
        assert overall["low"] <= overall["alpha"] <= overall["high"]
        for row in report["agreement"]["per_method"]:
            assert row[level]["alpha"] == pytest.approx(expected(row["method"], level), abs=1e-12)


def test_means_carry_a_seeded_bootstrap_ci_with_the_resample_count(round_and_ratings, settings):
    round, rows = round_and_ratings
    report = round_report(round=round)
    for row in report["methods"]:
        scores = [r[4] for r in rows if r[3] == row["method"]]
        assert row["mean"] == pytest.approx(np.mean(scores))
        assert (
            row["ci_low"] < row["mean"] < row["ci_high"]
            and row["ci_resamples"] == 400 == report["options"]["resamples"]
        )
        assert row["n_pairs"] == 15
    assert round_report(round=round, use_cache=False)["methods"] == report["methods"]  # seeded: same again
    round.seed = 99
    round.save()
    assert round_report(round=round)["methods"][0]["ci_low"] != report["methods"][0]["ci_low"]


def test_report_is_cached_until_a_rating_changes(round_and_ratings, django_assert_max_num_queries):
    round, _ = round_and_ratings
    first = round_report(round=round)
    with django_assert_max_num_queries(4):  # the fingerprint only
        assert round_report(round=round) == first
    rating = Rating.objects.filter(assignment__explanation__round=round, assignment__explanation__method="tfidf-w2v")
    rating = rating.exclude(score=1).order_by("id").first()
    rating.score -= 1
    rating.save()
    assert round_report(round=round)["methods"][2]["mean"] < first["methods"][2]["mean"]


@pytest.mark.slow
def test_the_full_report_of_a_100000_rating_round(round_of_100000_ratings, settings):
    """5,000 pairs × 4 methods × 5 judges with the default resample counts: timed, and bounded."""
    settings.BTI_BOOTSTRAP_RESAMPLES, settings.BTI_ALPHA_RESAMPLES = 2000, 1000
    round, _ = round_of_100000_ratings
    start = time.perf_counter()
    report = round_report(round=round)
    elapsed = time.perf_counter() - start
    print(f"round_report over 100,000 ratings: {elapsed:.1f}s (alpha resamples {report['agreement']['resamples']})")
    assert report["n_ratings"] == 100_000 and report["agreement"]["resamples"] >= 200
    assert all(row["ci_low"] is not None for row in report["methods"])
    assert elapsed < 60, f"round_report took {elapsed:.1f}s"
