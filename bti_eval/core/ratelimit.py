"""Failure rate limits on Django's cache (Redis in production, so every gunicorn worker shares them).

A limit counts failures (a wrong password, an unknown invite link) per key in a fixed window that
starts at the first failure; once ``max_failures`` are counted, ``blocked`` is true until the window
ends. The window's end is stored beside the count, so that a page can say how many tries are left
and when a block ends. Keys are hashed, so a username never lands in the cache in clear.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class Limit:
    """``max_failures`` per ``window_seconds`` for one ``scope`` (e.g. log-ins per IP and username)."""

    scope: str
    max_failures: int
    window_seconds: int

    def _key(self, ident: str) -> str:
        return f"bti-ratelimit:{self.scope}:{hashlib.sha256(ident.encode()).hexdigest()}"

    def blocked(self, ident: str) -> bool:
        """True while ``ident`` has used up its failures in the current window."""
        return (cache.get(self._key(ident)) or 0) >= self.max_failures

    def fail(self, ident: str) -> int:
        """Count one failure for ``ident``; returns the count in the current window."""
        key = self._key(ident)
        if cache.add(key, 1, timeout=self.window_seconds):
            self._start_window(key)
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # the window ended between add and incr
            cache.set(key, 1, timeout=self.window_seconds)
            self._start_window(key)
            return 1

    def _start_window(self, key: str) -> None:
        cache.set(f"{key}:ends", time.time() + self.window_seconds, timeout=self.window_seconds)

    def tries_left(self, ident: str) -> int:
        """Failures ``ident`` may still make in the current window before it is blocked."""
        return max(0, self.max_failures - (cache.get(self._key(ident)) or 0))

    def seconds_left(self, ident: str) -> int:
        """Whole seconds until the current window of ``ident`` ends (the full window if none is known)."""
        ends = cache.get(f"{self._key(ident)}:ends")
        if ends is None:
            return self.window_seconds
        return max(1, min(self.window_seconds, math.ceil(ends - time.time())))

    def reset(self, ident: str) -> None:
        key = self._key(ident)
        cache.delete_many([key, f"{key}:ends"])

    @property
    def minutes(self) -> int:
        return max(1, round(self.window_seconds / 60))


# A wrong password: 10 per (address, username) and 50 per address, per 15 minutes.
LOGIN_PER_USER = Limit("login-user", 10, 15 * 60)
LOGIN_PER_ADDRESS = Limit("login-address", 50, 15 * 60)
# An unknown invite token (someone guessing links): 20 per address per 15 minutes.
INVITE_PER_ADDRESS = Limit("invite-address", 20, 15 * 60)


def client_address(request: HttpRequest) -> str:
    """The client's IP address: REMOTE_ADDR, or, behind ``BTI_TRUSTED_PROXY_COUNT`` reverse proxies,
    the address the outermost trusted proxy saw (X-Forwarded-For counted from the right, so a client
    cannot choose its own address by sending the header)."""
    proxies = getattr(settings, "BTI_TRUSTED_PROXY_COUNT", 0)
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
