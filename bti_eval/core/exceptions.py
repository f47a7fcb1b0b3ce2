"""One error type for everything a user can cause, mapped to a clear 4xx body by one handler."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404


class ApplicationError(Exception):
    """A domain error with a message a user can act on.

    ``status`` is the HTTP status the API answers with (400 unless a service says otherwise);
    ``extra`` carries structured detail such as row-level import errors.
    """

    def __init__(self, message: str, *, status: int = 400, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.extra = extra or {}


def exception_handler(exc: Exception, ctx: dict[str, Any]):
    """DRF exception handler: ``{"message": ..., "extra": {...}}`` for every 4xx, and 503 when the
    database is unreachable."""
    # DRF is imported here: services and commands raise ApplicationError without loading DRF.
    from rest_framework import exceptions as drf_exceptions
    from rest_framework.serializers import as_serializer_error
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, ApplicationError):
        from rest_framework.response import Response

        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status)
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database went away mid-request (the transaction rolled back): a clear 503, and the
        # client retries; ratings are idempotent, so a retry never doubles one.
        from rest_framework.response import Response

        from bti_eval.core.views import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS

        return Response(
            {"message": DATABASE_UNAVAILABLE, "extra": {}},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    response = drf_exception_handler(exc, ctx)
    if response is None:
        return None
    if isinstance(exc.detail, (list, dict)):
        response.data = {
            "message": "Validation error" if response.status_code == 400 else str(exc),
            "extra": {"fields": response.data},
        }
    else:
        response.data = {"message": str(exc.detail), "extra": {}}
    return response
