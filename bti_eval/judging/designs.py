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
  loaded first (ties broken by a seeded generator), never to a judge who holds it already.
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


def reassign(
    needed: Mapping[T, int],
    holders: Mapping[T, set[J]],
    loads: Mapping[J, int],
    *,
    seed: int,
    groups: Mapping[T, Hashable] | None = None,
) -> dict[J, list[T]]:
    """Give each item of ``needed`` ({item: judges it lacks}) to that many judges of ``loads``
    ({judge: current load}) who are not among its ``holders``: first a judge given no other item
    of the same group here (``groups``, e.g. an explanation's pair, so that appended items can
    keep the spread rule), then the least loaded; a judge's load grows with every item given. An
    item runs short only when too few judges lack it.

    Out: ``{judge: [items]}``, items in ``needed``'s order, judges with nothing left out.
    Deterministic for the same inputs and seed.
    """
    rng = random.Random(seed)
    load = dict(loads)
    given: dict[J, list[T]] = {}
    taken: set[tuple[J, Hashable]] = set()  # (judge, group) given here
    for item, count in needed.items():
        group = groups.get(item, item) if groups is not None else item
        free = [judge for judge in load if judge not in holders.get(item, set())]
        ranked = sorted(free, key=lambda judge: ((judge, group) in taken, load[judge], rng.random()))
        for judge in ranked[: max(0, count)]:
            load[judge] += 1
            taken.add((judge, group))
            given.setdefault(judge, []).append(item)
    return given
