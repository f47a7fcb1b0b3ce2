"""Simulated judges (``simulate_judges``): fill a round that is open for rating with plausible ratings,
so that the analysis can be tried before real judges come (and for tests and load tests).

Each simulated judge is a real Judge (a user with no usable password, no invite) whose assignments are
built by the normal services (the round's design, control items, the spread rule). Scores:

- careful judges: round(method mean + judge bias + pair effect + noise), clipped to 1-5. Method
  means follow the paper's Table 1 for its seven methods (BTI 4.3 … BTI activations 2.4) and
  ``DEFAULT_MEAN`` otherwise; control items have mean ``CONTROL_MEAN`` (careful judges see that
  they are bad). Seconds per rating are log-normal around 12 s.
- sloppy judges: uniform 1-5 whatever the item (controls included), about 1-2.5 s per rating.
- pairwise items (a pairwise round): a careful judge prefers the left explanation with the
  Bradley–Terry probability 1 / (1 + exp(−d)), d = ``PAIRWISE_SCALE`` × (left method's mean −
  right method's mean) + noise (sd ``NOISE_SD``), and answers "about the same" with probability
  ``PAIRWISE_TIE`` × exp(−d²). On a control item (a real explanation beside its degraded copy) a
  careful judge sees the degraded side for what it is: d = ±``PAIRWISE_CONTROL_D`` + noise, so they
  prefer the real side about 19 times in 20 (the 1-5 means would put a degraded copy only about one
  point below the paper's weakest method). A sloppy judge picks left, right or same uniformly.

Ratings are bulk-inserted with the same invariants as ``rating_submit``: one per assignment, a
score from 1 to 5 (a choice on a pairwise item), seconds ≥ 0, and the first RatingChange of each
rating's history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging.models import Assignment, Judge, Rating, RatingChange
from bti_eval.judging.services.assignments import assignments_build_for_round
from bti_eval.rounds.models import EvaluationRound

TABLE1_MEANS = {
    "bti": 4.3,
    "bti-gradients": 3.9,
    "vanilla-gradients": 3.6,
    "integrated-gradients": 3.5,
    "bti-last-layer": 2.6,
    "tfidf-w2v": 2.5,
    "bti-activations": 2.4,
}
DEFAULT_MEAN = 3.0
CONTROL_MEAN = 1.4
JUDGE_BIAS_SD, PAIR_EFFECT_SD, NOISE_SD = 0.25, 0.4, 0.6
MAX_JUDGES = 200
PAIRWISE_SCALE, PAIRWISE_TIE = 1.2, 0.3
PAIRWISE_CONTROL_D = 3.0


@dataclass(frozen=True)
class Simulated:
    judges: list[Judge]
    sloppy: list[Judge]
    ratings: int


def ratings_simulate(*, round: EvaluationRound, judges: int = 5, seed: int = 0, sloppy: int = 1) -> Simulated:
    """Add ``judges`` simulated judges to a rating round and rate all their assignments.

    ``sloppy`` of them (chosen with ``seed``) rate uniformly at random and fast. Deterministic for a
    given seed and round. Errors: 409 unless the round is rating; 400 for bad counts.
    """
    if not 1 <= judges <= MAX_JUDGES:
        raise ApplicationError(f"--judges must be between 1 and {MAX_JUDGES}.")
    if not 0 <= sloppy <= judges:
        raise ApplicationError("--sloppy must be between 0 and the number of judges.")
    rng = np.random.default_rng(seed)
    chooser = random.Random(seed)
    sloppy_index = set(chooser.sample(range(judges), sloppy))
    with transaction.atomic():
        round = EvaluationRound.objects.select_for_update().get(pk=round.pk)
        if round.status != EvaluationRound.Status.RATING:
            raise ApplicationError(
                f"Round {round.name!r} is {round.status}; simulated judges need a round open for rating "
                "(launch it and let the explanations finish, or open it).",
                status=409,
            )
        start = Judge.objects.filter(round=round).count()
        created = []
        for index in range(judges):
            label = f"Simulated judge {start + index + 1}" + (" (sloppy)" if index in sloppy_index else "")
            user = get_user_model()(username=f"sim-{round.pk}-{start + index + 1}-{chooser.getrandbits(32):08x}")
            user.set_unusable_password()
            user.save()
            created.append(Judge.objects.create(round=round, user=user, name=label, seed=chooser.getrandbits(62)))
        assignments_build_for_round(round=round)
        pair_effect: dict[int, float] = {}
        ratings, history = [], []
        for index, judge in enumerate(created):
            bias = rng.normal(0.0, JUDGE_BIAS_SD)
            order = (
                Assignment.objects.filter(judge=judge)
                .select_related("explanation", "right_explanation")
                .order_by("position")
            )
            for assignment in order:
                explanation = assignment.explanation
                if assignment.right_explanation is not None:
                    choice, seconds = _choice(assignment, index in sloppy_index, rng)
                    ratings.append(
                        Rating(
                            assignment=assignment,
                            judge_id=assignment.judge_id,
                            choice=choice,
                            seconds=round_seconds(seconds),
                        )
                    )
                    continue
                if index in sloppy_index:
                    score, seconds = int(rng.integers(1, 6)), float(rng.uniform(0.8, 2.5))
                else:
                    if explanation.is_control:
                        mean = CONTROL_MEAN
                    else:
                        effect = pair_effect.setdefault(explanation.pair_id, float(rng.normal(0.0, PAIR_EFFECT_SD)))
                        mean = TABLE1_MEANS.get(explanation.method, DEFAULT_MEAN) + bias + effect
                    score = int(np.clip(np.rint(mean + rng.normal(0.0, NOISE_SD)), 1, 5))
                    seconds = float(rng.lognormal(np.log(12.0), 0.5))
                ratings.append(
                    Rating(
                        assignment=assignment, judge_id=assignment.judge_id, score=score, seconds=round_seconds(seconds)
                    )
                )
        Rating.objects.bulk_create(ratings, batch_size=2000)
        for rating in ratings:
            history.append(
                RatingChange(rating=rating, score=rating.score, choice=rating.choice, seconds=rating.seconds)
            )
        RatingChange.objects.bulk_create(history, batch_size=2000)
    return Simulated(judges=created, sloppy=[created[i] for i in sorted(sloppy_index)], ratings=len(ratings))


def _mean(explanation) -> float:
    return CONTROL_MEAN if explanation.is_control else TABLE1_MEANS.get(explanation.method, DEFAULT_MEAN)


def _choice(assignment, sloppy: bool, rng: np.random.Generator) -> tuple[str, float]:
    """A simulated judge's choice on a pairwise item and its seconds (see the module docstring: a
    judge's bias and a pair's effect fall on both sides alike, so they cancel)."""
    if sloppy:
        return ("left", "right", "same")[int(rng.integers(0, 3))], float(rng.uniform(0.8, 2.5))
    left, right = assignment.explanation, assignment.right_explanation
    if left.is_control or right.is_control:
        d = (-PAIRWISE_CONTROL_D if left.is_control else PAIRWISE_CONTROL_D) + rng.normal(0.0, NOISE_SD)
    else:
        d = PAIRWISE_SCALE * (_mean(left) - _mean(right)) + rng.normal(0.0, NOISE_SD)
    seconds = float(rng.lognormal(np.log(15.0), 0.5))
    if rng.random() < PAIRWISE_TIE * np.exp(-d * d):
        return "same", seconds
    return ("left" if rng.random() < 1 / (1 + np.exp(-d)) else "right"), seconds


def round_seconds(seconds: float) -> float:
    return float(f"{seconds:.2f}")
