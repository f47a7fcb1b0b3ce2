"""The pairwise design's schedule: which judge compares which two methods on which pair, and on
which side each method is shown. Pure functions, no Django (``services.pairwise`` applies them).

A *comparison* is ``(pair, method_a, method_b)`` with the two methods in the round's method order:
the item that shows the pair's explanations by those two methods side by side. Every pair gets
every method pair (all C(m, 2) of them), so method pairs are balanced over items by construction.

- Every judge gets every comparison when the round has no k (``judges_per_explanation`` None:
  the pairwise "all" design).
- With k (``allocate_pairwise``), each comparison goes to ``min(k, J)`` distinct judges, dealt
  round-robin: the comparisons are listed method pair by method pair (method pairs and, within
  each, the pairs in a seeded random order), the judges in a seeded random order, and comparison
  i takes the k judges at slots i·k … i·k + k − 1 of the repeating judge order. Every judge then
  holds ⌊N·k/J⌋ or ⌈N·k/J⌉ of the N comparisons, and ⌊n_p·k/J⌋ or ⌈n_p·k/J⌉ of the n_p
  comparisons of every method pair p: loads and method pairs are balanced over judges to within
  one.
- A judge never gets one (pair, method pair) twice, on either side: a comparison goes to distinct
  judges, and the database holds each judge's (explanation, explanation) set once
  (``Assignment``'s ``assignment_unique_judge_comparison``).
- A judge who joins after the round opened gets ``top_up_pairwise``: a fair share of the
  least-covered comparisons, spread over the method pairs as evenly as their coverage allows.
- Sides: ``left_first`` is a coin flip per (judge, comparison) seeded by the judge's seed and the
  comparison itself, so a judge's sides do not depend on what else they were given or when; the
  side each method got is stored with the item, and nothing the judge receives says it.
- Control items: a control explanation (a degraded copy of a real explanation of its pair,
  ``judging.controls``) is compared with a real explanation of the same pair by a method drawn
  per judge (``control_partner``), on a random side; every judge gets every control item.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Collection, Hashable, Mapping, Sequence
from itertools import combinations
from typing import TypeVar

J = TypeVar("J", bound=Hashable)
Comparison = tuple[int, str, str]  # (pair, method_a, method_b), methods in the round's order


def method_pairs(methods: Sequence[str]) -> list[tuple[str, str]]:
    """Every unordered pair of the round's methods, in the round's method order."""
    return list(combinations(methods, 2))


def comparisons(explained: Mapping[int, Collection[str]], methods: Sequence[str]) -> list[Comparison]:
    """Every comparison of the round: for each pair (by id) every method pair whose two methods
    both explained it (``explained``: ``{pair: methods with a DONE explanation}``)."""
    out = []
    for pair in sorted(explained):
        have = explained[pair]
        out += [(pair, a, b) for a, b in method_pairs(methods) if a in have and b in have]
    return out


def allocate_pairwise(
    items: Sequence[Comparison], judges: Sequence[J], k: int | None, *, seed: int
) -> dict[J, list[Comparison]]:
    """Give each comparison to ``min(k, len(judges))`` distinct judges (k None: to every judge),
    loads and method pairs balanced over judges to within one (see the module docstring).

    Out: ``{judge: [comparisons]}`` in ``items``' order. Deterministic for the same inputs and seed.
    """
    if k is not None and k < 1:
        raise ValueError("k must be at least 1")
    if not judges:
        return {}
    if k is None:
        return {judge: list(items) for judge in judges}
    rng = random.Random(seed)
    groups: dict[tuple[str, str], list[Comparison]] = defaultdict(list)
    for item in items:
        groups[item[1:]].append(item)
    keys = list(groups)
    rng.shuffle(keys)
    dealt: list[Comparison] = []
    for key in keys:
        block = list(groups[key])
        rng.shuffle(block)
        dealt += block
    order = list(judges)
    rng.shuffle(order)
    per_item = min(k, len(order))
    chosen: dict[J, set[Comparison]] = {judge: set() for judge in judges}
    for index, item in enumerate(dealt):
        for slot in range(index * per_item, (index + 1) * per_item):
            chosen[order[slot % len(order)]].add(item)
    return {judge: [item for item in items if item in chosen[judge]] for judge in judges}


def top_up_pairwise(coverage: Mapping[Comparison, int], count: int, *, seed: int) -> list[Comparison]:
    """``count`` comparisons for a judge who joins late: at each step the least-covered comparison
    left ({comparison: judges so far}), ties broken first by the method pair the judge has fewest
    of so far, then at random (``seed``). Out: the chosen comparisons, in the order chosen."""
    rng = random.Random(seed)
    buckets: dict[tuple[str, str], list[tuple[int, float, Comparison]]] = defaultdict(list)
    for item in sorted(coverage):
        buckets[item[1:]].append((coverage[item], rng.random(), item))
    for bucket in buckets.values():
        bucket.sort(key=lambda row: (row[0], row[1]), reverse=True)  # pop() takes the least covered
    taken = {key: 0 for key in buckets}
    tie = {key: rng.random() for key in buckets}
    chosen = []
    for _ in range(min(max(0, count), len(coverage))):
        key = min((key for key in buckets if buckets[key]), key=lambda key: (buckets[key][-1][0], taken[key], tie[key]))
        chosen.append(buckets[key].pop()[2])
        taken[key] += 1
    return chosen


def _unit(*parts: Hashable) -> float:
    """A number in [0, 1) fixed by ``parts`` (sha256: the same in every process, unlike hash())."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def left_first(judge_seed: int, comparison: Hashable) -> bool:
    """Whether the comparison's first method goes on the left for this judge: a fair coin seeded by
    the judge's seed and the comparison."""
    return _unit(judge_seed, "side", comparison) < 0.5


def control_partner(judge_seed: int, pair: int, methods: Sequence[str]) -> str:
    """The method whose real explanation of ``pair`` a judge's control item of that pair is compared
    with: one of ``methods`` (the pair's explained methods, in the round's order), drawn per judge."""
    if not methods:
        raise ValueError("a control item needs a real explanation of its pair")
    return methods[int(_unit(judge_seed, "control", pair) * len(methods))]
