"""Building rated rounds for results tests (bulk inserts, so big rounds stay quick to build)."""

from __future__ import annotations

import numpy as np

from bti_eval.judging.models import Assignment, Judge, Rating
from bti_eval.pairs.models import ParagraphPair
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import EvaluationRoundFactory, UserFactory


def rated_round(
    *,
    methods: list[str],
    pairs: int,
    judges: int,
    seed: int = 0,
    status: str = EvaluationRound.Status.RATING,
    skip: float = 0.0,
) -> tuple[EvaluationRound, np.ndarray]:
    """A round where each judge rated every explanation (or all but a ``skip`` fraction) with random scores.

    Returns the round and the ratings as an array of rows ``(judge index, method index, score)``.
    """
    rng = np.random.default_rng(seed)
    round = EvaluationRoundFactory(methods=methods, status=status)
    pair_rows = ParagraphPair.objects.bulk_create(
        ParagraphPair(source=f"bulk-{round.pk}", external_id=f"p{i}", text_a=f"a {i}", text_b=f"b {i}")
        for i in range(pairs)
    )
    explanations = Explanation.objects.bulk_create(
        Explanation(round=round, pair=p, method=m, status=Explanation.Status.DONE, payload={"method": m})
        for p in pair_rows
        for m in methods
    )
    judge_rows = [
        Judge.objects.create(round=round, user=UserFactory(username=f"bulk-judge-{round.pk}-{j}"), name=f"J{j}", seed=j)
        for j in range(judges)
    ]
    assignments = Assignment.objects.bulk_create(
        Assignment(judge=judge, explanation=e, position=k, public_id=f"{round.pk}-{judge.pk}-{k}")
        for judge in judge_rows
        for k, e in enumerate(explanations)
    )
    method_index = {m: i for i, m in enumerate(methods)}
    judge_index = {judge.pk: i for i, judge in enumerate(judge_rows)}
    keep = rng.random(len(assignments)) >= skip
    scores = rng.integers(1, 6, size=len(assignments))
    Rating.objects.bulk_create(
        (
            Rating(assignment=a, judge_id=a.judge_id, score=int(s), seconds=float(s) * 2.5)
            for a, s, k in zip(assignments, scores, keep, strict=True)
            if k
        ),
        batch_size=5000,
    )
    table = np.array(
        [
            (judge_index[a.judge_id], method_index[a.explanation.method], s)
            for a, s, k in zip(assignments, scores, keep, strict=True)
            if k
        ]
    )
    return round, table


def holm_reject(pvalues: list[float], alpha: float) -> set[int]:
    """Holm's procedure as published: reject in ascending order while p_(i) <= alpha / (m − i)."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    rejected = set()
    for rank, index in enumerate(order):
        if pvalues[index] > alpha / (len(pvalues) - rank):
            break
        rejected.add(index)
    return rejected
