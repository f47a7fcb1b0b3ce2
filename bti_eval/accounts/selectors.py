"""Reads for researchers' API tokens: a key's token, and the list the token page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rest_framework.authtoken.models import Token as LegacyToken

from bti_eval.accounts.models import ApiToken
from bti_eval.accounts.services import PREFIX_LENGTH, api_token_hash


def api_token_for_key(*, key: str) -> ApiToken | None:
    """The token whose key is ``key`` (looked up by its hash), with its user; None if unknown."""
    return ApiToken.objects.select_related("user").filter(key_hash=api_token_hash(key)).first()


@dataclass(frozen=True)
class TokenRow:
    """A token as the token page lists it: never the key, only its first characters."""

    id: int | None  # None: the legacy token of ``manage.py drf_create_token``
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    legacy: bool = False


def api_tokens_of(*, user) -> list[TokenRow]:
    """``user``'s API tokens, newest first, then the legacy DRF token if the user has one."""
    rows = [
        TokenRow(id=t.pk, name=t.name, prefix=t.prefix, created_at=t.created_at, last_used_at=t.last_used_at)
        for t in ApiToken.objects.filter(user=user)
    ]
    legacy = LegacyToken.objects.filter(user=user).first()
    if legacy is not None:
        rows.append(
            TokenRow(
                id=None,
                name="made by manage.py drf_create_token (stored in clear)",
                prefix=legacy.key[:PREFIX_LENGTH],
                created_at=legacy.created,
                last_used_at=None,
                legacy=True,
            )
        )
    return rows
