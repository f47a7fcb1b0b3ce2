"""Statistics of a pairwise-preference round: Bradley-Terry strengths, bootstrap CIs over pairs,
the win-rate matrix, the ranking, and Kendall's tau against a MOS ranking. Pure numpy / scipy /
choix, no Django.

A judgement compares two methods' explanations of one pair: ``"left"``, ``"right"`` or ``"same"``
("about the same"). The model is Bradley-Terry, P(i beats j) = exp(θ_i) / (exp(θ_i) + exp(θ_j)),
fitted by choix's I-LSR (``choix.ilsr_pairwise_dense``, Maystre & Grossglauser 2015) on the matrix
of wins. **Ties count as half a win for each side** (not Davidson's tie model): an "about the same"
adds 0.5 to both cells, so it pulls the two strengths together without a tie parameter.

``REGULARIZATION`` (choix's ``alpha``) is a small constant added to every transition rate: it keeps
the estimate finite when a method never wins or the comparison graph is not connected (a bootstrap
resample may draw such a set), at a shrinkage toward equal strengths far below the CIs' width.
Strengths are log-strengths centred on their mean (choix's convention).

CIs: a percentile bootstrap that resamples the *pairs* (paragraph pairs) with replacement, keeping
all judgements of a drawn pair together, as the MOS CIs do (``statistics.bootstrap_mean_ci``); a
resample's win matrix is the weighted sum of the pairs' own matrices, so each resample costs one
matrix product and one small fit. Seeded through ``statistics.rng_for``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bti_eval.results.statistics import LEVEL, rng_for

CHOICES = ("left", "right", "same")
REGULARIZATION = 1e-3


@dataclass(frozen=True)
class Judgement:
    """One pairwise rating: the pair rated, the method shown on each side, and the choice."""

    pair: Any
    left: str
    right: str
    choice: str


def win_matrices(judgements: Iterable[Judgement], methods: Sequence[str]) -> tuple[list[Any], np.ndarray]:
    """Per pair, the matrix of wins W[i, j] (method i preferred to method j; a tie adds 0.5 to both).

    Returns (pairs in first-seen order, wins (n_pairs, m, m)). Judgements naming a method outside
    ``methods`` (a control item) are left out; an unknown choice raises ValueError.
    """
    index = {m: k for k, m in enumerate(methods)}
    pairs: dict[Any, int] = {}
    entries: list[tuple[int, int, int, float]] = []
    for judgement in judgements:
        if judgement.choice not in CHOICES:
            raise ValueError(f"unknown pairwise choice {judgement.choice!r}; expected one of {CHOICES}")
        if judgement.left not in index or judgement.right not in index or judgement.left == judgement.right:
            continue
        p = pairs.setdefault(judgement.pair, len(pairs))
        a, b = index[judgement.left], index[judgement.right]
        if judgement.choice == "left":
            entries.append((p, a, b, 1.0))
        elif judgement.choice == "right":
            entries.append((p, b, a, 1.0))
        else:
            entries += [(p, a, b, 0.5), (p, b, a, 0.5)]
    wins = np.zeros((len(pairs), len(methods), len(methods)))
    if entries:
        p, i, j, w = (np.array(column) for column in zip(*entries, strict=True))
        np.add.at(wins, (p.astype(int), i.astype(int), j.astype(int)), w)
    return list(pairs), wins


def strengths(wins: np.ndarray, *, start: np.ndarray | None = None) -> np.ndarray:
    """Bradley-Terry log-strengths (m,), centred, of a win matrix (m, m) (choix I-LSR, ties as half
    wins); ``start``: initial parameters (a bootstrap starts from the point estimate)."""
    import choix

    m = wins.shape[0]
    if m < 2 or not wins.any():
        return np.zeros(m)
    return np.asarray(choix.ilsr_pairwise_dense(wins, alpha=REGULARIZATION, initial_params=start), dtype=float)


def win_rates(wins: np.ndarray) -> list[list[float | None]]:
    """W[i, j] / (W[i, j] + W[j, i]): how often method i was preferred to j (ties half); None where
    the two were never compared, and on the diagonal."""
    m = wins.shape[0]
    total = wins + wins.T
    return [
        [None if i == j or total[i, j] == 0 else float(wins[i, j] / total[i, j]) for j in range(m)] for i in range(m)
    ]


def bootstrap_strengths(
    pair_wins: np.ndarray, *, resamples: int, rng: np.random.Generator, level: float = LEVEL
) -> tuple[np.ndarray, np.ndarray] | None:
    """Percentile CIs (low (m,), high (m,)) of the strengths, resampling pairs with replacement.

    In: per pair win matrices (n_pairs, m, m). None with fewer than 2 pairs.
    """
    n_pairs = pair_wins.shape[0]
    if n_pairs < 2:
        return None
    draws = rng.multinomial(n_pairs, np.full(n_pairs, 1.0 / n_pairs), size=resamples)  # (resamples, n_pairs)
    totals = np.einsum("rp,pij->rij", draws.astype(float), pair_wins)  # (resamples, m, m)
    start = strengths(pair_wins.sum(axis=0))
    estimates = np.stack([strengths(total, start=start) for total in totals])  # (resamples, m)
    tail = (1 - level) / 2 * 100
    return np.percentile(estimates, tail, axis=0), np.percentile(estimates, 100 - tail, axis=0)


def kendall_tau(first: Mapping[str, float], second: Mapping[str, float]) -> dict[str, Any] | None:
    """Kendall's tau-b (scipy) between two scorings of the methods they share (e.g. Bradley-Terry
    strengths and MOS means); None with fewer than 3 shared methods."""
    from scipy.stats import kendalltau

    shared = [m for m in first if m in second]
    if len(shared) < 3:
        return None
    result = kendalltau([first[m] for m in shared], [second[m] for m in shared])
    tau = float(result.statistic)
    return {
        "tau": tau if np.isfinite(tau) else None,
        "p": float(result.pvalue) if np.isfinite(result.pvalue) else None,
        "methods": shared,
    }


def pairwise_report(
    judgements: Iterable[Judgement], methods: Sequence[str], *, seed: int, resamples: int
) -> dict[str, Any]:
    """Everything the results page and the exports show of a pairwise round.

    ``{"methods": [{"method", "strength", "ci": [low, high] | None, "rank", "wins", "losses",
    "ties", "comparisons"}, ...] (best first), "win_rates": m × m (round's method order),
    "order": methods, "judgements", "pairs", "resamples", "ties_as": "half a win each",
    "model": ...}``.
    """
    judgements = list(judgements)
    pairs, pair_wins = win_matrices(judgements, methods)
    wins = pair_wins.sum(axis=0) if len(pairs) else np.zeros((len(methods), len(methods)))
    theta = strengths(wins)
    ci = bootstrap_strengths(pair_wins, resamples=resamples, rng=rng_for(seed, "bradley-terry"))
    tally = {m: {"wins": 0, "losses": 0, "ties": 0} for m in methods}
    counted = 0
    for j in judgements:
        if j.left not in tally or j.right not in tally or j.left == j.right:
            continue
        counted += 1
        if j.choice == "same":
            tally[j.left]["ties"] += 1
            tally[j.right]["ties"] += 1
        else:
            winner, loser = (j.left, j.right) if j.choice == "left" else (j.right, j.left)
            tally[winner]["wins"] += 1
            tally[loser]["losses"] += 1
    rows = [
        {
            "method": method,
            "strength": float(theta[k]),
            "ci": None if ci is None else [float(ci[0][k]), float(ci[1][k])],
            **tally[method],
            "comparisons": sum(tally[method].values()),
        }
        for k, method in enumerate(methods)
    ]
    rows.sort(key=lambda row: (-row["strength"], methods.index(row["method"])))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return {
        "model": "Bradley-Terry (choix I-LSR), ties as half a win each",
        "methods": rows,
        "order": list(methods),
        "win_rates": win_rates(wins),
        "judgements": counted,
        "pairs": len(pairs),
        "resamples": resamples,
    }
