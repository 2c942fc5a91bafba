"""JSON Schema draft 2020-12 -> draft 4, the dialect EventBridge's Schema Registry takes (``JSONSchemaDraft4``).

pydantic writes draft 2020-12; the registry accepts only ``OpenApi3`` or ``JSONSchemaDraft4``
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-schema.html). ``to_draft4`` rewrites a schema
keyword by keyword, keeping what it means:

* ``$defs`` -> ``definitions``, and every local ``$ref`` that points into one; a ``$ref`` with sibling
  keywords (which draft 4 ignores) -> ``allOf: [{"$ref": ...}]`` beside them; ``$id`` -> ``id``;
* numeric ``exclusiveMinimum`` / ``exclusiveMaximum`` -> ``minimum`` / ``maximum`` with draft 4's boolean
  ``exclusiveMinimum: true`` (the stricter bound wins when both forms are given);
* ``const`` -> a one-value ``enum``; ``prefixItems`` -> an ``items`` array, the 2020-12 ``items`` beside it
  -> ``additionalItems``; ``dependentRequired`` / ``dependentSchemas`` -> ``dependencies``;
* ``if`` / ``then`` / ``else`` -> ``anyOf`` of (if and then) and (not if and else); ``contains`` -> "not every
  item fails it", for arrays only;
* boolean schemas ``true`` / ``false`` -> ``{}`` / ``{"not": {}}`` (draft 4 allows booleans only as
  ``additionalProperties`` and ``additionalItems``); an empty ``required`` is dropped (draft 4 wants one name);
* annotations draft 4 does not have (``examples``, ``$comment``, ``deprecated``, ``readOnly``, ``writeOnly``,
  ``contentMediaType``, ``contentEncoding``, OpenAPI's ``discriminator``) are dropped: they never change
  which documents are valid;
* ``$schema`` -> ``http://json-schema.org/draft-04/schema#`` at the root, and removed from subschemas.

Draft 4 has the rest as it is: ``type: "null"`` (inside ``anyOf`` too), ``default``, ``title``,
``description``, ``format``, ``enum``, ``pattern``, ``additionalProperties`` ... A schema already in draft 4
passes through unchanged, so the function may run twice. Keywords with no draft-4 equivalent
(``propertyNames``, ``unevaluatedProperties``, ``$dynamicRef``, ``minContains`` ...) raise ``ValueError``
naming the keyword and where it is, rather than silently accepting more documents than the original.
Keys that are not keywords (``x-amazon-...``) are kept. Standard library only.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

#: The draft-4 meta-schema's URI, the ``$schema`` of every converted schema.
DRAFT4 = "http://json-schema.org/draft-04/schema#"

#: Annotations of later drafts (and OpenAPI's discriminator): they describe, never validate.
DROPPED = ("examples", "$comment", "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding",
           "contentSchema", "discriminator")
#: Keywords draft 4 cannot express.
UNSUPPORTED = ("propertyNames", "unevaluatedProperties", "unevaluatedItems", "minContains", "maxContains",
               "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor", "$vocabulary")

# Keywords whose value maps names to schemas: a "$defs" right after one is a name, not the keyword.
_NAME_MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "dependencies")
# Keywords whose value is one schema, or a list of schemas.
_ONE = ("not", "if", "then", "else", "contains")
_LISTS = ("allOf", "anyOf", "oneOf")


def to_draft4(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A draft-4 copy of a JSON Schema (draft 2020-12, or already draft 4), ``$schema`` first.

    Raises ``ValueError`` for a keyword draft 4 cannot express, naming it and its JSON pointer.
    """
    return {"$schema": DRAFT4, **_schema(schema, "#")}


def draft4_ref(ref: str) -> str:
    """A ``$ref`` with every ``$defs`` step of a local JSON pointer renamed ``definitions``."""
    if not ref.startswith("#/"):
        return ref
    parts = ref[2:].split("/")
    renamed = [("definitions" if part == "$defs" and (i == 0 or parts[i - 1] not in _NAME_MAPS) else part)
               for i, part in enumerate(parts)]
    return "#/" + "/".join(renamed)


def _schema(node: Any, where: str) -> dict[str, Any]:
    """One schema in draft 4: a dict (boolean schemas become ``{}`` and ``{"not": {}}``)."""
    if node is True:
        return {}
    if node is False:
        return {"not": {}}
    if not isinstance(node, dict):
        raise ValueError(f"{where}: is {type(node).__name__}, not a JSON schema")
    for key in UNSUPPORTED:
        if key in node:
            raise ValueError(f"{where}/{key}: {key} has no equivalent in JSON Schema draft 4")
    out: dict[str, Any] = {}
    extra_all_of: list[dict[str, Any]] = []
    for key, value in node.items():
        at = f"{where}/{key}"
        if key in DROPPED or key == "$schema":  # to_draft4 writes $schema first, at the root only
            continue
        if key == "$id":
            out["id"] = value
        elif key in ("$defs", "definitions"):
            defs = out.setdefault("definitions", {})
            for name, sub in value.items():
                if name in defs:
                    raise ValueError(f"{at}/{name}: defined both in $defs and in definitions")
                defs[name] = _schema(sub, f"{at}/{name}")
        elif key in ("properties", "patternProperties"):
            out[key] = {name: _schema(sub, f"{at}/{name}") for name, sub in value.items()}
        elif key in ("additionalProperties", "additionalItems"):
            out[key] = value if isinstance(value, bool) else _schema(value, at)
        elif key == "items":
            if "prefixItems" in node:  # 2020-12: items applies after the prefix, as draft 4's additionalItems
                out["additionalItems"] = value if isinstance(value, bool) else _schema(value, at)
            elif isinstance(value, list):  # already draft 4's tuple form
                out["items"] = [_schema(sub, f"{at}/{i}") for i, sub in enumerate(value)]
            else:
                out["items"] = _schema(value, at)
        elif key == "prefixItems":
            out["items"] = [_schema(sub, f"{at}/{i}") for i, sub in enumerate(value)]
        elif key in _LISTS:
            out[key] = [_schema(sub, f"{at}/{i}") for i, sub in enumerate(value)]
        elif key == "not":
            out[key] = _schema(value, at)
        elif key in ("if", "then", "else"):
            if key == "if":
                extra_all_of.append(_conditional(node, where))
        elif key == "contains":
            # At least one item matches: not (every item fails it). Non-arrays pass, as contains ignores them.
            extra_all_of.append({"anyOf": [{"not": {"type": "array"}}, {"not": {"items": {"not": _schema(value, at)}}}]})
        elif key == "const":
            if "enum" in node:
                extra_all_of.append({"enum": [value]})
            else:
                out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and _number(value):
            _bound(out, node, key, value)
        elif key in ("minimum", "maximum") and _number(node.get(_exclusive(key))):
            continue  # _bound writes it, with its numeric exclusive twin
        elif key in ("dependentRequired", "dependentSchemas", "dependencies"):
            deps = out.setdefault("dependencies", {})
            for name, dep in value.items():
                if name in deps:
                    raise ValueError(f"{at}/{name}: a dependency of {name!r} is given twice")
                if isinstance(dep, list):
                    if dep:  # draft 4 wants at least one name; an empty list requires nothing
                        deps[name] = list(dep)
                else:
                    deps[name] = _schema(dep, f"{at}/{name}")
            if not deps:
                del out["dependencies"]
        elif key == "required":
            if value:
                out[key] = list(value)
        elif key == "$ref":
            out[key] = draft4_ref(value) if isinstance(value, str) else value
        else:
            out[key] = value
    if extra_all_of:
        out["allOf"] = [*out.get("allOf", []), *extra_all_of]
    if "$ref" in out and len(out) > 1:
        # Draft 4 ignores every keyword beside $ref; 2020-12 applies them all: keep them, and the $ref in allOf.
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}, *out.get("allOf", [])]
    return out


def _exclusive(key: str) -> str:
    return "exclusiveMinimum" if key == "minimum" else "exclusiveMaximum"


def _bound(out: dict[str, Any], node: Mapping[str, Any], key: str, value: float) -> None:
    """A numeric exclusive bound as draft 4 writes it, combined with the inclusive one beside it."""
    inclusive = "minimum" if key == "exclusiveMinimum" else "maximum"
    other = node.get(inclusive)
    stricter = other is None or (value >= other if inclusive == "minimum" else value <= other)
    if stricter:
        out[inclusive] = value
        out[key] = True
    else:
        out[inclusive] = other


def _conditional(node: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``if``/``then``/``else`` as draft 4 can say it: (if and then) or (not if and else)."""
    test = _schema(node["if"], f"{where}/if")
    then = _schema(node.get("then", True), f"{where}/then")
    other = _schema(node.get("else", True), f"{where}/else")
    return {"anyOf": [{"allOf": [test, then]}, {"allOf": [{"not": test}, other]}]}


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
