"""spread_by_pair: a shuffled order with no two explanations of one pair side by side."""

import random
from collections import Counter

import pytest

from bti_eval.judging.ordering import spread_by_pair
from tests.judging.order_checks import adjacent_same_pair


def _spread(keys, previous=None):
    items = list(range(len(keys)))
    ordered = spread_by_pair(items, keys, previous=previous)
    return ordered, [keys[i] for i in ordered]


def test_keeps_every_item_once():
    keys = [1, 1, 2, 2, 3, 3, 3]
    ordered, _ = _spread(keys)
    assert sorted(ordered) == list(range(len(keys)))


def test_keeps_an_order_that_already_satisfies_the_rule():
    keys = [1, 2, 3, 1, 2, 3]
    ordered, _ = _spread(keys)
    assert ordered == list(range(6))


def test_no_same_pair_neighbours_whenever_possible():
    checked = 0
    for trial in range(500):
        rng = random.Random(trial)
        n_pairs = rng.randint(2, 12)
        methods = rng.randint(1, 9)
        keys = [pair for pair in range(n_pairs) for _ in range(methods)]
        keys += [rng.randrange(n_pairs) for _ in range(rng.randint(0, 5))]  # uneven counts too
        rng.shuffle(keys)
        if max(Counter(keys).values()) > (len(keys) + 1) // 2:
            continue  # no arrangement exists for this draw
        _, spread = _spread(keys)
        assert adjacent_same_pair(spread) == 0, (trial, spread)
        assert Counter(spread) == Counter(keys)
        checked += 1
    assert checked > 400


def test_the_tight_case_alternates():
    keys = [1, 1, 1, 1, 2, 2, 2]  # only 1 2 1 2 1 2 1 works
    _, spread = _spread(keys)
    assert spread == [1, 2, 1, 2, 1, 2, 1]


def test_previous_key_is_respected_when_appending():
    keys = [6, 5, 6, 7]
    _, spread = _spread(keys, previous=6)
    assert spread[0] != 6
    assert adjacent_same_pair([6, *spread]) == 0


def test_impossible_case_still_returns_everything():
    keys = [1, 1, 1, 2]
    ordered, spread = _spread(keys)
    assert sorted(ordered) == [0, 1, 2, 3]
    assert adjacent_same_pair(spread) == 1  # the best possible: 1 2 1 1


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        spread_by_pair([1, 2], [1])
