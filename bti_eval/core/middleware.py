"""Request-size guard: a body larger than the upload limit is refused before anything reads it."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from bti_eval.core.views import error_response


class RequestSizeLimitMiddleware:
    """413 for a request whose Content-Length exceeds ``BTI_MAX_UPLOAD_BYTES`` plus 1 MiB of room for
    the form's other fields, answered from the headers alone: neither the CSRF check nor the
    multipart parser reads (or spools to disk) a body that would be refused anyway. Django never
    reads past Content-Length, so a body cannot smuggle more than the header says."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.BTI_MAX_UPLOAD_BYTES + 1024 * 1024
        if length > limit:
            message = (
                f"The request is {length:,} bytes; files may be at most {settings.BTI_MAX_UPLOAD_BYTES:,} bytes "
                "(BTI_MAX_UPLOAD_BYTES). Split the file into smaller ones."
            )
            return error_response(request, 413, "File too large", message)
        return self.get_response(request)
