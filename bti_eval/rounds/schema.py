"""OpenAPI post-processing for rounds: the rules the create endpoint enforces beyond field types.

A round is created from exactly one of ``pairs`` (ids), ``source`` or ``all_pairs: true``
(``RoundListCreateApi.InputSerializer.validate``). The schema says so with a ``oneOf`` of the three,
exactly one of which a valid body matches, so that clients (and schemathesis) know the rule before
they meet it as a 400.
"""

from __future__ import annotations

from typing import Any

from bti_eval.core.schema import component_name
from bti_eval.rounds.apis import RoundListCreateApi

_CREATE = component_name(RoundListCreateApi.InputSerializer)
# The create body's component and the copies drf-spectacular and ``document_form_nulls`` make of it.
COMPONENTS = (_CREATE, f"{_CREATE}Request", f"{_CREATE}RequestForm", f"{_CREATE}Form")


EXACTLY_ONE_SOURCE = [
    {"required": ["pairs"]},
    {"required": ["source"]},
    {"required": ["all_pairs"], "properties": {"all_pairs": {"enum": [True]}}},
]
RULE = "Give exactly one of: pairs (ids), source, or all_pairs=true."


def document_round_rules(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOK (after ``document_form_nulls``, which copies components)."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in COMPONENTS:
        if name in schemas:
            schemas[name]["oneOf"] = EXACTLY_ONE_SOURCE
            schemas[name]["description"] = f"{schemas[name].get('description', '')} {RULE}".strip()
    return result
