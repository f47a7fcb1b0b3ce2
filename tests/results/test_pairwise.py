"""Bradley-Terry statistics of pairwise rounds (bti_eval.results.pairwise), against closed forms,
simulated known strengths and choix itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bti_eval.results.pairwise import (
    Judgement,
    bootstrap_strengths,
    kendall_tau,
    pairwise_report,
    strengths,
    win_matrices,
    win_rates,
)
from bti_eval.results.statistics import rng_for

METHODS = ["bti", "vanilla-gradients", "tfidf-w2v"]


def simulate(theta: dict[str, float], *, pairs: int, per_pair: int, seed: int, tie: float = 0.0) -> list[Judgement]:
    """Judgements drawn from a Bradley-Terry model with log-strengths ``theta`` (ties with
    probability ``tie``, sides random)."""
    rng = np.random.default_rng(seed)
    methods = list(theta)
    out = []
    for pair in range(pairs):
        for _ in range(per_pair):
            a, b = rng.choice(len(methods), size=2, replace=False)
            left, right = methods[a], methods[b]
            if rng.random() < tie:
                choice = "same"
            else:
                p_left = 1 / (1 + math.exp(theta[right] - theta[left]))
                choice = "left" if rng.random() < p_left else "right"
            out.append(Judgement(pair, left, right, choice))
    return out


def test_two_methods_have_the_closed_form_strength_difference():
    """With two methods the ML difference is log(wins / losses); a tie is half a win each way."""
    judgements = [Judgement(1, "a", "b", "left")] * 6 + [Judgement(1, "b", "a", "left")] * 2
    judgements += [Judgement(2, "a", "b", "same")] * 2  # 1 more win each
    _, wins = win_matrices(judgements, ["a", "b"])
    theta = strengths(wins.sum(axis=0))
    assert theta[0] - theta[1] == pytest.approx(math.log(7 / 3), abs=2e-3)
    assert theta.sum() == pytest.approx(0.0, abs=1e-9)


def test_win_matrices_put_each_judgement_in_its_pair_and_side():
    judgements = [
        Judgement("p", "bti", "tfidf-w2v", "left"),
        Judgement("p", "bti", "tfidf-w2v", "right"),
        Judgement("q", "vanilla-gradients", "bti", "same"),
        Judgement("q", "control", "bti", "left"),  # a control item: not a method of the round
    ]
    pairs, wins = win_matrices(judgements, METHODS)
    assert pairs == ["p", "q"] and wins.shape == (2, 3, 3)
    assert wins[0, 0, 2] == 1 and wins[0, 2, 0] == 1
    assert wins[1, 1, 0] == wins[1, 0, 1] == 0.5 and wins.sum() == 3
    with pytest.raises(ValueError, match="unknown pairwise choice"):
        win_matrices([Judgement("p", "bti", "tfidf-w2v", "up")], METHODS)


def test_strengths_recover_a_known_model():
    truth = {"bti": 1.0, "vanilla-gradients": 0.2, "tfidf-w2v": -1.2}
    judgements = simulate(truth, pairs=300, per_pair=10, seed=3)
    report = pairwise_report(judgements, METHODS, seed=0, resamples=200)
    fitted = {row["method"]: row["strength"] for row in report["methods"]}
    centred = {m: v - np.mean(list(truth.values())) for m, v in truth.items()}
    for method in METHODS:
        assert fitted[method] == pytest.approx(centred[method], abs=0.15)
    assert [row["method"] for row in report["methods"]] == METHODS  # ranked best first
    assert [row["rank"] for row in report["methods"]] == [1, 2, 3]
    for row in report["methods"]:
        low, high = row["ci"]
        assert low < row["strength"] < high and high - low < 0.5


def test_bootstrap_is_seeded_and_narrows_with_more_pairs():
    truth = {"bti": 0.5, "vanilla-gradients": 0.0, "tfidf-w2v": -0.5}

    def width(pairs: int) -> float:
        _, pair_wins = win_matrices(simulate(truth, pairs=pairs, per_pair=6, seed=pairs), METHODS)
        low, high = bootstrap_strengths(pair_wins, resamples=300, rng=rng_for(7, "bt"))
        again = bootstrap_strengths(pair_wins, resamples=300, rng=rng_for(7, "bt"))
        assert np.array_equal(low, again[0]) and np.array_equal(high, again[1])
        return float(np.mean(high - low))

    assert width(400) < 0.6 * width(40)
    assert bootstrap_strengths(np.zeros((1, 3, 3)), resamples=10, rng=rng_for(0)) is None


def test_a_method_that_never_wins_stays_finite_and_last():
    judgements = [Judgement(p, "bti", "tfidf-w2v", "left") for p in range(5)]
    judgements += [Judgement(p, "vanilla-gradients", "tfidf-w2v", "left") for p in range(5)]
    report = pairwise_report(judgements, METHODS, seed=1, resamples=50)
    assert all(math.isfinite(row["strength"]) for row in report["methods"])
    assert report["methods"][-1]["method"] == "tfidf-w2v"
    assert report["win_rates"][0][1] is None  # bti and vanilla-gradients were never compared
    assert report["win_rates"][0][2] == 1.0 and report["win_rates"][2][0] == 0.0


def test_tallies_and_win_rates_count_ties_as_half():
    judgements = [
        Judgement(1, "bti", "tfidf-w2v", "left"),
        Judgement(1, "tfidf-w2v", "bti", "left"),
        Judgement(2, "bti", "tfidf-w2v", "same"),
        Judgement(2, "bti", "tfidf-w2v", "left"),
    ]
    report = pairwise_report(judgements, METHODS, seed=0, resamples=20)
    bti = next(row for row in report["methods"] if row["method"] == "bti")
    assert (bti["wins"], bti["losses"], bti["ties"], bti["comparisons"]) == (2, 1, 1, 4)
    assert report["win_rates"][0][2] == pytest.approx(2.5 / 4)
    assert report["judgements"] == 4 and report["pairs"] == 2 and report["resamples"] == 20
    assert win_rates(np.zeros((2, 2))) == [[None, None], [None, None]]


def test_kendall_tau_between_rankings():
    bt = {"bti": 1.0, "vanilla-gradients": 0.1, "tfidf-w2v": -1.0, "only-here": 0.0}
    mos = {"bti": 4.3, "vanilla-gradients": 3.6, "tfidf-w2v": 2.5}
    assert kendall_tau(bt, mos)["tau"] == pytest.approx(1.0)
    assert kendall_tau(bt, {"bti": 2.5, "vanilla-gradients": 3.6, "tfidf-w2v": 4.3})["tau"] == pytest.approx(-1.0)
    assert kendall_tau(bt, mos)["methods"] == ["bti", "vanilla-gradients", "tfidf-w2v"]
    assert kendall_tau({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.0}) is None
