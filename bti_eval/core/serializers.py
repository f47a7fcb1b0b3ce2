"""The error body every 4xx/503 answer has (see core.exceptions.exception_handler), for the schema."""

from collections.abc import Mapping

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="What went wrong and what to do.")
    extra = serializers.DictField(help_text="Structured detail, e.g. row-level import errors or field errors.")


def error_responses(*codes: int, described: Mapping[int, str] | None = None) -> dict[int, OpenApiResponse]:
    """``{code: OpenApiResponse(ErrorSerializer)}`` for extend_schema(responses=...), each with the
    common description of its code, or the operation's own one from ``described`` (a code given
    there only is documented too)."""
    common = {
        400: "Invalid input.",
        404: "No such object.",
        409: "The round's status does not allow this.",
        413: "The file is too large.",
        503: "The task broker is unreachable; nothing was changed.",
    }
    described = described or {}
    return {
        code: OpenApiResponse(ErrorSerializer, description=described.get(code, common.get(code, "")))
        for code in dict.fromkeys([*codes, *described])
    }
