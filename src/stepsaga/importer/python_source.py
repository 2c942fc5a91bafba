"""Python source text for calls and JSON values, laid out the way a person writes them, deterministically.

A value that fits on its line (``WIDTH`` columns, its indent included) is written on one line; otherwise a
call puts one argument per line and a dict or list one item per line, each indented four spaces more, with
a trailing comma. JSON becomes Python literals: ``true`` is ``True``, ``null`` is ``None``, strings are
written in double quotes with JSON's escapes (which Python reads the same way).
"""

from __future__ import annotations

import json
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

#: The longest line the writer aims for, in characters.
WIDTH = 110


class Call:
    """A call to write: ``name(*args, **kwargs)``, arguments in the order given."""

    __slots__ = ("name", "args", "kwargs")

    def __init__(self, name: str, args: Sequence[Any] = (), kwargs: Sequence[tuple[str, Any]] = ()) -> None:
        self.name, self.args, self.kwargs = name, tuple(args), tuple(kwargs)


def source(value: Any, indent: int = 0, lead: int = 0) -> str:
    """``value`` (a Call, or JSON with Calls inside) as Python source starting ``indent`` spaces in, after ``lead``
    characters already on the line (``name = ``); continuation lines are indented from ``indent``."""
    flat = _flat(value)
    if indent + lead + len(flat) <= WIDTH:
        return flat
    pad, inner = " " * indent, " " * (indent + 4)
    if isinstance(value, str):
        chunks = _chunks(value, WIDTH - indent - 4)
        return flat if len(chunks) < 2 else "(\n" + "".join(f"{inner}{c}\n" for c in chunks) + pad + ")"
    if not _breakable(value):
        return flat
    if isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list, tuple, Call)) for v in value):
        return "[\n" + "".join(f"{inner}{line}\n" for line in _fill([_flat(v) + "," for v in value], WIDTH - indent - 4)) + pad + "]"
    if isinstance(value, Call):
        parts = [source(a, indent + 4) for a in value.args]
        parts += [f"{k}={source(v, indent + 4, len(k) + 1)}" for k, v in value.kwargs]
        return f"{value.name}(\n" + "".join(f"{inner}{p},\n" for p in parts) + f"{pad})"
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            key = _string(k)
            items.append(f"{inner}{key}: {source(v, indent + 4, len(key) + 2)},\n")
        return "{\n" + "".join(items) + pad + "}"
    return "[\n" + "".join(f"{inner}{source(v, indent + 4)},\n" for v in value) + pad + "]"


def _chunks(text: str, width: int) -> list[str]:
    """A long string as string literals that each fit ``width``, split after spaces; their concatenation is ``text``."""
    out, current = [], ""
    for word in re.split(r"(?<= )", text):
        if current and len(_string(current + word)) > width:
            out.append(_string(current))
            current = ""
        current += word
    if current:
        out.append(_string(current))
    return out


def _fill(items: list[str], width: int) -> list[str]:
    """Items joined by spaces into lines of at most ``width`` characters (an item longer than that alone)."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 1 + len(item) <= width:
            lines[-1] += " " + item
        else:
            lines.append(item)
    return lines


def _breakable(value: Any) -> bool:
    return (isinstance(value, Call) and bool(value.args or value.kwargs)) or (isinstance(value, (dict, list, tuple)) and bool(value))


def _flat(value: Any) -> str:
    if isinstance(value, Call):
        parts = [_flat(a) for a in value.args] + [f"{k}={_flat(v)}" for k, v in value.kwargs]
        return f"{value.name}({', '.join(parts)})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate cannot be written to a UTF-8 file as is
        out = json.dumps(text)
    return out
