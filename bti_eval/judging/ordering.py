"""A judge's order: a seeded shuffle spread so that no two explanations of one pair are adjacent.

Pure functions, no Django: ``spread_by_pair`` takes the shuffled items and their pair keys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import TypeVar

T = TypeVar("T")


def _arrangeable(counts: Counter, remaining: int, previous: Hashable | None) -> bool:
    """Whether ``remaining`` items with these pair ``counts`` can follow ``previous`` with no two equal neighbours.

    A pair may take at most every other slot: ceil(r/2) slots, or floor(r/2) when it is also the
    pair just placed (its first possible slot is the second one).
    """
    for key, count in counts.items():
        limit = remaining // 2 if key == previous else (remaining + 1) // 2
        if count > limit:
            return False
    return True


def spread_by_pair(items: Sequence[T], keys: Sequence[Hashable], *, previous: Hashable | None = None) -> list[T]:
    """Reorder ``items`` (already shuffled) so that no two with the same key are adjacent.

    In: ``items`` and their pair ``keys`` (same length); ``previous`` is the key of the item that
    comes right before them (when appending to a judge's existing order). Out: the same items, reordered.

    Greedy repair: walk the shuffled order and, at each slot, take the first remaining item whose
    pair differs from the previous one and leaves the rest arrangeable (no pair left with more
    than every other slot). The shuffle is kept wherever it already satisfies the rule, and an
    arrangement is found whenever one exists. When none exists (e.g. one pair with several
    methods), it falls back to the first item with a different pair, else the first item, so that
    adjacent duplicates are as few as the greedy walk allows.
    """
    if len(items) != len(keys):
        raise ValueError("items and keys must have the same length")
    remaining = list(zip(items, keys, strict=True))
    counts = Counter(keys)
    ordered: list[T] = []
    while remaining:
        pick = None
        fallback = None
        for index, (_, key) in enumerate(remaining):
            if key == previous:
                continue
            if fallback is None:
                fallback = index
            counts[key] -= 1
            ok = _arrangeable(counts, len(remaining) - 1, key)
            counts[key] += 1
            if ok:
                pick = index
                break
        if pick is None:
            pick = fallback if fallback is not None else 0
        item, key = remaining.pop(pick)
        counts[key] -= 1
        ordered.append(item)
        previous = key
    return ordered
