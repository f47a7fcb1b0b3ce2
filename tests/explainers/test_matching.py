"""MatchWords (Eq. 5) and TopWords (MeanShift with scikit-learn's semantics)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import MeanShift
from sklearn.cluster import estimate_bandwidth as sklearn_bandwidth
from threadpoolctl import threadpool_limits

from explainers.matching import estimate_bandwidth, match_words, mean_shift, top_words


def test_match_words_both_ways_dedup():
    similarity = np.array(
        [
            [0.9, 0.1, 0.2],
            [0.3, 0.2, 0.8],
        ]
    )
    i, j = match_words(similarity)
    # rows: (0,0), (1,2); columns: 0->0, 1->1 (0.2 > 0.1), 2->1
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 0), (1, 1), (1, 2)]


def test_match_words_empty_side():
    i, j = match_words(np.zeros((0, 3)))
    assert i.size == 0 and j.size == 0


def test_match_words_ties_take_the_first_index():
    i, j = match_words(np.ones((2, 2)))
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 0), (0, 1), (1, 0)]


def _random_scores(rng, kind: int, n: int) -> np.ndarray:
    if kind == 0:
        return rng.random(n)
    if kind == 1:  # ties: repeated word pairs give equal scores
        return rng.choice(rng.random(max(1, n // 3)), n)
    return rng.exponential(size=n) * rng.random()


def test_mean_shift_equals_sklearn_on_random_scores():
    with threadpool_limits(limits=1):  # sklearn's OpenMP neighbour search only slows tiny inputs down
        _compare_with_sklearn()


def _compare_with_sklearn():
    rng = np.random.default_rng(0)
    compared = zero_bandwidth = 0
    for trial in range(400):
        x = _random_scores(rng, trial % 3, int(rng.integers(1, 40)))
        bandwidth = estimate_bandwidth(x)
        assert bandwidth == sklearn_bandwidth(x[:, None])
        centres, labels = mean_shift(x)
        assert labels.shape == x.shape
        if bandwidth == 0:
            # Documented choice: every distinct value is a cluster (sklearn may drop one through rounding).
            zero_bandwidth += 1
            assert sorted(centres.tolist()) == sorted(set(x.tolist()))
            assert np.array_equal(centres[labels], x)
            continue
        reference = MeanShift().fit(x[:, None])
        assert centres.shape == (len(reference.cluster_centers_),)
        np.testing.assert_allclose(centres, reference.cluster_centers_.ravel(), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(labels, reference.labels_)
        compared += 1
    assert compared > 300 and zero_bandwidth > 40


@pytest.mark.parametrize(
    "x",
    [[0.5], [0.3, 0.3], [0.1, 0.1, 0.1], [0.2] * 10, [0.1, 0.1, 0.1, 0.7, 0.7]],
)
def test_mean_shift_degenerate_inputs_do_not_fail(x):
    centres, labels = mean_shift(np.array(x))
    assert sorted(centres.tolist()) == sorted(set(x))
    assert np.array_equal(centres[labels], np.array(x))


def test_mean_shift_given_bandwidth_matches_sklearn():
    x = np.array([0.1, 0.12, 0.5, 0.52, 0.55, 0.9])
    centres, labels = mean_shift(x, bandwidth=0.1)
    reference = MeanShift(bandwidth=0.1).fit(x[:, None])
    np.testing.assert_allclose(centres, reference.cluster_centers_.ravel(), atol=1e-12)
    np.testing.assert_array_equal(labels, reference.labels_)


def test_top_words_keeps_the_best_clusters():
    scores = np.array([0.95, 0.9, 0.92, 0.5, 0.52, 0.48, 0.1, 0.12, 0.11, 0.09, 0.1, 0.08])
    # bandwidth 0.0258: clusters {0.95}, {0.9, 0.92}, {0.48..0.52}, {0.08..0.12}
    assert estimate_bandwidth(scores) == pytest.approx(0.0258333, abs=1e-6)
    assert np.flatnonzero(top_words(scores, top_k=1)).tolist() == [0]
    assert np.flatnonzero(top_words(scores, top_k=2)).tolist() == [0, 1, 2]
    assert np.flatnonzero(top_words(scores, top_k=3)).tolist() == [0, 1, 2, 3, 4, 5]
    assert top_words(scores, top_k=4).all()


def test_top_words_degenerate():
    assert top_words(np.array([0.4]), top_k=2).tolist() == [True]
    assert top_words(np.full(5, 0.3), top_k=1).all()
    assert top_words(np.zeros(0), top_k=2).size == 0
    # Fewer than 7 scores: zero bandwidth, so the two highest distinct scores are kept.
    assert top_words(np.array([0.1, 0.9, 0.5, 0.9, 0.2]), top_k=2).tolist() == [False, True, True, True, False]
