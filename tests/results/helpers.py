"""Helpers for the results tests (rounds come from tests.factories.EvaluationRoundFactory)."""

from __future__ import annotations


def holm_reject(pvalues: list[float], alpha: float) -> set[int]:
    """Holm's procedure as published: reject in ascending order while p_(i) <= alpha / (m − i)."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    rejected = set()
    for rank, index in enumerate(order):
        if pvalues[index] > alpha / (len(pvalues) - rank):
            break
        rejected.add(index)
    return rejected
