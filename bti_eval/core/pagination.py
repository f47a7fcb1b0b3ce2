"""Limit/offset pagination that refuses what it cannot honour, instead of passing it to the database.

DRF's ``LimitOffsetPagination`` sends any ``?limit=`` to SQL (``LIMIT 10**20`` is a "bigint out of
range", a 500) and silently ignores a limit or offset that is not a number. Here both are checked:
a limit must be 1..``MAX_LIMIT`` and an offset 0..2**63-1, else the answer is a 400 that says so,
and the schema states the same bounds.
"""

from __future__ import annotations

from django.utils.encoding import force_str
from rest_framework import pagination

from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.fields import INT64_MAX

MAX_LIMIT = 1000


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def _bounded(self, request, name: str, low: int, high: int, default: int) -> int:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        # Digits only, and no more than the bound has: int() of a 5,000-digit string is refused by
        # Python itself (a ValueError), and the bound is what the client needs to know anyway.
        value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= len(str(high)) else None
        if value is None or not low <= value <= high:
            message = f"{name} must be a whole number from {low} to {high}."
            raise ApplicationError(message, extra={"fields": {name: [message]}})
        return value

    def get_limit(self, request) -> int:
        return self._bounded(request, self.limit_query_param, 1, self.max_limit, self.default_limit)

    def get_offset(self, request) -> int:
        return self._bounded(request, self.offset_query_param, 0, INT64_MAX, 0)

    def get_schema_operation_parameters(self, view):
        bounds = {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, INT64_MAX)}
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"].update(minimum=low, maximum=high)
            if parameter["name"] == self.limit_query_param:
                parameter["schema"]["default"] = self.default_limit
                parameter["description"] = force_str(f"{parameter['description']} (1 to {self.max_limit})")
        return parameters
