"""When two ASL definitions are the same definition: semantic equality, and where two differ.

Two definitions are **semantically equal** when they are equal as parsed JSON, key order and whitespace
aside, value for value:

* objects have the same keys, and equal values under each key, whatever the order of the keys (so the same
  states, by name, each with the same fields);
* arrays have equal items in the same order (``Choices``, ``Retry``, ``Catch``, ``Branches``, ``ErrorEquals``
  are ordered in ASL);
* numbers are equal by value (``2`` and ``2.0`` are one JSON number), but ``true``/``false`` are not numbers;
* strings are equal character for character, ``null`` only to ``null``.

Nothing else is normalised: a field ASL defaults (``"MaxAttempts": 3``) is not equal to the field left out,
because the documents differ. ``stepsaga import`` promises this equality between a file and the compiled
output of the Python it writes, and checks it before writing anything. Standard library only.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def semantically_equal(a: Any, b: Any) -> bool:
    """Whether two parsed JSON values are the same by the rules above."""
    return not differences(a, b, limit=1)


def differences(a: Any, b: Any, limit: int = 20, path: str = "$") -> list[str]:
    """Where ``b`` differs from ``a``, as JSONPath-like locations with what each side has; at most ``limit`` of them.

    For example ``["$.States.Pay.TimeoutSeconds: 60 here, 30 there", "$.States.Undo: missing here"]``.
    """
    out: list[str] = []
    _walk(a, b, path, out, limit)
    return out


def _kind(value: Any) -> type:
    """The JSON type of a value, as the Python type that holds it: booleans apart from numbers, ints with floats."""
    if isinstance(value, bool):
        return bool
    if isinstance(value, (int, float)):
        return float
    if isinstance(value, (dict, list, tuple, str)) or value is None:
        return list if isinstance(value, tuple) else type(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _show(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _walk(a: Any, b: Any, path: str, out: list[str], limit: int) -> None:
    if len(out) >= limit:
        return
    ka, kb = _kind(a), _kind(b)
    if ka != kb:
        out.append(f"{path}: {_show(a)} here, {_show(b)} there")
    elif ka is dict:
        for key in a:
            where = f"{path}.{key}" if key.isidentifier() else f"{path}[{_show(key)}]"
            if key not in b:
                out.append(f"{where}: missing there")
            else:
                _walk(a[key], b[key], where, out, limit)
            if len(out) >= limit:
                return
        for key in b:
            if key not in a:
                out.append((f"{path}.{key}" if key.isidentifier() else f"{path}[{_show(key)}]") + ": missing here")
                if len(out) >= limit:
                    return
    elif ka is list:
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items here, {len(b)} there")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            _walk(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"{path}: {_show(a)} here, {_show(b)} there")
