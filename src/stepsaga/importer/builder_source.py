"""Any ASL definition as Python for ``stepsaga.asl.builder``: one call per state, every field a keyword argument.

Each field keeps ASL's name in snake_case and its value as written; retriers, catchers, Parallel branches and
Map item processors become the builder's own classes, and payload templates, Choice rules and configuration
objects stay ASL dicts. The definition must lint clean first (every field is then one the builder takes).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stepsaga.asl.fields import KEYWORD, LANGUAGES, OBJECT_FIELDS, STATE_FIELDS
from stepsaga.importer.python_source import Call, source

#: The builder class of each nested object, by the field that holds it.
_NESTED = {"Retry": "Retrier", "Catch": "Catcher", "Branches": "Branch", "ItemProcessor": "ItemProcessor", "Iterator": "ItemProcessor"}
#: The variable the generated module binds the definition to.
VARIABLE = "state_machine"


def builder_source(doc: dict[str, Any], name: str, header: list[str]) -> str:
    """The whole module: ``header`` as comment lines, the import, then ``state_machine = StateMachine(...)``."""
    used: set[str] = {"StateMachine"}
    call = Call("StateMachine", kwargs=[("name", name), *_kwargs("StateMachine", doc, used)])
    lines = [f"# {line}".rstrip() for line in header]
    lines += ["", f"from stepsaga.asl.builder import {', '.join(sorted(used))}", "", ""]
    return "\n".join(lines) + f"{VARIABLE} = {source(call, 0, len(VARIABLE) + 3)}\n"


def _kwargs(kind: str, obj: dict[str, Any], used: set[str]) -> list[tuple[str, Any]]:
    table = STATE_FIELDS.get(kind) or OBJECT_FIELDS[kind]
    unknown = [f for f in obj if f not in LANGUAGES[kind] and not (f == "Type" and kind in STATE_FIELDS)]
    if unknown:  # the linter rejects these first; reaching here is a bug
        raise ValueError(f"{kind} has fields the builder does not take: {', '.join(unknown)}")
    out = []
    for field, _ in table:
        if field in obj:
            out.append((KEYWORD[field], _value(field, obj[field], used)))
    return out


def _value(field: str, value: Any, used: set[str]) -> Any:
    if field == "States" and isinstance(value, dict):
        return {name: _state(state, used) for name, state in value.items()}
    kind = _NESTED.get(field)
    if kind is None:
        return value
    if field in ("Retry", "Catch", "Branches"):
        return [_object(kind, item, used) for item in value] if isinstance(value, list) else value
    return _object(kind, value, used)


def _object(kind: str, obj: Any, used: set[str]) -> Any:
    if not isinstance(obj, dict):
        return obj
    used.add(kind)
    return Call(kind, kwargs=_kwargs(kind, obj, used))


def _state(state: Any, used: set[str]) -> Any:
    kind = state.get("Type") if isinstance(state, dict) else None
    if kind not in STATE_FIELDS:
        return state
    used.add(kind)
    return Call(kind, kwargs=_kwargs(kind, state, used))
