"""Where event patterns meet user data: an EventTrigger's ``pattern`` checked against its ``model``.

EventBridge compares a pattern's values with the event's JSON, type for type: ``numeric`` matches only
JSON numbers, ``prefix``, ``suffix``, ``wildcard``, ``equals-ignore-case`` and ``cidr`` only strings, an
exact value only a value of its own JSON type, and a field the event does not have never matches
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html). A pattern that
cannot match deploys without a word and never starts the saga, so the model rejects it when the saga is built:

* the pattern is a dict of fields to lists of values (or nested dicts, or ``$or``), with known operators;
* it does not set ``source`` or ``detail-type``: the trigger's own fields do;
* each field it filters exists: in EventBridge's envelope, and under ``detail`` in the trigger's ``model``
  when one is given (a pydantic model class, or a JSON schema);
* each such field is a string, number or boolean in JSON (or an array of them), and each value or operator
  has the field's JSON type. pydantic writes ``Decimal`` as a JSON string, so ``numeric`` on a Decimal field
  never matches: declare it ``float`` or ``int``, or match it as a string.

The model is read through its JSON Schema in serialization mode (``model_json_schema(mode="serialization")``,
the JSON a producer writes); its validation-mode schema only tells a Decimal (a number written as a string)
from a ``str``. Duck-typed: this module never imports pydantic. A field whose schema says nothing (``Any``)
is not checked. Standard library only: on the compile path.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

#: An EventBridge event's own fields and their JSON types (``detail`` is the producer's object).
#: https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html
ENVELOPE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": {"type": "string"}, "id": {"type": "string"}, "detail-type": {"type": "string"},
        "source": {"type": "string"}, "account": {"type": "string"}, "time": {"type": "string"},
        "region": {"type": "string"}, "resources": {"type": "array", "items": {"type": "string"}},
        "detail": {"type": "object"}, "replay-name": {"type": "string"},
    },
}
#: The envelope fields an EventTrigger sets itself (``source``, ``detail_type``).
TRIGGER_FIELDS = {"source": "source", "detail-type": "detail_type"}
#: Operators that compare strings, and the one that compares numbers.
STRING_OPERATORS = ("prefix", "suffix", "wildcard", "equals-ignore-case", "cidr")
NUMERIC = "numeric"
OPERATORS = (*STRING_OPERATORS, NUMERIC, "anything-but", "exists")
_NUMERIC_COMPARISONS = ("<", "<=", "=", ">", ">=")
#: The JSON types a pattern value can match.
SCALARS = frozenset({"string", "number", "boolean", "null"})


def event_trigger_problems(trigger: Any, where: str) -> list[tuple[str, str, str]]:
    """(field, what is wrong, what to write instead) for an EventTrigger's ``pattern`` and ``model``."""
    out = model_problems(trigger.model, f"{where}.model")
    if trigger.pattern is None:
        return out
    serialized = validated = name = None
    if trigger.model is not None and not out:
        serialized, validated, name = _model_schemas(trigger.model)
    out += pattern_problems(trigger.pattern, envelope(serialized), f"{where}.pattern", model_name=name,
                            inputs=envelope(validated) if validated is not None else None, fixed=tuple(TRIGGER_FIELDS))
    if not out:  # well-formed against the model: now every rule of PutRule's (an operator's operands, sizes)
        from stepsaga.choreography.pattern import validate
        from stepsaga.choreography.plan import trigger_pattern

        for reason in validate(trigger_pattern(trigger)):
            what, _, instead = reason.partition("; ")
            out.append((f"{where}.pattern", f"is one PutRule rejects: {what}", instead or "write a pattern EventBridge takes"))
    return out


def model_problems(model: Any, field: str) -> list[tuple[str, str, str]]:
    """A trigger's ``model`` that is neither a pydantic model nor a JSON schema, or gives no schema."""
    if model is None or _is_schema(model):
        return []
    if not callable(getattr(model, "model_json_schema", None)):
        return [(field, f"is {type(model).__name__}, neither a pydantic model nor a JSON schema",
                 "pass the model class of the event's detail, for example model=OrderPlaced, or its JSON schema as a dict")]
    try:
        schema = model.model_json_schema(mode="serialization")
    except Exception as exc:  # a user's model that cannot describe itself: say so, whatever pydantic raised
        return [(field, f"gives no JSON schema ({type(exc).__name__}: {exc})", "give the model fields that have a JSON form")]
    if not _is_schema(schema):
        return [(field, f"gives {type(schema).__name__} as its JSON schema, not a dict", "pass a pydantic model class or a JSON schema")]
    return []


def envelope(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """EventBridge's envelope with ``detail`` described by a JSON schema (any object when None).

    The detail's own ``$defs`` and ``definitions`` stay reachable: its refs resolve against it.
    """
    out = {**ENVELOPE, "properties": dict(ENVELOPE["properties"])}
    if detail is not None:
        out["properties"]["detail"] = {"$root": detail}
    return out


def pattern_problems(
    pattern: Any,
    schema: Mapping[str, Any],
    field: str = "pattern",
    *,
    model_name: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    fixed: Iterable[str] = (),
) -> list[tuple[str, str, str]]:
    """Every way a pattern is malformed or cannot match events of ``schema`` (an ``envelope``).

    ``fixed`` names envelope fields the pattern may not set; ``inputs`` is the envelope of the model's
    validation-mode schema, which tells a Decimal (a number written as a string) from a ``str``.
    """
    if not isinstance(pattern, dict):
        return [(field, f"is {type(pattern).__name__}, not an event pattern",
                 "write a dict of fields to lists of values, for example {'detail': {'channel': ['web']}}")]
    out: list[tuple[str, str, str]] = []
    leaves: list[tuple[tuple[str, ...], Any]] = []
    _walk(pattern, (), field, out, leaves, tuple(fixed))
    for path, matcher in leaves:
        out += _leaf_problems(path, matcher, schema, inputs, field, model_name)
    return out


def pattern_leaves(pattern: Mapping[str, Any]) -> list[tuple[tuple[str, ...], Any]]:
    """Each (field path, matcher) of a well-formed pattern: a matcher is an exact value or one operator object."""
    leaves: list[tuple[tuple[str, ...], Any]] = []
    _walk(pattern, (), "pattern", [], leaves, ())
    return leaves


def field_types(schema: Mapping[str, Any], path: tuple[str, ...]) -> frozenset[str] | None:
    """The JSON types a field of ``schema`` can have (``integer`` counts as ``number``; an array counts as
    its items). None when its schema says nothing; KeyError(the first missing name) when it does not exist."""
    found = _resolve(schema, path)
    if isinstance(found, _Missing):
        raise KeyError(found.name)
    return found


# --- the pattern's shape ----------------------------------------------------------------------


def _walk(node: Mapping[str, Any], path: tuple[str, ...], field: str, out: list, leaves: list, fixed: tuple[str, ...]) -> None:
    for key, value in node.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(b, dict) for b in value):
                out.append((field, f"has an $or at {_dotted(path) or 'its top'} that is not a list of two or more patterns",
                            "write {'$or': [{...}, {...}]}, each branch a pattern of its own"))
                continue
            for branch in value:
                _walk(branch, path, field, out, leaves, fixed)
            continue
        sub = (*path, str(key))
        if not path and key in fixed:
            attr = TRIGGER_FIELDS.get(key, key)
            out.append((field, f"sets {key!r}, which the trigger's own {attr} sets",
                        f"remove {key!r} from the pattern and write EventTrigger({attr}=...); declare one trigger per {key}"))
        elif isinstance(value, dict):
            _walk(value, sub, field, out, leaves, fixed)
        elif not isinstance(value, list):
            out.append((field, f"gives {_dotted(sub)} the value {value!r}, but a pattern lists the values a field may match",
                        f"write [{value!r}]"))
        elif not value:
            out.append((field, f"gives {_dotted(sub)} an empty list, which EventBridge rejects",
                        "list the values it may match, or write [{'exists': True}]"))
        else:
            for matcher in value:
                shape = _shape_problem(sub, matcher, field)
                if shape:
                    out.append(shape)
                else:
                    leaves.append((sub, matcher))


def _shape_problem(path: tuple[str, ...], matcher: Any, field: str) -> tuple[str, str, str] | None:
    """A matcher that is neither a JSON value nor one known operator with a well-formed operand."""
    if matcher is None or isinstance(matcher, (str, bool, int, float)):
        return None
    name = _dotted(path)
    if not isinstance(matcher, dict) or len(matcher) != 1:
        return (field, f"matches {name} with {matcher!r}, which is neither a value nor one comparison operator",
                "write one operator per object, for example [{'prefix': 'a'}, {'suffix': 'b'}]")
    [(op, operand)] = matcher.items()
    if op not in OPERATORS:
        import difflib  # only on the error path

        close = difflib.get_close_matches(str(op), OPERATORS, n=1, cutoff=0.5)
        return (field, f"uses {op!r} on {name}, which is not an EventBridge comparison operator",
                f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(OPERATORS)}")
    if op == NUMERIC and not _numeric_ok(operand):
        return (field, f"compares {name} with numeric {operand!r}, but numeric takes comparisons (<, <=, =, >, >=) each followed by a number",
                "write for example {'numeric': ['>', 0, '<=', 100]}")
    return None


def _numeric_ok(operand: Any) -> bool:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        return False
    pairs = [operand[i:i + 2] for i in range(0, len(operand), 2)]
    return all(op in _NUMERIC_COMPARISONS and _is_number(n) for op, n in pairs)


# --- the pattern against the data -------------------------------------------------------------


def _leaf_problems(path: tuple[str, ...], matcher: Any, schema: Mapping[str, Any], inputs: Mapping[str, Any] | None,
                   field: str, model_name: str | None) -> list[tuple[str, str, str]]:
    name = _dotted(path)
    found = _resolve(schema, path)
    if isinstance(found, _Missing):
        return [_missing(found, path, field, model_name)]
    if found is None:
        return []  # the schema says nothing of the field's type
    if not found & SCALARS:
        inside = f", such as {name}.{names[0]}" if (names := _names(schema, path)) else ""
        return [(field, f"filters {name}, which is an object in JSON, but a pattern matches only strings, numbers and booleans (or arrays of them)",
                 f"filter a field inside it{inside}")]
    if not isinstance(matcher, dict):
        kind = _json_type(matcher)
        if kind in found:
            return []
        return [(field, f"matches {name} with {matcher!r}, a JSON {kind}, but the field is {_say_types(found)}, so the rule never matches",
                 _instead(matcher, found))]
    [(op, operand)] = matcher.items()
    if op == NUMERIC and "number" not in found:
        decimal = inputs is not None and "number" in (_types_or_none(inputs, path) or ())
        why = " (pydantic writes Decimal as a JSON string)" if decimal else ""
        if decimal:
            instead = "declare the field as float or int, or match it as a string, for example ['100.00'] or [{'prefix': '100.'}]"
        elif path[0] == "detail":
            instead = "match it as a string, for example ['100'] or [{'prefix': '1'}], or declare the field as a number"
        else:  # an envelope field: its type is EventBridge's
            instead = "match it as a string, with exact values, prefix, suffix or wildcard"
        return [(field, f"compares {name} with numeric, but the field is {_say_types(found)}{why}, and numeric matches only JSON numbers, "
                        "so the rule never matches", instead)]
    if op in STRING_OPERATORS and "string" not in found:
        return [(field, f"matches {name} with {op}, but the field is {_say_types(found)}, and {op} matches only strings, so the rule never matches",
                 "compare it with numeric, for example [{'numeric': ['>=', 100]}], or list exact values such as [100]"
                 if "number" in found else "list exact values of the field's type")]
    if op == "anything-but":
        return _anything_but(name, operand, found, field)
    return []


def _anything_but(name: str, operand: Any, found: frozenset[str], field: str) -> list[tuple[str, str, str]]:
    if isinstance(operand, dict):  # anything-but {prefix|suffix|equals-ignore-case|wildcard: ...}
        if "string" not in found:
            return [(field, f"excludes from {name} with anything-but {operand!r}, but the field is {_say_types(found)}, "
                            "and that matches only strings, so the rule never matches", "list the exact values to exclude")]
        return []
    values = operand if isinstance(operand, list) else [operand]
    for value in values:
        if _json_type(value) not in found:
            return [(field, f"excludes {value!r}, a JSON {_json_type(value)}, from {name} with anything-but, but the field is "
                            f"{_say_types(found)}, so nothing is excluded", _instead(value, found))]
    return []


def _instead(value: Any, found: frozenset[str]) -> str:
    """A value of the field's own JSON type, for the message."""
    if "string" in found and value is not None:
        return f"write {_json_text(value)!r}"
    if "boolean" in found and value in ("true", "false"):
        return f"write {value == 'true'}"
    if "number" in found and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return "write a number"
        return f"write {int(number) if number.is_integer() else number!r}"
    return f"write a {' or '.join(sorted(found - {'null'}) or ['null'])} value"


def _missing(found: _Missing, path: tuple[str, ...], field: str, model_name: str | None) -> tuple[str, str, str]:
    at = path[: found.depth + 1]
    if found.depth == 0:
        return (field, f"filters {path[0]!r}, which is not a field of an EventBridge event ({', '.join(ENVELOPE['properties'])})",
                f"filter the event's own fields under 'detail', for example {{'detail': {{{path[0]!r}: [...]}}}}")
    owner = f"the model {model_name}" if model_name and at[:-1] == ("detail",) else _dotted(at[:-1])
    what = f"filters {_dotted(path)}, but {owner} has no field {found.name!r}, so the rule never matches"
    import difflib  # only on the error path

    close = difflib.get_close_matches(found.name, found.names, n=1, cutoff=0.6)
    if close:
        return (field, what, f"did you mean {_dotted((*at[:-1], close[0]))}?")
    if found.names:
        return (field, what, f"filter one of its fields: {', '.join(found.names)}")
    return (field, what, "filter a field the model declares")


# --- JSON Schema, as far as a pattern needs it ------------------------------------------------


class _Missing:
    """A name that is not a field: where (its depth in the path), and the names there are."""

    __slots__ = ("depth", "name", "names")

    def __init__(self, depth: int, name: str, names: list[str]) -> None:
        self.depth, self.name, self.names = depth, name, names


def _resolve(schema: Mapping[str, Any], path: tuple[str, ...]) -> frozenset[str] | None | _Missing:
    """The JSON types of the field at ``path`` (None: anything), or where the path leaves the schema."""
    alternatives = _alternatives(schema, schema)
    for depth, name in enumerate(path):
        children: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
        names: list[str] = []
        for node, root in alternatives:
            for obj, obj_root in _objects(node, root):
                names += [n for n in obj.get("properties", {}) if n not in names]
                children += _child(obj, obj_root, name)
        if not children:
            return _Missing(depth, name, names)
        alternatives = children
    types: set[str] = set()
    for node, root in alternatives:
        kinds = _types(node, root)
        if kinds is None:
            return None
        types |= kinds
    return frozenset(types)


def _types_or_none(schema: Mapping[str, Any], path: tuple[str, ...]) -> frozenset[str] | None:
    found = _resolve(schema, path)
    return None if isinstance(found, _Missing) else found


def _names(schema: Mapping[str, Any], path: tuple[str, ...]) -> list[str]:
    """The fields of the object at ``path``, for a suggestion."""
    found = _resolve(schema, (*path, "\0"))
    return found.names if isinstance(found, _Missing) else []


def _alternatives(node: Any, root: Mapping[str, Any], depth: int = 0) -> list[tuple[dict[str, Any], Mapping[str, Any]]]:
    """The schemas a value may satisfy, each with the root its refs resolve against: refs followed, anyOf and
    oneOf flattened, allOf merged; an embedded model (``$root``) brings its own root."""
    if depth > 50:  # a recursive model: stop unfolding, say nothing of the type
        return [({}, root)]
    if node is True or node is None:
        return [({}, root)]
    if node is False or not isinstance(node, dict):
        return []
    if "$root" in node:
        return _alternatives(node["$root"], node["$root"], depth + 1)
    if isinstance(node.get("$ref"), str):
        target = _pointer(root, node["$ref"])
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return [(_merge(rest, alt), r) for alt, r in _alternatives(target, root, depth + 1)]
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            rest = {k: v for k, v in node.items() if k != key}
            return [(_merge(rest, alt), r) for branch in node[key] for alt, r in _alternatives(branch, root, depth + 1)]
    if isinstance(node.get("allOf"), list):
        merged: list[tuple[dict[str, Any], Mapping[str, Any]]] = [({k: v for k, v in node.items() if k != "allOf"}, root)]
        for member in node["allOf"]:
            merged = [(_merge(m, alt), root) for m, _ in merged for alt, _ in _alternatives(member, root, depth + 1)]
        return [pair for m, r in merged for pair in _alternatives(m, r, depth + 1)]
    return [(node, root)]


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Two schemas a value must both satisfy, as one (types intersected, properties joined)."""
    out = {**a, **b}
    if "type" in a and "type" in b:
        both = _type_set(a["type"]) & _type_set(b["type"])
        out["type"] = sorted(both)
    if isinstance(a.get("properties"), dict) and isinstance(b.get("properties"), dict):
        out["properties"] = {**a["properties"], **b["properties"]}
    if a.get("additionalProperties") is False or b.get("additionalProperties") is False:
        out["additionalProperties"] = False
    return out


def _objects(node: dict[str, Any], root: Mapping[str, Any]) -> list[tuple[dict[str, Any], Mapping[str, Any]]]:
    """The object schemas a field lookup goes through: the node itself, or its items (EventBridge matches
    inside arrays of objects)."""
    kinds = _declared(node)
    out = []
    if kinds is None or "object" in kinds:
        out.append((node, root))
    if kinds is not None and "array" in kinds:
        for item, item_root in _items(node, root):
            out += _objects(item, item_root)
    return out


def _child(obj: dict[str, Any], root: Mapping[str, Any], name: str) -> list[tuple[dict[str, Any], Mapping[str, Any]]]:
    props = obj.get("properties")
    if isinstance(props, dict) and name in props:
        return _alternatives(props[name], root)
    for pattern, sub in (obj.get("patternProperties") or {}).items():
        if re.search(pattern, name):
            return _alternatives(sub, root)
    # A model (an object that declares its properties) has no other fields unless it says so; a bare
    # {"type": "object"} or dict[str, X] says nothing of its names.
    declared = bool(props) or bool(obj.get("patternProperties"))
    extra = obj.get("additionalProperties", not declared)
    if extra is False:
        return []
    return _alternatives(extra, root)


def _items(node: dict[str, Any], root: Mapping[str, Any]) -> list[tuple[dict[str, Any], Mapping[str, Any]]]:
    items = node.get("prefixItems") or node.get("items", True)
    subs = items if isinstance(items, list) else [items]
    if node.get("prefixItems") and "items" in node:
        subs = [*subs, node["items"]]
    return [pair for sub in subs for pair in _alternatives(sub, root)]


def _types(node: dict[str, Any], root: Mapping[str, Any]) -> set[str] | None:
    """The JSON types of one alternative, an array counting as its items' (None: anything)."""
    kinds = _declared(node)
    if kinds is None:
        return None
    out = set(kinds - {"array"})
    if "array" in kinds:
        for item, item_root in _items(node, root):
            inner = _types(item, item_root)
            if inner is None:
                return None
            out |= inner
    return out


def _declared(node: Mapping[str, Any]) -> set[str] | None:
    if "type" in node:
        return _type_set(node["type"])
    values = node["enum"] if isinstance(node.get("enum"), list) else [node["const"]] if "const" in node else None
    if values is not None:
        return {_json_type(v) for v in values}
    return None


def _type_set(value: Any) -> set[str]:
    names = value if isinstance(value, list) else [value]
    return {"number" if n == "integer" else str(n) for n in names}


def _pointer(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#"):
        return None  # a remote ref: nothing known
    node: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node.get(part) if isinstance(node, dict) else None
    return node


# --- words --------------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _say_types(types: frozenset[str]) -> str:
    named = sorted(types - {"null"}) or ["null"]
    return "a JSON " + " or ".join(named)


def _dotted(path: Iterable[str]) -> str:
    return ".".join(path)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_schema(value: Any) -> bool:
    return isinstance(value, dict)


def _model_schemas(model: Any) -> tuple[Mapping[str, Any], Mapping[str, Any] | None, str | None]:
    """(serialization-mode schema, validation-mode schema or None, the model's name) of a trigger's model."""
    if _is_schema(model):
        return model, None, model.get("title") if isinstance(model.get("title"), str) else None
    name = getattr(model, "__name__", None) or type(model).__name__
    return model.model_json_schema(mode="serialization"), model.model_json_schema(mode="validation"), name
