"""OpenAPI post-processing: every operation documents the errors that any endpoint can answer.

Views document their own business errors (409 a wrong round status, ...). The errors that come
from the framework around them (401 not signed in, 403 the wrong role or a missing CSRF token, 404
an unknown id in the path, 400, 413 and 415 a body or query that fails validation, is too large or
has a content type the operation does not read, 503
the database unreachable) apply to every operation alike; this hook adds them, with the API's one
error body, so that the schema describes every answer the API gives (schemathesis checks it).

``document_form_nulls`` states a rule of form and multipart bodies: they cannot carry a JSON null,
so a nullable field is sent empty (DRF reads an empty value of a nullable field as null). Their
request schemas get a copy of the component without ``nullable``, with that rule in the field's
description; JSON bodies keep ``null``.

Component names come from the serializer's qualified name (``component_name``), so that a
serializer nested in its view needs no hand-written ``Meta.ref_name``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from bti_eval.core.serializers import ErrorSerializer


def component_name(serializer_class: type) -> str:
    """The schema component of a serializer class, from its qualified name without "Serializer":
    ``RoundListCreateApi.InputSerializer`` -> ``RoundListCreateApiInput``, ``RoundOutputSerializer``
    -> ``RoundOutput`` (drf-spectacular then adds ``Request`` / ``Patched`` where it applies)."""
    parts = serializer_class.__qualname__.replace(".<locals>", "").split(".")
    return "".join(part.removesuffix("Serializer") for part in parts)


class AutoSchema(SpectacularAutoSchema):
    """The project's schema class: component names from ``component_name``."""

    def get_serializer_name(self, serializer, direction) -> str:
        return component_name(type(serializer))


ERROR_SCHEMA = component_name(ErrorSerializer)
ERROR_COMPONENT = {
    "type": "object",
    "properties": {
        "message": {"type": "string", "description": "What went wrong and what to do."},
        "extra": {"type": "object", "additionalProperties": {}, "description": "Structured detail."},
    },
    "required": ["message", "extra"],
}
METHODS = ("get", "put", "post", "patch", "delete")


def document_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOK: add the common error responses to each operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_SCHEMA, ERROR_COMPONENT)
    body = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}
    for path, item in result.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            codes = {
                "401": "Not signed in: send a token (Authorization: Token ...) or a session cookie.",
                "403": "Signed in, but not allowed (judges may use only /api/judge/), or the CSRF token is missing.",
                "503": "The database is unreachable; nothing was changed. Try again (Retry-After).",
            }
            if "{" in path:
                codes["404"] = "No such object."
            if operation.get("requestBody") or operation.get("parameters") or "{" in path:
                codes["400"] = "Invalid input."
            if operation.get("requestBody") or method in ("put", "post", "patch"):
                codes["413"] = "The request body is too large."
                codes["415"] = "The request body's content type is not one this operation reads."
            responses = operation.setdefault("responses", {})
            for code, description in codes.items():
                responses.setdefault(code, {"content": body, "description": description})
    return result


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
FORM_NULL_RULE = "In a form or multipart body, send it empty for null."


def _form_variant(schemas: dict[str, Any], name: str) -> str | None:
    """The name of a copy of component ``name`` without ``nullable`` (created once), or None when
    the component has no nullable property."""
    component = schemas.get(name) or {}
    nullable = [key for key, prop in (component.get("properties") or {}).items() if prop.get("nullable")]
    if not nullable:
        return None
    variant = f"{name}Form"
    if variant not in schemas:
        properties = {}
        for key, prop in component["properties"].items():
            prop = dict(prop)
            if prop.pop("nullable", False):
                prop["description"] = f"{prop.get('description', '')} {FORM_NULL_RULE}".strip()
            properties[key] = prop
        schemas[variant] = {**component, "properties": properties}
    return variant


def document_form_nulls(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOK: form and multipart request bodies hold no nulls."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for item in result.get("paths", {}).values():
        for method in METHODS:
            content = ((item.get(method) or {}).get("requestBody") or {}).get("content") or {}
            for media_type in FORM_TYPES:
                ref = (content.get(media_type) or {}).get("schema", {}).get("$ref", "")
                variant = _form_variant(schemas, ref.rsplit("/", 1)[-1]) if ref else None
                if variant:
                    content[media_type]["schema"] = {"$ref": f"#/components/schemas/{variant}"}
    return result
