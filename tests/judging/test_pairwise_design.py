"""The pairwise schedule's pure rules (bti_eval.judging.pairwise): every method pair of every pair,
balanced over judges, never twice to one judge, fair sides."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import pytest

from bti_eval.judging.pairwise import (
    allocate_pairwise,
    comparisons,
    control_partner,
    left_first,
    method_pairs,
    top_up_pairwise,
)

METHODS = ["bti", "bti-gradients", "vanilla-gradients", "tfidf-w2v"]


def _every(n_pairs: int, methods=METHODS) -> list:
    return comparisons({pair: set(methods) for pair in range(n_pairs)}, methods)


def test_every_pair_gets_every_method_pair_once_in_round_order():
    items = _every(5)
    assert len(items) == 5 * 6 and len(set(items)) == len(items)
    per_pair = Counter(pair for pair, _, _ in items)
    assert set(per_pair.values()) == {6}
    assert all(METHODS.index(a) < METHODS.index(b) for _, a, b in items)
    # A pair a method failed on (its explanation dropped) has only the method pairs without it.
    partial = comparisons({1: {"bti", "tfidf-w2v", "bti-gradients"}}, METHODS)
    assert partial == [(1, "bti", "bti-gradients"), (1, "bti", "tfidf-w2v"), (1, "bti-gradients", "tfidf-w2v")]
    assert method_pairs(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c")]


@pytest.mark.parametrize(("n_pairs", "n_judges", "k"), [(10, 7, 3), (13, 5, 2), (7, 12, 4), (4, 3, 5), (25, 9, 1)])
def test_k_judges_per_comparison_with_loads_and_method_pairs_balanced(n_pairs, n_judges, k):
    items = _every(n_pairs)
    judges = [f"J{j}" for j in range(n_judges)]
    plan = allocate_pairwise(items, judges, k, seed=11)
    holders = Counter(item for mine in plan.values() for item in mine)
    assert set(holders) == set(items) and set(holders.values()) == {min(k, n_judges)}  # k distinct judges each
    for mine in plan.values():
        assert len(mine) == len(set(mine))  # never twice to one judge
    loads = [len(mine) for mine in plan.values()]
    assert max(loads) - min(loads) <= 1
    for a, b in method_pairs(METHODS):  # every method pair spread over the judges to within one
        counts = [sum(1 for _, x, y in mine if (x, y) == (a, b)) for mine in plan.values()]
        assert max(counts) - min(counts) <= 1, (a, b, counts)
    assert plan == allocate_pairwise(items, judges, k, seed=11)
    if k < n_judges:  # else every judge holds everything, whatever the seed
        assert plan != allocate_pairwise(items, judges, k, seed=12)


def test_without_k_every_judge_compares_everything():
    items = _every(3)
    plan = allocate_pairwise(items, ["A", "B"], None, seed=0)
    assert plan == {"A": items, "B": items}
    assert allocate_pairwise(items, [], 2, seed=0) == {}
    with pytest.raises(ValueError):
        allocate_pairwise(items, ["A"], 0, seed=0)


def test_a_late_judge_takes_the_least_covered_comparisons_spread_over_method_pairs():
    items = _every(6)
    coverage = {item: 2 for item in items}
    low = [item for item in items if item[0] in (0, 1)]  # 12 comparisons covered once only
    for item in low:
        coverage[item] = 1
    chosen = top_up_pairwise(coverage, 12, seed=3)
    assert sorted(chosen) == sorted(low)
    chosen = top_up_pairwise({item: 0 for item in items}, 12, seed=3)
    per_method_pair = Counter((a, b) for _, a, b in chosen)
    assert set(per_method_pair.values()) == {2}  # 12 over 6 method pairs: two each
    assert len(set(chosen)) == 12
    assert top_up_pairwise(coverage, 0, seed=3) == [] and len(top_up_pairwise(coverage, 999, seed=3)) == len(items)


def test_sides_are_a_fair_coin_per_judge_and_comparison_and_stable():
    items = _every(50)
    for seed in (1, 2):
        lefts = [left_first(seed, item) for item in items]
        assert lefts == [left_first(seed, item) for item in items]  # recorded, reproducible
        assert 0.4 < sum(lefts) / len(lefts) < 0.6  # 300 flips
    assert [left_first(1, i) for i in items] != [left_first(2, i) for i in items]
    # Each method is on the left about half the time, for every method pair.
    for a, b in combinations(METHODS, 2):
        mine = [left_first(7, item) for item in items if item[1:] == (a, b)]
        assert 10 < sum(mine) < 40


def test_a_control_partner_is_drawn_per_judge_among_the_pairs_methods():
    drawn = Counter(control_partner(seed, 5, METHODS) for seed in range(400))
    assert set(drawn) == set(METHODS) and min(drawn.values()) > 60
    assert control_partner(3, 5, METHODS) == control_partner(3, 5, METHODS)
    with pytest.raises(ValueError):
        control_partner(3, 5, [])
