"""Helpers for the results tests (rounds come from tests.factories.EvaluationRoundFactory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory

ROOT = Path(__file__).resolve().parents[2]


def manage_py(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python manage.py ARGS`` in a fresh interpreter at the repository root, as a user runs it, with
    ``env``: its exit code and its output as text (two minutes at most)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def rated_round(methods: list[str], *, pairs: int, judges: int, seed: int = 0, skip: float = 0.0) -> EvaluationRound:
    """A round open for rating: ``pairs`` pairs explained by ``methods``, and ``judges`` judges who
    rated every item at random (``seed``) but a ``skip`` fraction."""
    return EvaluationRoundFactory(
        methods=methods,
        explained_pairs=pairs,
        judges=judges,
        status=EvaluationRound.Status.RATING,
        judges__seed=seed,
        judges__skip=skip,
    )


def holm_reject(pvalues: list[float], alpha: float) -> set[int]:
    """Holm's procedure as published: reject in ascending order while p_(i) <= alpha / (m − i)."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    rejected = set()
    for rank, index in enumerate(order):
        if pvalues[index] > alpha / (len(pvalues) - rank):
            break
        rejected.add(index)
    return rejected
