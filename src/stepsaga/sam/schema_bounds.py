"""Where an HTTP trigger's JSON schema lets a request grow without bound.

API Gateway accepts request bodies up to 10 MB, and the body becomes the saga's input, which must stay
well under Step Functions' 256 KiB limit on a state's input and output for the results that follow
(https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-task-executions).
A schema bounds a request only if every string has a ``maxLength``, every array a ``maxItems``, and no
object takes keys it does not name (``additionalProperties: false``) or, if it does, has a
``maxProperties``. `stepsaga template` warns about each place that does not.

Numbers are not checked: JSON Schema cannot bound how many digits a number is written with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["unbounded"]


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type")
    types = set(declared) if isinstance(declared, list) else {declared} if isinstance(declared, str) else set()
    if not types:  # infer from the keywords, as a reader would
        if "properties" in schema or "additionalProperties" in schema:
            types.add("object")
        if "items" in schema:
            types.add("array")
    return types


def unbounded(schema: object, path: str = "$") -> list[str]:
    """One ``"<path>: <what to add>"`` line for each unbounded place of a draft-4 schema, in document order."""
    if not isinstance(schema, Mapping):
        return [f"{path}: is not a schema; write an object schema with properties"]
    if "enum" in schema:
        return []
    out: list[str] = []
    for combinator in ("allOf", "anyOf", "oneOf"):
        for i, part in enumerate(schema.get(combinator) or ()):
            out.extend(unbounded(part, f"{path}.{combinator}[{i}]"))
    if "$ref" in schema:
        return out  # not followed: the referenced schema is checked where it is defined, if at all
    types = _types(schema)
    if not types and not out:
        out.append(f"{path}: accepts any JSON value; give it a type")
    if "string" in types and not isinstance(schema.get("maxLength"), int):
        out.append(f"{path}: a string without maxLength; add maxLength")
    if "array" in types:
        if not isinstance(schema.get("maxItems"), int):
            out.append(f"{path}: an array without maxItems; add maxItems")
        items = schema.get("items")
        if isinstance(items, list):
            for i, item in enumerate(items):
                out.extend(unbounded(item, f"{path}[{i}]"))
        elif items is not None:
            out.extend(unbounded(items, f"{path}[*]"))
        else:
            out.append(f"{path}[*]: any JSON value; give the array an items schema")
    if "object" in types:
        extra = schema.get("additionalProperties", True)
        if extra is not False and not isinstance(schema.get("maxProperties"), int):
            out.append(f"{path}: takes keys it does not name; add additionalProperties: false")
        if isinstance(extra, Mapping):
            out.extend(unbounded(extra, f"{path}.*"))
        for name, sub in (schema.get("properties") or {}).items():
            out.extend(unbounded(sub, f"{path}.{name}"))
    return out
