"""moto's JSON-protocol response body for a plain-data result, without its generic attribute picker.

moto serialises an action's result (``ActionResult.execute_result``, ``moto/core/responses.py:99-117``) with
``JSONSerializer`` (``moto/core/serialize.py``): it walks the operation's output shape, and for each member
of a structure asks an ``XFormedAttributePicker`` for the value, which tries the keys its six alias
providers offer (``serialize.py:1289-1334``), each through a fresh context object and generator. A DynamoDB
item is a map of ``AttributeValue`` structures of ten members each, so a ``GetItem`` of a small item makes
about sixty such lookups, a third of the call.

``body(result, operation_model)`` gives the same ``(status, headers, body)`` for a result that is plain data
(``dict``, ``list``, ``tuple``, ``str``, numbers, ``bool``, ``None``, ``bytes``, ``datetime``, ``Enum``),
walking the same shapes in the same order with the same rules:

* a structure member's value is the first of the keys moto's own alias providers offer for that member and
  a ``dict`` (computed once per member shape, by those providers), as ``get_value`` looks them up;
* ``BaseJSONSerializer``'s rules for structures (document types, ``None``), lists (an item that sets no key
  of its member's name is kept as it is), maps, strings (``Enum`` values, ``str()`` but for ``None``, ``{}``
  and ``[]``), and ``ResponseSerializer``'s for timestamps, blobs, integers and floats; every other type
  is kept as it is (``_default_serialize``); names from each shape's ``serialization``;
* the body is ``json.dumps`` with moto's indentation setting.

Anything else (a model object, a ``dict`` subclass, a response transformer, another serialiser class, a
value whose conversion raises) raises ``Unsupported``, and moto's serialiser answers instead: the result is
moto's either way. ``tests/functional/test_inprocess_differential.py`` checks ``body`` against moto's
serialiser on generated results for every output shape of DynamoDB and SQS.
"""

from __future__ import annotations

import base64
import json
from enum import Enum
from typing import Any, Final

from moto import settings
from moto.core.serialize import (
    DEFAULT_ALIAS_PROVIDERS,
    AttributePickerContext,
    BaseJSONSerializer,
    JSONSerializer,
    ResponseSerializer,
    TimestampSerializer,
    XFormedAttributePicker,
)

_MISSING: Final = object()


class Unsupported(Exception):
    """A result this module does not mirror: moto's serialiser answers it."""


# The serialiser methods this module mirrors; another method for a type (a newer moto) is Unsupported.
_MIRRORED: Final = {
    "structure": BaseJSONSerializer._serialize_type_structure,
    "list": BaseJSONSerializer._serialize_type_list,
    "map": BaseJSONSerializer._serialize_type_map,
    "string": BaseJSONSerializer._serialize_type_string,
    "timestamp": ResponseSerializer._serialize_type_timestamp,
    "blob": ResponseSerializer._serialize_type_blob,
    "integer": ResponseSerializer._serialize_type_integer,
    "long": ResponseSerializer._serialize_type_integer,
    "float": ResponseSerializer._serialize_type_float,
    "double": ResponseSerializer._serialize_type_float,
}
_TIMESTAMPS: Final = TimestampSerializer(BaseJSONSerializer.DEFAULT_TIMESTAMP_FORMAT)
_NUMBER_TYPES: Final = (int, float, bool, str)
_PROVIDERS: Final = tuple(DEFAULT_ALIAS_PROVIDERS)  # what the member keys were computed with


_KINDS: dict[str, str] = {}


def _kind(type_name: str) -> str:
    """Which rule moto's ``JSONSerializer`` applies to a shape type (``_serialize``, serialize.py:372-381)."""
    kind = _KINDS.get(type_name)
    if kind is None:
        method = getattr(JSONSerializer, f"_serialize_type_{type_name}", None)
        if method is None:
            kind = "default"
        elif _MIRRORED.get(type_name) is method:
            kind = type_name
        else:
            kind = "unsupported"  # a method this module does not mirror
        _KINDS[type_name] = kind
    if kind == "unsupported":
        raise Unsupported(f"JSONSerializer._serialize_type_{type_name}")
    return kind


class _Structure:
    """A structure shape's members as moto serialises them from a dict."""

    __slots__ = ("shape", "members")

    def __init__(self, shape: Any) -> None:
        self.shape = shape
        members = []
        for member_key, member_shape in shape.members.items():
            member_shape.parent = shape  # serialize.py:399, which the alias providers read
            context = AttributePickerContext(obj={}, key=member_key, shape=member_shape)
            keys = tuple(XFormedAttributePicker().get_possible_keys(context))
            if any("." in key for key in keys):  # a path (moto/core/utils.py:456-464)
                raise Unsupported(f"member {member_key} has a dotted alias")
            members.append((member_key, member_shape, keys))
        self.members = tuple(members)


_STRUCTURES: dict[int, _Structure] = {}  # by id of the shape, which each entry keeps alive


def _structure(shape: Any) -> _Structure:
    found = _STRUCTURES.get(id(shape))
    if found is None or found.shape is not shape:
        found = _STRUCTURES[id(shape)] = _Structure(shape)
    return found


def _value(value: Any, shape: Any, key: str) -> tuple[str, Any] | None:
    """``(name, serialised)`` that ``_serialize(serialized, value, shape, key)`` sets, or None if it sets nothing."""
    kind = _kind(shape.type_name)
    name = shape.serialization.get("name", key)
    if kind == "structure":
        if shape.is_document_type:
            return key, value  # serialize.py:585-587 sets serialized[key]
        if value is None:
            return None
        if type(value) is not dict or not key:  # with no key, moto writes the members into the parent
            raise Unsupported(type(value).__name__)
        return name, _members(value, shape)
    if kind == "list":
        if type(value) not in (list, tuple):
            raise Unsupported(type(value).__name__)
        member = shape.member
        item_key = member.name
        items = []
        for item in value:
            found = _value(item, member, item_key)
            items.append(found[1] if found is not None and found[0] == item_key else item)
        return name, items
    if kind == "map":
        if type(value) is not dict:
            raise Unsupported(type(value).__name__)
        value_shape = shape.value
        entries: dict[Any, Any] = {}
        for sub_key, sub_value in value.items():
            if type(sub_key) is not str:  # moto joins the keys into a path (serialize.py:365): it may raise
                raise Unsupported(f"map key {sub_key!r}")
            found = _value(sub_value, value_shape, sub_key)
            if found is not None:
                entries[found[0]] = found[1]
        return name, entries
    if kind == "string":
        if isinstance(value, Enum):
            value = value.value
        if value is None or type(value) is str:
            return name, value
        if type(value) in _NUMBER_TYPES:
            return name, str(value)
        raise Unsupported(type(value).__name__)
    if kind == "timestamp":
        format_name = shape.serialization.get("timestampFormat", _TIMESTAMPS.default_format)
        return name, _TIMESTAMPS._convert_timestamp_to_str(value, format_name)
    if kind == "blob":
        if type(value) is str:
            value = value.encode(ResponseSerializer.DEFAULT_ENCODING)
        if type(value) is not bytes:
            raise Unsupported(type(value).__name__)
        return name, base64.b64encode(value).strip().decode(ResponseSerializer.DEFAULT_ENCODING)
    if kind in ("integer", "long", "float", "double"):
        if type(value) not in _NUMBER_TYPES:
            raise Unsupported(type(value).__name__)
        return name, int(value) if kind in ("integer", "long") else float(value)
    return name, value  # _default_serialize


def _members(value: dict[str, Any], shape: Any) -> dict[str, Any]:
    wrapper: dict[str, Any] = {}
    for member_key, member_shape, keys in _structure(shape).members:
        member_value = None
        for possible_key in keys:  # XFormedAttributePicker.__call__ on a dict (serialize.py:1289-1302)
            found = value.get(possible_key, _MISSING)
            if found is not _MISSING:
                member_value = found
                break
        if member_value is not None:
            set_ = _value(member_value, member_shape, member_key)
            if set_ is not None:
                wrapper[set_[0]] = set_[1]
    return wrapper


def body(result: Any, operation_model: Any, response: Any) -> tuple[int, dict[str, str], str]:
    """``ActionResult(result).execute_result(context)`` for moto's JSON serialiser, from plain data.

    ``response`` is the moto response object (its transformers decide); raises ``Unsupported`` for anything
    not mirrored, before any side effect.
    """
    if getattr(response, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None):
        raise Unsupported("response transformers")
    if tuple(DEFAULT_ALIAS_PROVIDERS) != _PROVIDERS or operation_model.service_model.protocol != "json":
        raise Unsupported("alias providers or protocol")
    if operation_model.has_event_stream_output or isinstance(result, Exception):
        raise Unsupported("not a plain result")
    output_shape = operation_model.output_shape
    serialized: dict[str, Any] = {}
    if output_shape is not None:
        if output_shape.is_document_type:
            serialized[""] = result
        elif result is not None:
            if type(result) is not dict:
                raise Unsupported(type(result).__name__)
            serialized = _members(result, output_shape)
    try:
        text = json.dumps(serialized, indent=4 if settings.PRETTIFY_RESPONSES else None)
    except (TypeError, ValueError) as exc:
        raise Unsupported(str(exc)) from None
    status = operation_model.http.get("responseCode", ResponseSerializer.DEFAULT_RESPONSE_CODE)
    json_version = operation_model.service_model.metadata.get("jsonVersion", "1.0")
    return status, {"Content-Type": BaseJSONSerializer.APPLICATION_AMZ_JSON.format(version=json_version)}, text


def clear() -> None:
    """Forget the structures seen."""
    _STRUCTURES.clear()
