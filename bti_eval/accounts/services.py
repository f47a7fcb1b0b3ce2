"""Writes for researchers' API tokens: create (the key is returned once), revoke, mark used.

Tokens are this app's own ``ApiToken`` rows, of which only a sha256 hash is stored, so a copy of
the database gives nobody API access. Tokens made before this app by ``manage.py drf_create_token``
(DRF's ``authtoken.Token``, one per user, stored in clear) keep working and can be revoked here.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token as LegacyToken

from bti_eval.accounts.models import ApiToken
from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.permissions import is_researcher

PREFIX_LENGTH = 8
MAX_TOKENS_PER_USER = 20
DEFAULT_NAME = "API token"
# ``last_used_at`` is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
NOT_A_RESEARCHER = "API tokens are for researchers. Judges need none: their invite link signs them in."


def api_token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user, name: str = "") -> tuple[ApiToken, str]:
    """Make a new API token for a researcher; returns (token row, raw key). The key is not stored
    and cannot be shown again. At most ``MAX_TOKENS_PER_USER`` per researcher (409 beyond)."""
    if not is_researcher(user):
        raise ApplicationError(NOT_A_RESEARCHER, status=403)
    name = (name or "").strip() or DEFAULT_NAME
    if "\x00" in name:
        raise ApplicationError("The token's name must not contain NUL characters.")
    if len(name) > 100:
        raise ApplicationError("The token's name must be at most 100 characters.")
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()  # one creator at a time per user
    if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
        raise ApplicationError(
            f"You already have {MAX_TOKENS_PER_USER} API tokens; revoke one you no longer use first.", status=409
        )
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:PREFIX_LENGTH], key_hash=api_token_hash(key))
    return token, key


def api_token_revoke(*, user, token_id: int) -> ApiToken:
    """Delete one of ``user``'s tokens (it stops working at once); 404 for another user's or none."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise ApplicationError("No such API token; it may have been revoked already.", status=404)
    token.delete()
    return token


def legacy_token_revoke(*, user) -> bool:
    """Delete ``user``'s token made by ``manage.py drf_create_token``; False when there was none."""
    deleted, _ = LegacyToken.objects.filter(user=user).delete()
    return bool(deleted)


def api_token_touch(*, token: ApiToken) -> None:
    """Record that a token was used (at most once per ``LAST_USED_RESOLUTION``: no write per request)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
