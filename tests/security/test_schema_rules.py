"""The OpenAPI schema states the rules the API enforces: integer bounds on every integer a client
sends, the pairs/source/all_pairs rule of round creation, and no nulls in form or multipart bodies."""

from __future__ import annotations

import jsonschema
import pytest

pytestmark = pytest.mark.django_db
PATH_IDS = ("?round_id", "?judge_id", "?catalog_id", "?job_id", "?pair_id", "?link_id")


@pytest.fixture
def schema(world) -> dict:
    response = world.client("researcher").get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _integers(schema: dict, node: dict, where: str, seen: set[str]):
    """(where, integer schema) for every integer reachable from ``node``."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        seen = seen | {name}
    node = _resolve(schema, node)
    if node.get("type") == "integer":
        yield where, node
    for key, prop in (node.get("properties") or {}).items():
        yield from _integers(schema, prop, f"{where}.{key}", seen)
    if "items" in node:
        yield from _integers(schema, node["items"], f"{where}[]", seen)
    for combined in node.get("allOf", []) + node.get("oneOf", []) + node.get("anyOf", []):
        yield from _integers(schema, combined, where, seen)


def test_every_integer_a_client_sends_has_a_minimum_and_a_maximum(schema):
    found, unbounded = [], []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            sources = [(f"{method} {path} ?{p['name']}", p["schema"]) for p in operation.get("parameters", [])]
            sources += [
                (f"{method} {path} body({media})", body["schema"])
                for media, body in (operation.get("requestBody") or {}).get("content", {}).items()
            ]
            for where, node in sources:
                for name, integer in _integers(schema, node, where, set()):
                    found.append(name)
                    if name.endswith(PATH_IDS):
                        continue  # an id in the path: any unknown id is a 404
                    if "minimum" not in integer or "maximum" not in integer:
                        unbounded.append(name)
    assert any(".seed" in name for name in found) and any("?limit" in name for name in found)
    assert not unbounded, unbounded
    rounds = schema["paths"]["/api/rounds/"]["get"]["parameters"]
    limit = next(p for p in rounds if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 1000)


def test_round_creation_states_exactly_one_of_pairs_source_all_pairs(schema):
    body = schema["paths"]["/api/rounds/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    component = _resolve(schema, body)
    assert "exactly one of" in component["description"]
    validator = jsonschema.Draft4Validator({"oneOf": component["oneOf"]})
    assert validator.is_valid({"name": "r", "pairs": [1]})
    assert validator.is_valid({"name": "r", "source": "s", "all_pairs": False})
    assert validator.is_valid({"name": "r", "all_pairs": True})
    for body in ({"name": "r"}, {"pairs": [1], "source": "s"}, {"pairs": [1], "all_pairs": True}, {"all_pairs": False}):
        assert not validator.is_valid(body), body


def test_form_and_multipart_bodies_have_no_nulls_and_say_so(schema):
    checked = 0
    for item in schema["paths"].values():
        for operation in item.values():
            content = (operation.get("requestBody") or {}).get("content", {}) if isinstance(operation, dict) else {}
            for media in ("multipart/form-data", "application/x-www-form-urlencoded"):
                if media not in content:
                    continue
                json_props = _resolve(schema, content.get("application/json", content[media])["schema"]).get(
                    "properties", {}
                )
                for key, prop in _resolve(schema, content[media]["schema"]).get("properties", {}).items():
                    assert not prop.get("nullable"), (media, key)
                    if json_props.get(key, {}).get("nullable"):
                        assert "send it empty for null" in prop["description"]
                        checked += 1
    assert checked  # e.g. judges_per_explanation, too_fast_seconds, seconds
    file = _resolve(
        schema, schema["paths"]["/api/pairs/import/"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    )
    assert file["properties"]["file"]["format"] == "binary"


def test_an_empty_form_value_is_null_for_a_nullable_field(world):
    response = world.client("researcher").post(
        "/api/rounds/", {"name": "form", "all_pairs": "true", "judges_per_explanation": "", "too_fast_seconds": ""}
    )
    assert response.status_code == 201, response.content
    assert response.json()["judges_per_explanation"] is None and response.json()["too_fast_seconds"] is None
