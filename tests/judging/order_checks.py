"""What the tests check of a judge's order."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def adjacent_same_pair(keys: Sequence[Hashable]) -> int:
    """How many neighbouring positions share a pair (0 for a well-spread order)."""
    return sum(1 for a, b in zip(keys, keys[1:], strict=False) if a == b)
