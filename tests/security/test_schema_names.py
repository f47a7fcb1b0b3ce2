"""Schema component names come from the serializers' qualified names, with no hand-written
``Meta.ref_name``: a serializer nested in its view is named after the view, and no two serializers
share a component."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework import serializers

from bti_eval.core.schema import component_name

pytestmark = pytest.mark.django_db
CODE = Path(__file__).resolve().parents[2] / "bti_eval"


class RoundThingApi:
    class InputSerializer(serializers.Serializer):
        pass


class ThingOutputSerializer(serializers.Serializer):
    pass


def test_a_nested_serializer_is_named_after_its_view():
    assert component_name(RoundThingApi.InputSerializer) == "RoundThingApiInput"


def test_a_module_level_serializer_keeps_its_own_name():
    assert component_name(ThingOutputSerializer) == "ThingOutput"


def test_no_serializer_names_its_component_by_hand():
    assert not [str(p) for p in CODE.rglob("*.py") if "ref_name =" in p.read_text()]


def test_the_schema_names_each_body_after_its_view(world):
    schema = world.client("researcher").get("/api/schema/?format=json").json()
    names = set(schema["components"]["schemas"])
    assert {
        "RoundListCreateApiInputRequest",
        "JudgeRatingApiInputRequest",
        "JudgeRatingApiOutput",
        "PairImportApiOutput",
        "RoundOutput",
        "Error",
    } <= names
    create = schema["paths"]["/api/rounds/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create == {"$ref": "#/components/schemas/RoundListCreateApiInputRequest"}
    # The common error responses point at the one error component, which the error serializer defines.
    error = schema["paths"]["/api/rounds/"]["post"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"message", "extra"}
