"""Evaluate a compiled state's payload template (``Parameters``, ``ResultSelector``) as Step Functions does.

Only the JSONPath-mode constructs the compiler emits are evaluated, and anything else fails loudly
(``EvaluationError``), so that a test built on this never passes by evaluating something else than AWS:

* a key ending in ``.$`` whose value is a reference path ``$``, ``$.a.b`` into the state's input, or
  ``$$.a.b`` into the context object (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html,
  https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html);
* ``States.Format('template {}', path, ...)`` with reference paths as arguments
  (https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html#asl-intrsc-func-generic);
* any other key: its value as written, nested objects evaluated the same way.

A path that selects nothing is an error, as it is on AWS (``States.Runtime``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from stepsaga.errors import EvaluationError

__all__ = ["EvaluationError", "evaluate", "select"]

_PATH = re.compile(r"\$\$?(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_FORMAT = re.compile(r"States\.Format\('((?:[^'\\]|\\.)*)'((?:\s*,\s*[^,()\s]+)*)\s*\)")


def select(path: str, data: Any, context: Any, field: str = "") -> Any:
    """The value a reference path selects: ``$...`` in ``data``, ``$$...`` in ``context``.

    Raises ``EvaluationError`` for anything but a plain dotted path, and for a path that selects
    nothing (AWS fails the execution with ``States.Runtime`` then).
    """
    if not _PATH.fullmatch(path):
        raise EvaluationError(f"{field or path}: {path!r} is not a reference path the compiler emits ($.a.b or $$.a.b)")
    value, names = (context, path[3:]) if path.startswith("$$") else (data, path[2:])
    for name in names.split(".") if names else ():
        if not isinstance(value, dict) or name not in value:
            raise EvaluationError(f"The JSONPath {path!r} specified for the field {field!r} could not be found in the input")
        value = value[name]
    return value


def _format(template: str, args: list[Any], expression: str) -> str:
    out, i, used = [], 0, 0
    while i < len(template):
        char = template[i]
        if char == "\\" and i + 1 < len(template):
            out.append(template[i + 1])
            i += 2
            continue
        if template.startswith("{}", i):
            if used == len(args):
                raise EvaluationError(f"{expression}: more {{}} than arguments")
            arg = args[used]
            out.append(arg if isinstance(arg, str) else json.dumps(arg))
            used += 1
            i += 2
            continue
        out.append(char)
        i += 1
    if used != len(args):
        raise EvaluationError(f"{expression}: more arguments than {{}}")
    return "".join(out)


def _expression(expression: str, data: Any, context: Any, field: str) -> Any:
    if expression.startswith("$"):
        return select(expression, data, context, field)
    match = _FORMAT.fullmatch(expression)
    if match is None:
        raise EvaluationError(f"{field}: {expression!r} is neither a reference path nor States.Format with path arguments")
    args = [select(a.strip(), data, context, field) for a in match.group(2).split(",")[1:]]
    for arg in args:
        if isinstance(arg, (dict, list)):
            raise EvaluationError(f"{field}: States.Format takes strings, numbers, booleans and null, not {type(arg).__name__}")
    return _format(match.group(1), args, expression)


def evaluate(template: Any, data: Any, context: Any) -> Any:
    """The JSON a payload template produces for state input ``data`` and context object ``context``.

    Raises ``EvaluationError`` for a construct outside the ones listed in this module's docstring.
    """
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise EvaluationError(f"{key}: a .$ field takes a path or an intrinsic function, not {type(value).__name__}")
                out[key[:-2]] = _expression(value, data, context, key)
            else:
                out[key] = evaluate(value, data, context)
        return out
    if isinstance(template, list):
        if any(isinstance(item, (dict, list)) for item in template):
            raise EvaluationError("an array holding objects or arrays in a payload template: the compiler never emits one")
        return list(template)
    return template
