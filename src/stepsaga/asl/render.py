"""Deterministic JSON: fixed key order from the model, 2-space indent, newline at the end.

Lists of plain values (such as ErrorEquals) stay on one line, as a person writes them.
"""

from __future__ import annotations

import json
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stepsaga.asl.model import StateMachine


def render(definition: StateMachine | dict[str, Any]) -> str:
    """Render a definition as the exact text committed to asl/."""
    doc = definition.to_json() if isinstance(definition, StateMachine) else definition
    return _value(doc, 0) + "\n"


# One encoder for every scalar: json.dumps builds a new encoder per call (80% of compile time).
_scalar = json.JSONEncoder(ensure_ascii=False).encode


def _value(value: Any, depth: int) -> str:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{_scalar(str(k))}: {_value(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return "[" + ", ".join(_scalar(v) for v in value) + "]"
        return "[\n" + ",\n".join(inner + _value(v, depth + 1) for v in value) + "\n" + pad + "]"
    return _scalar(value)
