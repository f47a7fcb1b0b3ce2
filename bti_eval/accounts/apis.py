"""REST API for researchers' tokens: trade a username and password for a new API token."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from bti_eval.accounts import services
from bti_eval.core import ratelimit
from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.permissions import is_researcher
from bti_eval.core.serializers import ErrorSerializer

BAD_CREDENTIALS = "Unable to log in with this username and password."


def login_limits(request, username: str) -> list[tuple[ratelimit.Limit, str]]:
    """The log-in page's failure limits and keys (``core.views.login_rate_limited``): a wrong password
    here counts against the same budget, so the API is no way round it."""
    address = ratelimit.client_address(request)
    return [
        (ratelimit.LOGIN_PER_USER, f"{address}|{username.strip().lower()}"),
        (ratelimit.LOGIN_PER_ADDRESS, address),
    ]


class ApiTokenObtainApi(APIView):
    """POST a researcher's username and password: 201 with a new API token (shown once; only its hash
    is stored). Send it as ``Authorization: Token <token>``. Wrong credentials: 400; a user who is
    not a researcher: 403 (judges have no password); too many wrong passwords: 429, as on the
    log-in page (the same limits: 10 per address and username, 50 per address, per 15 minutes).
    Each call makes a new token; list and revoke them on the token page (/accounts/tokens/)."""

    authentication_classes: list = []  # credentials come in the body; no session, so no CSRF
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
        name = serializers.CharField(
            max_length=100,
            required=False,
            allow_blank=True,
            default="",
            help_text="What the token is for (shown on the token page).",
        )

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="Shown once: send it as 'Authorization: Token <token>'.")
        prefix = serializers.CharField(help_text="Its first characters, as the token page lists it.")
        name = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="auth_token_create",
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="wrong username or password"),
            403: OpenApiResponse(ErrorSerializer, description="not a researcher"),
            409: OpenApiResponse(ErrorSerializer, description="too many tokens: revoke one first"),
            429: OpenApiResponse(ErrorSerializer, description="too many wrong passwords: wait (Retry-After)"),
        },
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username, password = data.validated_data["username"], data.validated_data["password"]
        limits = login_limits(request, username)
        for limit, ident in limits:
            if limit.blocked(ident):
                return Response(
                    {
                        "message": f"Too many failed log-ins from your address. Wait {limit.minutes} minutes, "
                        "then try again.",
                        "extra": {},
                    },
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                    headers={"Retry-After": str(limit.window_seconds)},
                )
        user = authenticate(request, username=username, password=password)
        if user is None:
            for limit, ident in limits:
                limit.fail(ident)
            raise ApplicationError(BAD_CREDENTIALS)
        per_user_limit, per_user_key = limits[0]
        per_user_limit.reset(per_user_key)  # as a successful log-in does
        if not is_researcher(user):
            raise ApplicationError(services.NOT_A_RESEARCHER, status=403)
        token, key = services.api_token_create(user=user, name=data.validated_data["name"])
        body = {"token": key, "prefix": token.prefix, "name": token.name, "created_at": token.created_at}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)
