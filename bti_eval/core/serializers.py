"""The error body every 4xx/503 answer has (see core.exceptions.exception_handler), for the schema."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="What went wrong and what to do.")
    extra = serializers.DictField(help_text="Structured detail, e.g. row-level import errors or field errors.")


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """``{code: OpenApiResponse(ErrorSerializer)}`` for extend_schema(responses=...)."""
    descriptions = {
        400: "Invalid input.",
        404: "No such object.",
        409: "The round's status does not allow this.",
        413: "The file is too large.",
        503: "The task broker is unreachable; nothing was changed.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=descriptions.get(code, "")) for code in codes}
