"""Assignment designs: who rates which explanation. Pure functions, no Django.

- ``all``: every judge rates every explanation (the paper's design).
- ``k-per-item``: each explanation goes to k distinct judges and every judge gets ⌊n·k/J⌋ or
  ⌈n·k/J⌉ of the n explanations (balanced loads). ``allocate_k_per_item`` walks the explanations
  in a seeded shuffled order and gives each one to the k judges with the fewest so far, breaking
  ties with the same seeded generator; loads therefore never differ by more than one, and the
  judge combinations are mixed rather than fixed blocks.
- A judge who joins a k-per-item round after it opened gets ``top_up``: the least-covered
  explanations (ties broken by a seeded generator), as many as a fair share ⌈n·k/J⌉ (J counting
  the newcomer, at most n). Coverage can then exceed k on some explanations; invite judges
  before opening for an exact k.
- A judge revoked while a k-per-item round is open leaves explanations they had not rated below
  k active judges; ``reassign`` gives each to as many other active judges as it lacks, the least
  loaded first (ties broken by a seeded generator), never to a judge who holds it already,
  with the loads after it as even as the holders allow (an exact flow, see ``reassign``).
- A crowd participant arriving through a study link of a k-per-item round gets ``arrival_share``:
  the m least-held explanations (m: the link's items per participant), different pairs first
  among equally held ones, ties broken by a seeded generator. Arrivals are taken one at a time,
  so held counts never differ by more than one and every explanation reaches k judges after
  ⌈n·k/m⌉ arrivals that all finish (see ``services.studies`` for what "held" counts).
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)
J = TypeVar("J", bound=Hashable)


def allocate_k_per_item(items: Sequence[T], judges: Sequence[J], k: int, *, seed: int) -> dict[J, list[T]]:
    """Give each item to ``min(k, len(judges))`` distinct judges with balanced loads.

    In: item ids, judge ids, k ≥ 1 and the seed. Out: ``{judge: [items]}`` (items in input order).
    Deterministic for the same inputs and seed.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    if not judges:
        return {}
    rng = random.Random(seed)
    order = list(items)
    rng.shuffle(order)
    per_item = min(k, len(judges))
    load = {judge: 0 for judge in judges}
    chosen: dict[J, set[T]] = {judge: set() for judge in judges}
    for item in order:
        ranked = sorted(judges, key=lambda j: (load[j], rng.random()))
        for judge in ranked[:per_item]:
            load[judge] += 1
            chosen[judge].add(item)
    return {judge: [item for item in items if item in chosen[judge]] for judge in judges}


def fair_share(n_items: int, k: int, n_judges: int) -> int:
    """⌈n·k/J⌉, at most n: the load of a judge in a k-per-item round with J judges."""
    if n_judges < 1:
        return 0
    return min(n_items, math.ceil(n_items * k / n_judges))


def top_up(coverage: Mapping[T, int], count: int, *, seed: int) -> list[T]:
    """The ``count`` least-covered items of ``coverage`` ({item: judges so far}), ties broken by ``seed``."""
    rng = random.Random(seed)
    keyed = [(n, rng.random(), item) for item, n in sorted(coverage.items(), key=lambda kv: str(kv[0]))]
    keyed.sort(key=lambda row: (row[0], row[1]))
    return [item for _, _, item in keyed[: max(0, count)]]


def arrival_share(
    held: Mapping[T, int], count: int, *, seed: int, groups: Mapping[T, Hashable] | None = None
) -> list[T]:
    """The ``count`` least-held items of ``held`` ({item: judges holding it}) for one new judge.

    Among equally held items, those of a group (``groups``: an item's pair) the judge has no item
    of yet come first, then a seeded random order. Out: at most ``count`` distinct items, least
    held first. Deterministic for the same inputs and seed.
    """
    rng = random.Random(seed)
    keyed = [(n, rng.random(), item) for item, n in sorted(held.items(), key=lambda kv: str(kv[0]))]
    keyed.sort(key=lambda row: (row[0], row[1]))
    group = (lambda item: groups.get(item, item)) if groups is not None else (lambda item: item)
    wanted = min(max(0, count), len(keyed))
    chosen: list[T] = []
    taken: set[Hashable] = set()
    start = 0
    while len(chosen) < wanted:
        end = start
        while end < len(keyed) and keyed[end][0] == keyed[start][0]:
            end += 1
        tier = [item for _, _, item in keyed[start:end]]  # equally held, in seeded random order
        while tier and len(chosen) < wanted:
            item = next((i for i in tier if group(i) not in taken), tier[0])
            tier.remove(item)
            chosen.append(item)
            taken.add(group(item))
        start = end
    return chosen


def reassign(
    needed: Mapping[T, int],
    holders: Mapping[T, set[J]],
    loads: Mapping[J, int],
    *,
    seed: int,
    groups: Mapping[T, Hashable] | None = None,
) -> dict[J, list[T]]:
    """Give each item of ``needed`` ({item: judges it lacks}) to that many judges of ``loads``
    ({judge: current load}) who are not among its ``holders``, with the loads after it as even
    as the holders allow, and no judge given two items of one group here (``groups``, e.g. an
    explanation's pair, so that appended items keep the spread rule) while any plan without
    that exists; only when none does is the group rule dropped (for the whole plan). An item
    runs short only when too few judges lack it.

    A flow problem solved exactly (``_PlanFlow``): source → item (what it lacks) → (judge, group)
    (1) → judge (up to a load cap) → sink. The cap rises from the lightest load until every item
    is placed, which gives the smallest possible highest load; then items move along chains
    of judges from a most loaded judge to one at least two lighter while such a chain exists,
    which evens the rest. Judges are tried least loaded first, ties broken by ``seed``.

    Out: ``{judge: [items]}``, items in ``needed``'s order, judges with nothing left out.
    Deterministic for the same inputs and seed.
    """
    rng = random.Random(seed)
    judges = sorted(loads, key=lambda judge: (loads[judge], rng.random()))
    free = {item: [j for j in judges if j not in holders.get(item, set())] for item in needed}
    wants = {item: min(max(0, count), len(free[item])) for item, count in needed.items()}
    wants = {item: count for item, count in wants.items() if count}
    if not wants:
        return {}
    group_of = {item: (groups.get(item, item) if groups is not None else item) for item in wants}
    plan = _PlanFlow(wants, free, group_of, loads, one_per_group=True).solve()
    if plan is None:
        plan = _PlanFlow(wants, free, group_of, loads, one_per_group=False).solve()
    assert plan is not None  # without the group rule every item can take its free judges
    return plan


class _PlanFlow:
    """The residual network of ``reassign``'s flow problem; nodes are tuples tagged by kind.

    ``cap[u][v]`` is the residual capacity of u → v (dicts keep insertion order, so breadth-first
    search is deterministic and tries judges in ``reassign``'s least-loaded-first order)."""

    def __init__(self, wants, free, group_of, loads, *, one_per_group: bool):
        self.wants, self.group_of, self.loads = wants, group_of, dict(loads)
        self.cap: dict[tuple, dict[tuple, int]] = {}
        self.judges = list(dict.fromkeys(j for item in wants for j in free[item]))
        per_group = 1 if one_per_group else sum(wants.values())
        for item, count in wants.items():
            self._add(("source",), ("item", item), count)
            for judge in free[item]:
                slot = ("slot", judge, group_of[item])
                if slot not in self.cap:  # one edge per (judge, group), however many items it has
                    self._add(slot, ("judge", judge), per_group)
                self._add(("item", item), slot, 1)
        self.level = min(self.loads[j] for j in self.judges)
        for judge in self.judges:
            self._add(("judge", judge), ("sink",), max(0, self.level - self.loads[judge]))

    def _add(self, u: tuple, v: tuple, capacity: int) -> None:
        self.cap.setdefault(u, {})
        self.cap[u][v] = self.cap[u].get(v, 0) + capacity
        self.cap.setdefault(v, {}).setdefault(u, 0)

    def _path(self, starts: list[tuple], ends, avoid: frozenset = frozenset()) -> list[tuple] | None:
        parent = {start: None for start in starts}
        frontier = list(starts)
        while frontier:
            following = []
            for u in frontier:
                for v, capacity in self.cap[u].items():
                    if capacity <= 0 or v in parent or v in avoid:
                        continue
                    parent[v] = u
                    if ends(v):
                        path = [v]
                        while parent[path[-1]] is not None:
                            path.append(parent[path[-1]])
                        return path[::-1]
                    following.append(v)
            frontier = following
        return None

    def _push(self, path: list[tuple]) -> None:
        for u, v in zip(path, path[1:], strict=False):
            self.cap[u][v] -= 1
            self.cap[v][u] += 1

    def solve(self) -> dict | None:
        """The plan, or None when not every item can be placed (under the group rule)."""
        total, placed = sum(self.wants.values()), 0
        highest = max(self.loads[j] for j in self.judges) + total
        while placed < total:
            path = self._path([("source",)], lambda node: node == ("sink",))
            if path is not None:
                self._push(path)
                placed += 1
                continue
            if self.level >= highest:
                return None
            self.level += 1  # raise the load cap by one and look again
            for judge in self.judges:
                if self.loads[judge] < self.level:
                    self.cap[("judge", judge)][("sink",)] += 1
        self._even()
        return self._plan()

    def _final(self) -> dict:
        return {j: self.loads[j] + self.cap[("sink",)][("judge", j)] for j in self.judges}

    def _even(self) -> None:
        """Move one item per step along a chain from a most loaded judge to one at least two
        lighter (a residual path that avoids the source and the sink). Each step lowers the sum of
        squared loads, so the loop ends."""
        avoid = frozenset({("source",), ("sink",)})
        while True:
            final = self._final()
            top = max(final.values())
            starts = [("judge", j) for j in self.judges if final[j] == top]
            lighter = {("judge", j) for j in self.judges if final[j] <= top - 2}
            path = self._path(starts, lighter.__contains__, avoid)
            if path is None:
                return
            self._push(path)
            high, low = path[0], path[-1]
            self.cap[high][("sink",)] += 1  # high gives one item up: one unit less through it
            self.cap[("sink",)][high] -= 1
            self.cap[("sink",)][low] += 1
            self.cap[low][("sink",)] = max(0, self.cap[low][("sink",)] - 1)

    def _plan(self) -> dict:
        given: dict = {}
        for item in self.wants:
            for node in self.cap[("item", item)]:
                if node[0] == "slot" and self.cap[node][("item", item)] > 0:
                    given.setdefault(node[1], []).append(item)
        order = {judge: i for i, judge in enumerate(self.judges)}
        return {judge: given[judge] for judge in sorted(given, key=order.__getitem__)}
