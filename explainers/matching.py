"""MatchWords (Eq. 5-6) and TopWords (MeanShift on 1-D pair scores), in numpy.

TopWords reproduces ``sklearn.cluster.MeanShift().fit(scores[:, None])`` (default bandwidth from
``estimate_bandwidth(quantile=0.3)``, flat kernel, every point a seed, no bin seeding, a seed stops
when its mean moves by <= 1e-3 * bandwidth or after max_iter=300 iterations, centres closer than
the bandwidth are merged keeping the more intense one, points labelled by their nearest centre) but
exploits the single dimension: with the scores sorted, a kernel window is a contiguous slice found
by ``searchsorted`` and its mean comes from prefix sums, so one iteration over all seeds costs
O(n log n) instead of a tree query per seed.

Where floating-point rounding makes scikit-learn itself fail, we keep the exact-arithmetic meaning:
with a zero bandwidth (fewer than 7 scores, or scores that are mostly repeated), sklearn's mean of
k equal values can differ from that value in the last bit, so its next window is empty and it drops
that cluster or raises "No point was within bandwidth". Here a window of equal values has exactly
that value as its mean, so a zero bandwidth makes every distinct score its own cluster, and equal
scores make one cluster. Ties between equidistant centres go to the more intense centre.
"""

from __future__ import annotations

import numpy as np

MAX_ITER = 300
QUANTILE = 0.3


def match_words(similarity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MatchWords both ways (Eq. 5) on a word-similarity matrix (n1, n2).

    Every row word is matched to its most similar column word and every column word to its most
    similar row word (first index on ties); the union is deduplicated by (i, j).
    Returns (i, j), each (m,), sorted by i then j.
    """
    n1, n2 = similarity.shape
    if n1 == 0 or n2 == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    rows = np.arange(n1) * n2 + similarity.argmax(axis=1)
    cols = similarity.argmax(axis=0) * n2 + np.arange(n2)
    flat = np.unique(np.concatenate([rows, cols]))
    return flat // n2, flat % n2


def estimate_bandwidth(scores: np.ndarray, quantile: float = QUANTILE) -> float:
    """sklearn's ``estimate_bandwidth`` for 1-D data: the mean distance of each point to its k-th
    nearest point (itself included), k = max(int(n * quantile), 1). O(n log n)."""
    x = np.asarray(scores, dtype=np.float64).ravel()
    n = x.size
    k = max(int(n * quantile), 1)
    if k == 1:
        return 0.0
    order = np.argsort(x, kind="stable")
    xs = x[order]
    # The k nearest points of xs[i] are a window xs[l:l + k] holding i; its radius
    # max(xs[i] - xs[l], xs[l + k - 1] - xs[i]) is smallest where xs[l] + xs[l + k - 1] crosses 2 xs[i].
    window_sum = xs[: n - k + 1] + xs[k - 1 :]
    idx = np.arange(n)
    crossing = np.searchsorted(window_sum, 2 * xs, side="left")
    lo, hi = np.maximum(idx - k + 1, 0), np.minimum(idx, n - k)
    best = np.full(n, np.inf)
    for shift in (-1, 0, 1):  # the crossing may be off by one through rounding
        left = np.clip(crossing + shift, lo, hi)
        radius = np.maximum(xs - xs[left], xs[left + k - 1] - xs)
        best = np.minimum(best, radius)
    distances = np.empty(n)
    distances[order] = best
    # sklearn sums per-point distances in input order, in chunks of 500.
    total = 0.0
    for start in range(0, n, 500):
        total += distances[start : start + 500].sum()
    return float(total / n)


def _window(
    xs: np.ndarray, first: np.ndarray, after: np.ndarray, centres: np.ndarray, bandwidth: float
) -> tuple[np.ndarray, np.ndarray]:
    """Slices [lo, hi) of sorted ``xs`` with (x - c)^2 <= bandwidth^2, as sklearn's tree compares
    squared distances (so a point at exactly the bandwidth is inside). ``first[i]`` / ``after[i]``:
    where the run of values equal to ``xs[i]`` starts / ends."""
    r2 = bandwidth * bandwidth
    n = xs.size
    lo = np.searchsorted(xs, centres - bandwidth, side="left")
    hi = np.searchsorted(xs, centres + bandwidth, side="right")
    # Correct the rounding of centre +- bandwidth by the squared-distance test, one value run each way.
    prev = np.maximum(lo - 1, 0)
    lo = np.where((lo > 0) & ((xs[prev] - centres) ** 2 <= r2), first[prev], lo)
    cur = np.minimum(lo, n - 1)
    lo = np.where((lo < hi) & ((xs[cur] - centres) ** 2 > r2), after[cur], lo)
    nxt = np.minimum(hi, n - 1)
    hi = np.where((hi < n) & ((xs[nxt] - centres) ** 2 <= r2), after[nxt], hi)
    last = np.maximum(hi - 1, 0)
    hi = np.where((hi > lo) & ((xs[last] - centres) ** 2 > r2), first[last], hi)
    return lo, np.maximum(hi, lo)


def mean_shift(
    scores: np.ndarray, bandwidth: float | None = None, max_iter: int = MAX_ITER
) -> tuple[np.ndarray, np.ndarray]:
    """Flat-kernel MeanShift of 1-D ``scores`` (n,) with sklearn's semantics (see module docstring).

    Returns (centres (c,), labels (n,)): centres in sklearn's order (most intense first, ties by
    the higher centre), labels index the centres.
    """
    x = np.asarray(scores, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    if bandwidth is None:
        bandwidth = estimate_bandwidth(x)
    xs = np.sort(x)
    first, after = np.searchsorted(xs, xs, side="left"), np.searchsorted(xs, xs, side="right")
    prefix = np.concatenate([[0.0], np.cumsum(xs)])
    stop = 1e-3 * bandwidth

    means = x.copy()  # every point is a seed, in input order
    counts = np.zeros(n, dtype=np.int64)
    active = np.ones(n, dtype=bool)
    for iteration in range(max_iter + 1):
        seeds = np.flatnonzero(active)
        if seeds.size == 0:
            break
        old = means[seeds]
        lo, hi = _window(xs, first, after, old, bandwidth)
        count = hi - lo
        empty = count == 0
        safe = np.maximum(count, 1)
        new = (prefix[hi] - prefix[lo]) / safe
        # A window of equal values has exactly that value as mean; otherwise keep the mean inside it.
        low_value, high_value = xs[np.minimum(lo, n - 1)], xs[np.maximum(hi - 1, 0)]
        new = np.where(low_value == high_value, low_value, np.clip(new, low_value, high_value))
        new = np.where(empty, old, new)
        means[seeds] = new
        counts[seeds] = count
        done = empty | (np.abs(new - old) <= stop) | (iteration == max_iter)
        active[seeds[done]] = False

    # Centre -> intensity, later seeds overwrite earlier ones (sklearn's dict), empty windows dropped.
    intensity: dict[float, int] = {}
    for centre, count in zip(means.tolist(), counts.tolist(), strict=True):
        if count:
            intensity[centre] = count
    ranked = sorted(intensity.items(), key=lambda item: (item[1], item[0]), reverse=True)
    candidates = np.array([centre for centre, _ in ranked])
    by_value = np.argsort(candidates, kind="stable")
    values = candidates[by_value]
    unique = np.ones(candidates.size, dtype=bool)
    r2 = bandwidth * bandwidth
    for i, centre in enumerate(candidates):
        if unique[i]:
            lo = np.searchsorted(values, centre - bandwidth, side="left")
            hi = np.searchsorted(values, centre + bandwidth, side="right")
            lo, hi = max(lo - 1, 0), min(hi + 1, values.size)
            near = by_value[lo:hi][(values[lo:hi] - centre) ** 2 <= r2]
            unique[near] = False
            unique[i] = True
    centres = candidates[unique]
    return centres, _nearest(x, centres)


def _nearest(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each point; on a tie the lower index (more intense centre)."""
    order = np.argsort(centres, kind="stable")
    values = centres[order]
    right = np.clip(np.searchsorted(values, x, side="left"), 0, values.size - 1)
    left = np.maximum(right - 1, 0)
    d_left, d_right = np.abs(x - values[left]), np.abs(values[right] - x)
    take_left = (d_left < d_right) | ((d_left == d_right) & (order[left] < order[right]))
    labels = np.where(take_left, order[left], order[right])
    # Equal centre values can't exist (dict keys), so checking both neighbours is enough.
    return labels.astype(np.int64)


def top_words(scores: np.ndarray, top_k: int = 2) -> np.ndarray:
    """TopWords: MeanShift the pair scores (n,), rank clusters by centre (highest first) and keep
    the pairs of the ``top_k`` best clusters. Returns a boolean mask (n,)."""
    x = np.asarray(scores, dtype=np.float64).ravel()
    if x.size == 0:
        return np.zeros(0, dtype=bool)
    centres, labels = mean_shift(x)
    rank = np.empty(centres.size, dtype=np.int64)
    rank[np.argsort(-centres, kind="stable")] = np.arange(centres.size)
    return rank[labels] < top_k
