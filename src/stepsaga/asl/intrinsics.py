"""The intrinsic functions of JSONPath states (``States.Format(...)`` and the others): the one home of their names.

https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html. Standard library only.
"""

from __future__ import annotations

import re

#: Every intrinsic function Step Functions provides, by name.
INTRINSICS = (
    "States.Format", "States.StringToJson", "States.JsonToString",
    "States.Array", "States.ArrayPartition", "States.ArrayContains", "States.ArrayRange", "States.ArrayGetItem",
    "States.ArrayLength", "States.ArrayUnique",
    "States.Base64Encode", "States.Base64Decode", "States.Hash", "States.JsonMerge",
    "States.MathRandom", "States.MathAdd", "States.StringSplit", "States.UUID",
)

_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'")  # a quoted string argument, escapes included
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\(")


def is_intrinsic_call(expression: str) -> bool:
    """Whether an expression is written as an intrinsic function call: ``States.Name(...)``."""
    return expression.startswith("States.") and expression.rstrip().endswith(")")


def unknown_functions(expression: str) -> list[str]:
    """The functions an intrinsic expression calls that Step Functions does not have, nested calls included.

    String arguments are skipped, so ``States.Format('Call States.Foo()', $.x)`` calls only States.Format.
    """
    code = _LITERAL.sub("''", expression)
    return [name for name in _CALL.findall(code) if name not in INTRINSICS]


def suggest(name: str) -> str:
    """The intrinsic function a misspelt name most likely means, for "did you mean" hints."""
    import difflib  # only on the error path

    match = difflib.get_close_matches(name, INTRINSICS, n=1, cutoff=0.5)
    return match[0] if match else "States.Format"
