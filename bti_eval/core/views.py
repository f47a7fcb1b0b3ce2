"""Site-wide views: the root, the rate-limited login, and the error pages (never a traceback).

Error handlers answer JSON (``{"message", "extra"}``, the API's error shape) under /api/ and a
friendly, neutral HTML page elsewhere. A database that went away mid-request is a 503 ("try again"),
not a 500.
"""

from __future__ import annotations

import logging
import math
import sys
from datetime import UTC, timedelta
from functools import wraps

from django.contrib import messages
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import requires_csrf_token

from bti_eval.core import ratelimit
from bti_eval.core.permissions import is_researcher

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "The database is unreachable right now; nothing was saved. Try again in a moment."
RETRY_AFTER_SECONDS = 5


def home(request: HttpRequest) -> HttpResponse:
    if is_researcher(request.user):
        return redirect(reverse("rounds:list"))
    return redirect(reverse("login"))


# The log-in page warns once this few tries are left before a block.
LOGIN_WARN_WHEN_LEFT = 5


def login_rate_limited(view):
    """Wrap a login view (ours, the admin's) so that it refuses with 429 after too many wrong passwords
    (see ``ratelimit``): 10 per (address, username) and 50 per address in 15 minutes. A blocked
    attempt checks no password; a successful log-in clears its username's count.

    The user is told where they stand: once ``LOGIN_WARN_WHEN_LEFT`` or fewer tries are left, the
    page says how many (a warning message beside the form's error), and a blocked attempt says in
    how many minutes, and at what time, log-in works again. The counts are kept per typed username
    whether or not it exists, so none of this tells a guesser which usernames are real."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        address = ratelimit.client_address(request)
        per_user = f"{address}|{request.POST.get('username', '').strip().lower()}"
        limits = ((ratelimit.LOGIN_PER_USER, per_user), (ratelimit.LOGIN_PER_ADDRESS, address))
        for limit, ident in limits:
            if limit.blocked(ident):
                logger.warning("login rate limit (%s) hit from %s", limit.scope, address)
                seconds = limit.seconds_left(ident)
                return too_many_requests(request, _blocked_message(seconds), retry_after=seconds)
        response = view(request, *args, **kwargs)
        if response.status_code == 200:  # the form came back with errors: a wrong password
            for limit, ident in limits:
                limit.fail(ident)
            left = min(limit.tries_left(ident) for limit, ident in limits)
            if left <= LOGIN_WARN_WHEN_LEFT:
                messages.warning(request, _tries_left_message(left, limits))
        else:
            ratelimit.LOGIN_PER_USER.reset(per_user)
        return response

    return wrapped


def _unlock_time(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    at = (timezone.now() + timedelta(seconds=seconds)).astimezone(UTC).strftime("%H:%M UTC")
    return f"{minutes} minute{'s' if minutes != 1 else ''} (at {at})"


def _blocked_message(seconds: int) -> str:
    return (
        f"Too many failed log-ins from your address. Log-in works again in {_unlock_time(seconds)}; "
        "wait until then (or ask an administrator to reset your password)."
    )


def _tries_left_message(left: int, limits) -> str:
    if left == 0:
        blocking = max((limit.seconds_left(ident) for limit, ident in limits if limit.blocked(ident)), default=0)
        return f"That was the last try: log-in is paused for {_unlock_time(blocking)}."
    window = min(limit.minutes for limit, _ in limits)
    return (
        f"{left} {'try' if left == 1 else 'tries'} left: after {left} more wrong password{'s' if left != 1 else ''}, "
        f"log-in from your address is paused for up to {window} minutes."
    )


# --- error responses -------------------------------------------------------------------------


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def json_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"message": message, "extra": {}}, status=status)


def error_page(request: HttpRequest | None, status: int, title: str, message: str) -> HttpResponse:
    """A neutral HTML error page (no request context needed) with ``title`` and ``message``."""
    context = {"title": title, "message": message, "status": status, "request": request}  # request: its CSP nonce
    body = loader.get_template("errors/message.html").render(context)
    return HttpResponse(body, status=status)


def error_response(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    """The API's JSON error under /api/, else ``error_page`` (``title`` shows on the page only)."""
    if is_api_request(request):
        return json_error(message, status)
    return error_page(request, status, title, message)


def too_many_requests(request: HttpRequest, message: str, *, retry_after: int) -> HttpResponse:
    response = error_response(request, 429, "Too many attempts", message)
    response["Retry-After"] = str(retry_after)
    return response


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the database dropped the connection; a retry will reconnect."""
    response = error_response(request, 503, "Temporarily unavailable", DATABASE_UNAVAILABLE)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@requires_csrf_token
def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    if is_api_request(request):
        return json_error("The request was malformed or too large.", 400)
    return HttpResponse(loader.render_to_string("400.html", {"request": request}), status=400)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    if is_api_request(request):
        return json_error("You are not allowed to do this.", 403)
    return HttpResponse(loader.render_to_string("403.html", {"request": request}), status=403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if is_api_request(request):
        return json_error("No such endpoint or object.", 404)
    return HttpResponse(loader.render_to_string("404.html", {"request": request}), status=404)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """500, or 503 when the uncaught error is the database going away (Django calls this handler
    inside its ``except`` block, so the exception is still at hand)."""
    exc = sys.exc_info()[1]
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_unavailable(request)
    if is_api_request(request):
        return json_error("Internal server error; it was logged. Try again later.", 500)
    return HttpResponse(loader.render_to_string("500.html", {"request": request}), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the form's security token is missing or stale (e.g. a page left open)."""
    message = "This form has expired or was not sent from this site. Reload the page and try again."
    return error_response(request, 403, "Please reload the page", message)
