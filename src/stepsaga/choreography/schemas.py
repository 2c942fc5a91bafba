"""Saga -> one JSON Schema (draft 4) per domain event: the contracts committed in schemas/ and registered in
EventBridge's Schema Registry.

Each schema is generated from the event's pydantic model (``stepsaga.choreography.events.event_models``:
the envelope with ``source`` and ``detail-type`` fixed, and the detail narrowed for the kind of event), then
converted from draft 2020-12 to draft 4 (``stepsaga.choreography.draft4``), the registry's
``JSONSchemaDraft4``. The detail's ``input`` carries the saga's input schema when every start of the saga
has one (its HTTP triggers' ``schema``); an EventTrigger, or an HTTP trigger without a schema, starts it
with any object. The root also names the event the way the registry's own schemas do
(``x-amazon-events-source``, ``x-amazon-events-detail-type``).

The text is deterministic: pydantic's fixed key order, ``definitions`` sorted by name, 2-space indent and a
final newline (``stepsaga.asl.render``), the same bytes whatever the hash seed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from stepsaga.asl.render import render as _render
from stepsaga.choreography.draft4 import to_draft4
from stepsaga.choreography.events import event_models
from stepsaga.choreography.plan import plan as saga_plan
from stepsaga.model import HttpTrigger
from stepsaga.names import schema_path

if TYPE_CHECKING:
    from stepsaga.choreography.plan import Plan
    from stepsaga.model import Saga

__all__ = ["to_draft4", "input_schema", "event_schemas", "render", "compact", "schema_files", "SOURCE_KEY", "DETAIL_TYPE_KEY"]

#: The keys with which the registry's own schemas name the event they describe.
SOURCE_KEY = "x-amazon-events-source"
DETAIL_TYPE_KEY = "x-amazon-events-detail-type"


def input_schema(saga: Saga) -> dict[str, Any] | None:
    """The JSON Schema of the saga's input, or None when a start of the saga takes any object.

    The HTTP triggers' schemas (``anyOf`` them when they differ); None when the saga has no trigger, an
    EventTrigger, or an HTTP trigger without a schema.
    """
    schemas: list[dict[str, Any]] = []
    for trigger in saga.triggers:
        if not isinstance(trigger, HttpTrigger) or trigger.schema is None:
            return None
        if dict(trigger.schema) not in schemas:
            schemas.append(dict(trigger.schema))
    if not schemas:
        return None
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}


def event_schemas(plan: Plan) -> dict[str, dict[str, Any]]:
    """Each event's draft-4 JSON Schema, by detail-type, in plan order."""
    given = input_schema(plan.saga)
    out = {}
    for spec in plan.events:
        model = event_models(plan)[spec.name]
        schema = model.model_json_schema(by_alias=True, mode="serialization")
        if given is not None:
            name = f"{plan.saga.name}Input"
            detail = schema["$defs"][f"{spec.name}Detail"]["properties"]
            detail["input"] = {"$ref": f"#/$defs/{name}", "description": detail["input"].get("description", "")}
            schema["$defs"][name] = _relocated(given, f"#/$defs/{name}")
        schema[SOURCE_KEY] = spec.source
        schema[DETAIL_TYPE_KEY] = spec.name
        converted = to_draft4(schema)
        converted["definitions"] = dict(sorted(converted["definitions"].items()))
        out[spec.name] = converted
    return out


def render(schema: dict[str, Any]) -> str:
    """A schema as the exact text committed to schemas/: 2-space indent, newline at the end."""
    return _render(schema)


def compact(schema: dict[str, Any]) -> str:
    """A schema as compact JSON text: the ``Content`` of its ``AWS::EventSchemas::Schema``."""
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


def schema_files(saga: Saga) -> dict[str, str]:
    """The committed files of a saga's schemas: path relative to schemas/ -> text, in plan order."""
    return {schema_path(saga.name, name): render(schema) for name, schema in event_schemas(saga_plan(saga)).items()}


def _relocated(schema: dict[str, Any], base: str) -> dict[str, Any]:
    """A copy of a root schema to be placed at ``base``: its local ``$ref``s point there; its ``$schema`` and id go.

    A root's id would change how the refs inside it resolve, and ``$schema`` belongs to a root.
    """
    return {key: _rebased(value, base) for key, value in schema.items() if key not in ("$schema", "$id", "id")}


def _rebased(value: Any, base: str) -> Any:
    if isinstance(value, list):
        return [_rebased(item, base) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: (base + sub[1:] if key == "$ref" and isinstance(sub, str) and sub.startswith("#") else _rebased(sub, base))
            for key, sub in value.items()}
