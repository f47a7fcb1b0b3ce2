"""Middleware: the request-size guard (a body larger than the upload limit is refused before
anything reads it) and the Content-Security-Policy with per-request nonces."""

from __future__ import annotations

import secrets
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


class ContentSecurityPolicyMiddleware:
    """A Content-Security-Policy on every response, with a fresh nonce per request.

    ``request.csp_nonce`` (random, 128 bits, in hex so that it never spells a word such as a method
    name) is what a template puts on its inline blocks:
    ``<style nonce="{{ request.csp_nonce }}">`` / ``<script nonce="...">`` (the judge pages inline
    their CSS and JS). Nothing else inline runs or applies: no 'unsafe-inline', no ``style="..."``
    attributes, no ``onclick=`` handlers; page JS lives in ``static/bti/*.js``. The policy
    (``POLICY``): same-origin scripts, styles, fonts, fetches and images (plus ``data:`` images),
    no plugins, no ``<base>``, no framing, forms post only to this site.

    ``RELAXED`` adds directives for path prefixes that serve third-party pages: the API docs'
    Swagger UI (served from this site by drf-spectacular-sidecar) sets ``style`` attributes on its
    own elements, so ``/api/docs/`` alone allows inline style *attributes* (never inline
    ``<style>``/``<script>`` elements). A view that sets its own header keeps it.

    It sits first in ``MIDDLEWARE``, outside WhiteNoise, so static files and every error page carry
    the header too.
    """

    POLICY = {
        "default-src": "'self'",
        "script-src": "'self' 'nonce-{nonce}'",
        "style-src": "'self' 'nonce-{nonce}'",
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }
    RELAXED = {"/api/docs/": {"style-src-attr": "'unsafe-inline'"}}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.csp_nonce = nonce = secrets.token_hex(16)  # hex: no random word in a judge page
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy(request.path, nonce)
        return response

    @classmethod
    def policy(cls, path: str, nonce: str, overrides: dict[str, str] | None = None) -> str:
        """The policy for ``path``; ``overrides`` replaces whole directives (a view that lets one
        named site frame it, or post a form to it, sets its own header with them)."""
        directives = dict(cls.POLICY)
        for prefix, extra in cls.RELAXED.items():
            if path.startswith(prefix):
                directives.update(extra)
        directives.update(overrides or {})
        return "; ".join(f"{name} {value.format(nonce=nonce)}" for name, value in directives.items())
