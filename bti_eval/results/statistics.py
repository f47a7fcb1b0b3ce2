"""Statistics of a round's ratings. Pure numpy / scipy / krippendorff, no Django.

- ``bootstrap_mean_ci``: a percentile bootstrap CI of a method's mean score that resamples the
  *pairs* (items) with replacement, keeping all ratings of a drawn pair together (a cluster
  bootstrap: ratings of one pair are not independent). scipy.stats.bootstrap does the resampling.
- ``alpha_with_ci``: Krippendorff's alpha (``krippendorff`` package) on the 1-5 value domain, with
  a percentile bootstrap CI that resamples the units (explanations) with replacement (resamples
  where alpha is undefined are left out and counted), vectorised over resamples through the
  coincidence matrix (``alpha_of_coincidences``, checked against ``krippendorff.alpha``).
- ``paired_wilcoxon``: Wilcoxon signed-rank test (scipy) of two methods' per-pair mean scores,
  with the matched-pairs rank-biserial correlation as effect size (Kerby 2014); ``wilcoxon_tests``
  runs it on many rows at once (the study plan's simulations).
- ``holm``: Holm's step-down adjusted p-values; ``compact_letters``: the compact letter display
  (Piepho 2004, insert-and-absorb) of which methods do not differ significantly.
- The control-item test (one-sided Mann-Whitney U that a judge rates real items above controls) is
  ``judging.controls.control_test``: the crowd screen-out uses it too, so it lives below both.

Every random draw comes from ``rng_for(seed, label)``, so results depend on the seed only, not
on the order in which statistics are computed.

scipy.stats and krippendorff are imported by the functions that use them (scipy.stats alone takes
about half a second to import): a page or command that reads a cached report never loads them.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

SCORE_DOMAIN = np.arange(1, 6)  # the 1-5 MOS scale
LEVEL = 0.95
SIGNIFICANCE = 0.05
MIN_ALPHA_UNITS = 2  # pairable units (explanations rated twice or more) alpha needs


def rng_for(seed: int, *labels: Hashable) -> np.random.Generator:
    """A generator seeded by ``seed`` and ``labels`` (e.g. "ci", "bti"): one stream per statistic."""
    entropy = [int(seed) % (2**63), *(zlib.crc32(str(label).encode()) for label in labels)]
    return np.random.default_rng(entropy)


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


# --- means ------------------------------------------------------------------------------------


def bootstrap_mean_ci(
    sums: Sequence[float], counts: Sequence[int], *, resamples: int, rng: np.random.Generator, level: float = LEVEL
) -> tuple[float, float] | None:
    """Percentile bootstrap CI of the mean over all ratings, resampling pairs with replacement.

    In: per pair, the sum of its scores and its number of ratings (n_pairs,). Out: (low, high),
    or None with fewer than 2 pairs.
    """
    sums_arr = np.asarray(sums, dtype=float)
    counts_arr = np.asarray(counts, dtype=float)
    if sums_arr.size < 2:
        return None

    def ratio(s: np.ndarray, c: np.ndarray, axis: int = -1) -> np.ndarray:
        return s.sum(axis=axis) / c.sum(axis=axis)

    if np.allclose(sums_arr / counts_arr, sums_arr[0] / counts_arr[0]):
        value = float(sums_arr.sum() / counts_arr.sum())
        return value, value  # every pair has the same mean: no sampling variation to show
    from scipy import stats

    result = stats.bootstrap(
        (sums_arr, counts_arr),
        ratio,
        paired=True,
        vectorized=True,
        n_resamples=resamples,
        batch=max(1, min(resamples, 2_000_000 // sums_arr.size)),
        confidence_level=level,
        method="percentile",
        rng=rng,
    )
    low, high = _finite(result.confidence_interval.low), _finite(result.confidence_interval.high)
    return None if low is None or high is None else (low, high)


# --- agreement --------------------------------------------------------------------------------


def value_counts(matrix: np.ndarray) -> np.ndarray:
    """(judges, units) scores with NaN for missing → (units, 5) counts per score, pairable units only."""
    counts = (matrix.T[..., None] == SCORE_DOMAIN[None, None, :]).sum(axis=1)  # (units, 5)
    return counts[counts.sum(axis=1) >= 2]


def krippendorff_alpha(counts: np.ndarray, level: str) -> float | None:
    """Krippendorff's alpha (``krippendorff.alpha``) of (units, 5) value counts at ``level``
    ("ordinal" or "interval"); None when undefined (no pairable units, or a single value used)."""
    if counts.shape[0] == 0 or np.count_nonzero(counts.sum(axis=0)) < 2:
        return None
    import krippendorff

    with np.errstate(divide="ignore", invalid="ignore"):
        value = krippendorff.alpha(value_counts=counts, value_domain=SCORE_DOMAIN, level_of_measurement=level)
    return _finite(value)


def unit_coincidences(counts: np.ndarray) -> np.ndarray:
    """(units, V) value counts of pairable units → (units, V·V) coincidences of each unit: the
    terms whose sum over units is Krippendorff's coincidence matrix o (as ``krippendorff`` forms it:
    (n_u n_uᵀ − diag n_u) / (m_u − 1), m_u the unit's number of values)."""
    counts = np.asarray(counts, dtype=float)
    values = counts.shape[1]
    outer = counts[:, :, None] * counts[:, None, :] - counts[:, None, :] * np.eye(values)[None]
    return (outer / (counts.sum(axis=1) - 1)[:, None, None]).reshape(counts.shape[0], values * values)


def alpha_of_coincidences(o: np.ndarray, level: str) -> np.ndarray:
    """Krippendorff's alpha of a stack of (V, V) coincidence matrices, vectorised: (B, V, V) → (B,).

    The formula of ``krippendorff.alpha`` from o on (expected coincidences e from the marginals
    n_v, the ordinal or interval distance δ of the 1-5 domain, alpha = 1 − Σo·δ / Σe·δ), NaN where
    alpha is undefined (fewer than two distinct values, as ``krippendorff_alpha``'s None). The
    tests check it against ``krippendorff.alpha`` resample by resample.
    """
    o = np.asarray(o, dtype=float)
    n_v = o.sum(axis=1)  # (B, V)
    n = n_v.sum(axis=1)
    eye = np.eye(o.shape[-1])[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        e = (n_v[:, :, None] * n_v[:, None, :] - n_v[:, None, :] * eye) / (n - 1)[:, None, None]
        if level == "interval":
            d = ((SCORE_DOMAIN[:, None] - SCORE_DOMAIN[None, :]) ** 2).astype(float)[None]
        elif level == "ordinal":
            # δ(c, k) = (Σ_{g=c..k} n_g − (n_c + n_k) / 2)², c ≤ k, from running sums of n_v.
            before = np.cumsum(n_v, axis=1) - n_v  # Σ_{g<c} n_g
            low = np.minimum.outer(np.arange(o.shape[-1]), np.arange(o.shape[-1]))
            high = np.maximum.outer(np.arange(o.shape[-1]), np.arange(o.shape[-1]))
            between = before[:, high] + n_v[:, high] - before[:, low]
            d = (between - (n_v[:, low] + n_v[:, high]) / 2) ** 2
        else:
            raise ValueError(f"unknown level of measurement {level!r}")
        alpha = 1 - (o * d).sum(axis=(1, 2)) / (e * d).sum(axis=(1, 2))
    alpha[np.count_nonzero(n_v, axis=1) < 2] = np.nan
    alpha[~np.isfinite(alpha)] = np.nan
    return alpha


def alpha_with_ci(
    matrix: np.ndarray, level: str, *, resamples: int, rng: np.random.Generator, confidence: float = LEVEL
) -> dict[str, Any]:
    """Alpha of a (judges, units) score matrix (NaN = not rated) and its bootstrap CI over units.

    Out: ``{"alpha", "low", "high", "units", "values", "undefined_resamples"}``: units = pairable
    units (rated at least twice), values = the ratings in them. Alpha is None (shown as "–") with
    fewer than ``MIN_ALPHA_UNITS`` pairable units; CI bounds are None when alpha or the CI is
    undefined.

    The point estimate is ``krippendorff.alpha``. The bootstrap resamples units with replacement;
    since o is a sum over units, a resample's o is the unit coincidences weighted by how often each
    unit was drawn, so every resample costs one matrix product (``alpha_of_coincidences``) instead
    of a call over the drawn units: 1,000 resamples of a 100,000-rating round take milliseconds.
    A resample where alpha is undefined (e.g. every drawn value equal) is left out of the
    percentiles and counted, rather than turning the CI into NaN.
    """
    counts = value_counts(np.asarray(matrix, dtype=float))
    # One pairable unit is all of the data: its observed disagreement is its expected one, so
    # alpha would be 0 whatever the judges did. Undefined, as with none.
    point = krippendorff_alpha(counts, level) if counts.shape[0] >= MIN_ALPHA_UNITS else None
    out = {
        "alpha": point,
        "low": None,
        "high": None,
        "units": int(counts.shape[0]),
        "values": int(counts.sum()),
        "undefined_resamples": 0,
    }
    if point is None or counts.shape[0] < 2 or resamples < 1:
        return out

    n_units, values = counts.shape
    per_unit = unit_coincidences(counts)
    draws = np.empty(resamples)
    chunk = max(1, _BOOTSTRAP_CELLS // n_units)  # resamples per step: bounded memory on huge rounds
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        drawn = rng.integers(0, n_units, size=(size, n_units))
        drawn += np.arange(size)[:, None] * n_units  # row b counts into its own block of n_units
        weights = np.bincount(drawn.ravel(), minlength=size * n_units).reshape(size, n_units)
        o = (weights @ per_unit).reshape(size, values, values)
        draws[start : start + size] = alpha_of_coincidences(o, level)
    defined = draws[np.isfinite(draws)]
    out["undefined_resamples"] = int(resamples - defined.size)
    if defined.size:
        tail = (1 - confidence) / 2
        out["low"], out["high"] = (float(v) for v in np.quantile(defined, [tail, 1 - tail]))
    return out


def alpha_levels(
    matrix: np.ndarray, *, resamples: int, seed: int, label: Hashable, confidence: float = LEVEL
) -> dict[str, dict[str, Any]]:
    """``{"ordinal": ..., "interval": ...}``: ``alpha_with_ci`` of ``matrix`` at both levels, each
    resampled with its own generator ``rng_for(seed, "alpha", level, label)``."""
    return {
        level: alpha_with_ci(
            matrix,
            level,
            resamples=resamples,
            rng=rng_for(seed, "alpha", level, label),
            confidence=confidence,
        )
        for level in ("ordinal", "interval")
    }


_BOOTSTRAP_CELLS = 4_000_000  # units × resamples drawn at once in alpha_with_ci (about 32 MB each array)


# --- paired tests -----------------------------------------------------------------------------


def rank_biserial(differences: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation of paired differences (zeros dropped):
    (sum of ranks of positive − sum of ranks of negative) / sum of all ranks, in [−1, 1]."""
    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return 0.0
    from scipy import stats

    ranks = stats.rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def paired_wilcoxon(x: Sequence[float], y: Sequence[float]) -> dict[str, Any]:
    """Two-sided Wilcoxon signed-rank test of x vs y (paired; NaN pairs dropped; zero differences
    dropped, scipy's default). Out: ``{"n", "statistic", "p", "effect"}``; effect > 0 means x > y.
    With no non-zero difference the methods tie: p = 1, effect 0; with none at all, p is None."""
    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    both = np.isfinite(x_arr) & np.isfinite(y_arr)
    d = x_arr[both] - y_arr[both]
    n = int(d.size)
    if n == 0:
        return {"n": 0, "statistic": None, "p": None, "effect": None}
    if not np.any(d != 0):
        return {"n": n, "statistic": 0.0, "p": 1.0, "effect": 0.0}
    statistic, p = wilcoxon_tests(d[None, :])
    return {"n": n, "statistic": _finite(statistic[0]), "p": _finite(p[0]), "effect": rank_biserial(d)}


_EXACT_MAX_N = 50  # scipy's method="auto": exact null distribution up to this many differences
_PERMUTATION_MAX_N = 13  # ... and, with ties or zeros, every sign flip enumerated (2**13 ≤ 9999 resamples)


def wilcoxon_tests(differences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Wilcoxon signed-rank tests of many rows at once, as ``scipy.stats.wilcoxon`` tests
    each row alone: (rows, n) finite paired differences x − y → (statistic, p), each (rows,).

    scipy's ``method="auto"`` decides once per call (a tie anywhere in a stack sends every row to
    the normal approximation), so the rows are split here by the choice scipy makes for each row
    alone: more than 50 differences → asymptotic; no ties and no zero → exact; otherwise up to 13
    → the exact permutation distribution (all 2ⁿ sign flips, scipy's ``PermutationMethod`` at that
    size), else asymptotic. scipy tests the exact and asymptotic rows; the permutation rows are
    enumerated here as one matrix product of the ranks with every sign pattern (scipy's
    ``permutation_test`` took seconds per test, which made the results of a round of 13 pairs or
    fewer, the demo's, take most of a minute). A row with no non-zero difference gets statistic 0
    and p = 1, as ``paired_wilcoxon`` says. The tests hold every row to ``scipy.stats.wilcoxon``.
    Used by ``paired_wilcoxon`` and by the study plan (``results.planning``).
    """
    d = np.asarray(differences, dtype=float)
    if d.ndim != 2 or not np.all(np.isfinite(d)):
        raise ValueError("differences must be a finite (rows, n) array")
    rows, n = d.shape
    statistic, p = np.zeros(rows), np.ones(rows)
    if rows == 0 or n == 0:
        return statistic, p
    from scipy import stats

    nonzero = d != 0
    magnitude = np.sort(np.where(nonzero, np.abs(d), np.nan), axis=1)  # NaN (the zeros) sort last
    ties = np.any(magnitude[:, 1:] == magnitude[:, :-1], axis=1)
    tested = np.any(nonzero, axis=1)
    if n > _EXACT_MAX_N:
        groups = {"asymptotic": tested}
    else:
        plain = ~ties & np.all(nonzero, axis=1)
        small = n <= _PERMUTATION_MAX_N
        groups = {
            "exact": tested & plain,
            "permutation": tested & ~plain & small,
            "asymptotic": tested & ~plain & (not small),
        }
    for method, rows_of in groups.items():
        if not rows_of.any():
            continue
        if method == "permutation":
            statistic[rows_of], p[rows_of] = _sign_flip_tests(d[rows_of])
        else:
            result = stats.wilcoxon(d[rows_of], axis=-1, method=method)
            statistic[rows_of], p[rows_of] = result.statistic, result.pvalue
    return statistic, p


def wilcoxon_pvalues(differences: np.ndarray) -> np.ndarray:
    """The p-values of ``wilcoxon_tests``: (rows, n) differences → (rows,)."""
    return wilcoxon_tests(differences)[1]


def _sign_flip_tests(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilcoxon's min(R⁺, R⁻) and its two-sided exact p under all 2ⁿ sign flips, for (rows, n ≤ 13)
    differences (R⁺: the sum of the ranks of |d| over the positive differences, zeros dropped):
    scipy's ``permutation_test`` of R⁺ when it enumerates every flip (no +1 adjustment, the same
    relative tolerance, p = 2·min(P(T ≤ t), P(T ≥ t)) capped at 1)."""
    from scipy import stats

    rows, n = d.shape
    ranks = np.nan_to_num(stats.rankdata(np.where(d == 0, np.nan, np.abs(d)), axis=1, nan_policy="omit"))
    observed = (ranks * (d > 0)).sum(axis=1)  # R⁺ (rows,); a zero's rank is 0, in no sign pattern
    patterns = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(float)  # (2ⁿ, n)
    tolerance = np.abs(observed) * np.finfo(float).eps * 100
    p = np.empty(rows)
    step = max(1, 2_000_000 // 2**n)  # rows per product: (step, 2ⁿ) floats at a time
    for start in range(0, rows, step):
        part = slice(start, start + step)
        null = ranks[part] @ patterns.T  # (step, 2ⁿ): R⁺ of every sign flip
        t, gamma = observed[part, None], tolerance[part, None]
        less = np.count_nonzero(null <= t + gamma, axis=1)
        greater = np.count_nonzero(null >= t - gamma, axis=1)
        p[part] = np.minimum(1.0, 2 * np.minimum(less, greater) / 2**n)
    return np.minimum(observed, ranks.sum(axis=1) - observed), p


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and does not count in m).

    Sorted ascending, p_(i) is multiplied by (m − i + 1), made monotone by a running maximum and
    capped at 1; ``adjusted[i] < alpha`` is exactly Holm's rejection at family-wise level alpha.
    """
    present = [(p, i) for i, p in enumerate(pvalues) if p is not None]
    m = len(present)
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, index) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted


def compact_letters(means: Mapping[str, float], significant: set[frozenset[str]]) -> dict[str, str]:
    """Compact letter display: methods sharing a letter do not differ significantly.

    In: each method's mean (ordering the letters: "a" goes to the group of the best method) and
    the set of significantly different pairs. Insert-and-absorb (Piepho 2004): start with one
    group of all methods; for each significant pair split every group holding both into the group
    without one and the group without the other; drop groups contained in another.
    """
    groups: list[frozenset[str]] = [frozenset(means)]
    for pair in significant:
        a, b = tuple(pair)
        split: list[frozenset[str]] = []
        for group in groups:
            split += [group - {a}, group - {b}] if a in group and b in group else [group]
        unique = set(split)
        groups = [g for g in unique if g and not any(g < other for other in unique)]
    order = {m: rank for rank, m in enumerate(sorted(means, key=lambda m: (-means[m], m)))}
    groups.sort(key=lambda g: sorted(order[m] for m in g))
    letters = {m: "" for m in means}
    for index, group in enumerate(groups):
        letter = _letter(index)
        for method in group:
            letters[method] += letter
    return letters


def _letter(index: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    return alphabet[index] if index < 26 else alphabet[index // 26 - 1] + alphabet[index % 26]


# --- judges -----------------------------------------------------------------------------------


def leave_one_out_z(values: Sequence[float]) -> list[float | None]:
    """z of each value against the others: (v_i − mean(others)) / std(others, ddof=1); needs 3 values."""
    arr = np.asarray(values, dtype=float)
    out: list[float | None] = []
    for i in range(arr.size):
        others = np.delete(arr, i)
        if others.size < 2 or others.std(ddof=1) == 0:
            out.append(None)
        else:
            out.append(float((arr[i] - others.mean()) / others.std(ddof=1)))
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> dict[str, Any]:
    """Spearman's rho (scipy) of two rankings with its p-value; None below 3 points or when constant."""
    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x_arr.size < 3 or np.ptp(x_arr) == 0 or np.ptp(y_arr) == 0:
        return {"rho": None, "p": None, "n": int(x_arr.size)}
    from scipy import stats

    result = stats.spearmanr(x_arr, y_arr)
    return {"rho": _finite(result.statistic), "p": _finite(result.pvalue), "n": int(x_arr.size)}
