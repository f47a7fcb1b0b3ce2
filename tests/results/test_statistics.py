"""Every statistic against an independent computation on fixed data (scipy / numpy / a textbook example)."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
from scipy import stats

from bti_eval.results import statistics as S
from tests.results.helpers import holm_reject

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers × 12 units.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)


def alpha_by_hand(matrix: np.ndarray, delta) -> float:
    """Alpha from its definition: coincidence matrix o_ck, marginals n_c, alpha = 1 − (n−1)·Σo·δ / Σn_c·n_k·δ."""
    values = [1, 2, 3, 4, 5]
    o = np.zeros((5, 5))
    for unit in matrix.T:
        present = unit[~np.isnan(unit)]
        if present.size < 2:
            continue
        for i, j in itertools.permutations(range(present.size), 2):
            o[values.index(present[i]), values.index(present[j])] += 1 / (present.size - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d = np.array([[delta(c, k) for k in values] for c in values])
    return 1 - (n - 1) * (o * d).sum() / (np.outer(n_c, n_c) * d).sum()


def test_krippendorff_textbook_example():
    counts = S.value_counts(KRIPPENDORFF_2011)
    assert counts.shape == (11, 5)  # unit 12 has one value: not pairable
    assert S.krippendorff_alpha(counts, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert S.krippendorff_alpha(counts, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert S.krippendorff_alpha(counts, "interval") == pytest.approx(0.849, abs=5e-4)


def test_krippendorff_matches_the_coincidence_matrix_definition():
    rng = np.random.default_rng(7)
    matrix = rng.integers(1, 6, size=(4, 30)).astype(float)
    matrix[rng.random(matrix.shape) < 0.25] = NAN
    counts = S.value_counts(matrix)
    assert S.krippendorff_alpha(counts, "interval") == pytest.approx(
        alpha_by_hand(matrix, lambda c, k: (c - k) ** 2), abs=1e-12
    )
    assert S.krippendorff_alpha(counts, "nominal") == pytest.approx(
        alpha_by_hand(matrix, lambda c, k: float(c != k)), abs=1e-12
    )


def test_alpha_undefined_and_ci():
    same = np.full((3, 5), 4.0)
    assert S.alpha_with_ci(same, "ordinal", resamples=50, rng=S.rng_for(0))["alpha"] is None
    agree = np.array([[1, 2, 3, 4, 5, 1, 2, 3], [1, 2, 3, 4, 5, 1, 2, 3]], dtype=float)
    out = S.alpha_with_ci(agree, "interval", resamples=200, rng=S.rng_for(0))
    assert out["alpha"] == pytest.approx(1.0) and out["units"] == 8 and out["values"] == 16
    assert out["low"] <= out["alpha"] <= out["high"] == pytest.approx(1.0)
    again = S.alpha_with_ci(agree, "interval", resamples=200, rng=S.rng_for(0))
    assert again == out  # seeded


@pytest.mark.parametrize("level", ["ordinal", "interval"])
def test_vectorised_alpha_equals_krippendorff_on_every_resample(level):
    """The bootstrap's alpha from weighted unit coincidences is krippendorff.alpha of the resampled units."""
    rng = np.random.default_rng(7)
    truth = rng.integers(1, 6, 60)
    matrix = np.clip(truth[None, :] + rng.integers(-1, 2, (6, 60)), 1, 5).astype(float)
    matrix[rng.random(matrix.shape) < 0.3] = np.nan
    counts = S.value_counts(matrix)
    per_unit = S.unit_coincidences(counts)
    draws = [rng.integers(0, counts.shape[0], counts.shape[0]) for _ in range(40)]
    draws.append(np.zeros(counts.shape[0], dtype=int))  # one unit drawn every time
    weights = np.stack([np.bincount(d, minlength=counts.shape[0]) for d in draws])
    vectorised = S.alpha_of_coincidences((weights @ per_unit).reshape(-1, 5, 5), level)
    for drawn, value in zip(draws, vectorised, strict=True):
        expected = S.krippendorff_alpha(counts[drawn], level)
        if expected is None:
            assert np.isnan(value)
        else:
            assert value == pytest.approx(expected, abs=1e-12)
    assert np.isfinite(vectorised[:-1]).all()


def test_alpha_ci_covers_the_point_and_narrows_with_more_units():
    rng = np.random.default_rng(11)

    def ratings(units: int) -> np.ndarray:
        truth = rng.integers(1, 6, units)
        return np.clip(truth[None, :] + rng.integers(-1, 2, (5, units)), 1, 5).astype(float)

    small = S.alpha_with_ci(ratings(30), "ordinal", resamples=500, rng=S.rng_for(1))
    large = S.alpha_with_ci(ratings(3000), "ordinal", resamples=500, rng=S.rng_for(1))
    for out in (small, large):
        assert out["low"] < out["alpha"] < out["high"] and out["undefined_resamples"] == 0
    assert large["high"] - large["low"] < (small["high"] - small["low"]) / 4  # ~ 1/sqrt(100) wider


def test_bootstrap_ci_agrees_with_a_plain_numpy_cluster_bootstrap():
    rng = np.random.default_rng(3)
    counts = rng.integers(1, 6, size=40)
    sums = np.array([rng.integers(1, 6, size=c).sum() for c in counts])
    low, high = S.bootstrap_mean_ci(sums, counts, resamples=20000, rng=S.rng_for(1, "ci"))
    draws = np.random.default_rng(99).integers(0, 40, size=(20000, 40))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    want_low, want_high = np.percentile(means, [2.5, 97.5])
    assert low == pytest.approx(want_low, abs=0.02) and high == pytest.approx(want_high, abs=0.02)
    assert low < sums.sum() / counts.sum() < high


def test_bootstrap_ci_is_seeded_and_handles_small_or_constant_data():
    sums, counts = [4, 9, 12, 2], [1, 2, 3, 1]
    first = S.bootstrap_mean_ci(sums, counts, resamples=500, rng=S.rng_for(5, "x"))
    assert first == S.bootstrap_mean_ci(sums, counts, resamples=500, rng=S.rng_for(5, "x"))
    assert first != S.bootstrap_mean_ci(sums, counts, resamples=500, rng=S.rng_for(6, "x"))
    assert S.bootstrap_mean_ci([4], [1], resamples=100, rng=S.rng_for(0)) is None
    assert S.bootstrap_mean_ci([3, 6], [1, 2], resamples=100, rng=S.rng_for(0)) == (3.0, 3.0)


def test_paired_wilcoxon_is_scipys_and_rank_biserial_by_hand():
    x = np.array([4.0, 3.0, 5.0, 4.5, 2.0, NAN, 3.5, 4.0])
    y = np.array([3.0, 5.0, 2.0, 0.5, 2.0, 1.0, 3.0, 1.0])
    got = S.paired_wilcoxon(x, y)
    keep = ~np.isnan(x)
    want = stats.wilcoxon(x[keep], y[keep])
    assert (
        got["n"] == 7 and got["p"] == pytest.approx(want.pvalue) and got["statistic"] == pytest.approx(want.statistic)
    )
    # differences 1, -2, 3, 4, 0 (dropped), 0.5, 3 → |d| ranks 2, 3, 4.5, 6, 1, 4.5; negatives: rank 3
    assert got["effect"] == pytest.approx((2 + 4.5 + 6 + 1 + 4.5 - 3) / 21)
    assert S.rank_biserial(np.array([1.0, -2.0, 3.0, 4.0, 0.0])) == pytest.approx(0.6)


def _difference_rows(n: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of each kind scipy's method="auto" treats apart: continuous, tied, tied with zeros, mostly zero."""
    rows = [rng.normal(0.3, 1, n), np.round(rng.normal(0.3, 1, n) * 2) / 2, rng.integers(-2, 3, n) / 3]
    sparse = np.zeros(n)
    sparse[: max(1, n // 4)] = rng.normal(0, 1, max(1, n // 4))
    return np.array([*rows, sparse, np.zeros(n)])


@pytest.mark.parametrize("n", [1, 3, 8, 13, 14, 30, 50, 51, 90])
def test_wilcoxon_tests_on_a_stack_equal_scipy_on_each_row(n):
    rng = np.random.default_rng(n)
    repeats = 1 if n == 13 else 4  # scipy's own permutation test of 13 differences takes seconds per row
    d = np.concatenate([_difference_rows(n, rng) for _ in range(repeats)])  # kinds mixed in one stack
    statistic, p = S.wilcoxon_tests(d)
    assert statistic.shape == p.shape == (5 * repeats,)
    for row, got_statistic, got_p in zip(d, statistic, p, strict=True):
        if not row.any():
            assert (got_statistic, got_p) == (0.0, 1.0)
            continue
        want = stats.wilcoxon(row)  # alone: scipy's own choice of exact, permutation or normal approximation
        assert got_p == pytest.approx(want.pvalue, rel=1e-12, abs=1e-15)
        assert got_statistic == want.statistic
    assert np.array_equal(S.wilcoxon_pvalues(d), p)
    with pytest.raises(ValueError, match="finite"):
        S.wilcoxon_tests(np.array([[1.0, NAN]]))


def test_paired_wilcoxon_ties_and_empty():
    assert S.paired_wilcoxon([3, 4], [3, 4]) == {"n": 2, "statistic": 0.0, "p": 1.0, "effect": 0.0}
    assert S.paired_wilcoxon([NAN], [3])["p"] is None


def test_holm_adjusted_values_and_rejections():
    assert S.holm([0.01, 0.04, 0.03, None, 0.005]) == pytest.approx([0.03, 0.06, 0.06, None, 0.02])
    rng = random.Random(0)
    for _ in range(200):
        pvalues = [rng.random() ** 3 for _ in range(rng.randint(1, 8))]
        adjusted = S.holm(pvalues)
        for alpha in (0.01, 0.05, 0.1):
            assert {i for i, p in enumerate(adjusted) if p <= alpha} == holm_reject(pvalues, alpha)


def test_compact_letters_share_a_letter_exactly_when_not_significant():
    rng = random.Random(1)
    methods = list("ABCDEF")
    for _ in range(300):
        means = {m: rng.random() for m in methods}
        significant = {frozenset(p) for p in itertools.combinations(methods, 2) if rng.random() < 0.4}
        letters = S.compact_letters(means, significant)
        for a, b in itertools.combinations(methods, 2):
            share = bool(set(letters[a]) & set(letters[b]))
            assert share == (frozenset((a, b)) not in significant), (letters, significant)


def test_compact_letters_gives_a_to_the_best_method():
    letters = S.compact_letters({"x": 2.0, "y": 4.0, "z": 3.0}, {frozenset("xy")})
    assert letters == {"y": "a", "z": "ab", "x": "b"}
    assert S.compact_letters({"x": 1.0, "y": 2.0}, set()) == {"x": "a", "y": "a"}


def test_leave_one_out_z_and_spearman():
    # By hand: the others of 3.0 are 3.5, 2.5, 4.5 (mean 3.5, sample std 1) → z = −0.5; of 3.5:
    # mean 10/3, variance 13/12; of 2.5: mean 11/3, variance 7/12; of 4.5: mean 3, std 0.5 → z = 3.
    expected = [-0.5, (1 / 6) / math.sqrt(13 / 12), -(7 / 6) / math.sqrt(7 / 12), 3.0]
    assert S.leave_one_out_z([3.0, 3.5, 2.5, 4.5]) == pytest.approx(expected)
    assert S.leave_one_out_z([2.0, 2.0, 2.0, 5.0])[3] is None  # the others agree exactly: no spread
    assert S.leave_one_out_z([2.0, 2.0, 2.0, 5.0])[0] == pytest.approx(-1 / math.sqrt(3))
    assert S.leave_one_out_z([3.0, 4.0]) == [None, None]
    got = S.spearman([1, 2, 3, 4], [1, 3, 2, 4])
    assert got["rho"] == pytest.approx(stats.spearmanr([1, 2, 3, 4], [1, 3, 2, 4]).statistic) and got["n"] == 4
    assert S.spearman([1, 2], [2, 1])["rho"] is None
