"""DRF authentication by API token: ``Authorization: Token <key>``."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's ``Token`` header, checked against our hashed ``ApiToken`` rows first. A key that is
    none of ours is tried as a legacy DRF token (``manage.py drf_create_token``), so that scripts
    written before keep working. Unknown keys and inactive users get 401 with DRF's messages."""

    def authenticate_credentials(self, key):
        # Imported here: DRF imports this class while rest_framework.views is still loading.
        from bti_eval.accounts import selectors, services

        token = selectors.api_token_for_key(key=key)
        if token is None:
            return super().authenticate_credentials(key)
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        services.api_token_touch(token=token)
        return token.user, token
