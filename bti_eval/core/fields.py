"""Integer bounds for everything a client may send: a clear 400 instead of an OverflowError.

PostgreSQL's ``bigint`` holds -2**63..2**63-1 and ``integer`` 2**31-1 at most; Python's int holds any
size, so an unbounded ``IntegerField`` lets ``seed: 10**20`` through validation to fail in the
driver ("int too big to convert", a 500). Every integer an API serializer or a form reads takes
its bounds from here, and drf-spectacular writes them into the schema as minimum/maximum.
"""

from __future__ import annotations

from typing import Any

from django import forms
from rest_framework import serializers

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1  # bigint: seeds and ids
INT32_MAX = 2**31 - 1  # integer: counts (rows, pairs, control items, epochs, ...)


class CountField(serializers.IntegerField):
    """A DRF IntegerField that always has bounds (default: a count, 0..2**31-1)."""

    def __init__(self, *, min_value: int = 0, max_value: int = INT32_MAX, **kwargs: Any):
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)


class SeedField(serializers.IntegerField):
    """A random seed: any 64-bit signed integer (the ``bigint`` it is stored in)."""

    def __init__(self, **kwargs: Any):
        super().__init__(min_value=INT64_MIN, max_value=INT64_MAX, **kwargs)


class IdField(serializers.IntegerField):
    """A row id: 1..2**63-1."""

    def __init__(self, **kwargs: Any):
        super().__init__(min_value=1, max_value=INT64_MAX, **kwargs)


class SeedFormField(forms.IntegerField):
    """:class:`SeedField` for a Django form."""

    def __init__(self, **kwargs: Any):
        super().__init__(min_value=INT64_MIN, max_value=INT64_MAX, **kwargs)


class CountFormField(forms.IntegerField):
    """:class:`CountField` for a Django form (default 0..2**31-1)."""

    def __init__(self, *, min_value: int = 0, max_value: int = INT32_MAX, **kwargs: Any):
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)
