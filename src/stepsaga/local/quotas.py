"""What Step Functions checks before and while it runs an execution: StartExecution's rules, payload size.

Standard library only. The local runtime applies these on both engines so that a local run is never
stricter nor looser than AWS:

* StartExecution's ``name`` (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html):
  1 to 80 characters, none of white space, ``< > { } [ ]``, ``? *``, ``" # % \\ ^ | ~ ` $ & , ; : /``,
  control characters (U+0000-001F, U+007F-009F, U+FFFE-FFFF), surrogates (U+D800-DFFF) or U+10FFFF.
  A bad character is ``InvalidName``; a bad length is a ``ValidationException`` (the service's shape check).
* StartExecution's ``input``: at most 262,144 bytes of UTF-8 (same page, "Length constraints apply to the
  payload size, and are expressed as bytes in UTF-8 encoding"), and JSON (``InvalidExecutionInput``).
* Every state's input and output and every task result: at most 256 KiB "of data as a UTF-8 encoded
  string" (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), measured on the
  JSON the service handles, which is compact (no spaces after ``,`` and ``:``) with non-ASCII text as is.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Final

from stepsaga.asl.limits import MAX_NAME_LENGTH, MAX_PAYLOAD_BYTES
from stepsaga.errors import StartExecutionError

# "A name must not contain: white space, brackets, wildcard characters, special characters" (API_StartExecution)
_FORBIDDEN: Final = frozenset('<>{}[]?*"#%\\^|~`$&,;:/')


def _forbidden(ch: str) -> bool:
    code = ord(ch)
    return (
        ch in _FORBIDDEN
        or ch.isspace()
        or code <= 0x1F
        or 0x7F <= code <= 0x9F
        or 0xD800 <= code <= 0xDFFF
        or code in (0xFFFE, 0xFFFF, 0x10FFFF)
    )


def _json_default(value: Any) -> Any:
    # the interpreter's own encoder (moto asl/utils/encoding.py): context-object datetimes as ISO text
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def input_text(value: Any) -> str:
    """The StartExecution input for a Python value, as a JSON client sends it (compact, UTF-8 as is).

    Raises StartExecutionError (InvalidExecutionInput) for what is not JSON: NaN, infinities, sets, objects.
    """
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StartExecutionError("InvalidExecutionInput", f"the input is not JSON: {exc}") from None


def payload_text(value: Any) -> str:
    """The JSON text whose UTF-8 bytes Step Functions counts: compact separators, non-ASCII unescaped."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def payload_bytes(value: Any) -> int:
    """Size in bytes of ``value`` as Step Functions measures a state's input, output or task result."""
    return len(payload_text(value).encode("utf-8", "surrogatepass"))


def within_payload_quota(value: Any) -> bool:
    """Whether ``value`` fits the 256 KiB quota (262,144 bytes pass, 262,145 fail)."""
    return payload_bytes(value) <= MAX_PAYLOAD_BYTES


def name_problem(name: str) -> tuple[str, str] | None:
    """(AWS error code, message) if StartExecution would reject ``name``, else None."""
    if not isinstance(name, str):
        return "ValidationException", f"the execution name must be a string, not {type(name).__name__}"
    if len(name) < 1:
        return (
            "ValidationException",
            "1 validation error detected: Value '' at 'name' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1",
        )
    if len(name) > MAX_NAME_LENGTH:
        return (
            "ValidationException",
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_NAME_LENGTH}",
        )
    if any(_forbidden(ch) for ch in name):
        return "InvalidName", f"Invalid Name: '{name}'"
    return None


def check_start_execution(name: str, input_text: str) -> None:
    """Raise StartExecutionError if AWS would reject StartExecution(name=name, input=input_text).

    ``input_text`` is the input string exactly as sent. Checked in AWS's order: the request's shape
    (name length, input size), then the name's characters, then the input's JSON.
    """
    problem = name_problem(name)
    size = len(input_text.encode("utf-8", "surrogatepass"))
    if size > MAX_PAYLOAD_BYTES:
        raise StartExecutionError(
            "ValidationException",
            "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length "
            f"less than or equal to {MAX_PAYLOAD_BYTES} (the input is {size} bytes of UTF-8; store large data "
            "elsewhere, for example in S3, and pass a reference)",
        )
    if problem is not None:
        code, message = problem
        hint = "" if code == "ValidationException" else (
            "; a name is 1 to 80 characters without white space, < > { } [ ] ? * \" # % \\ ^ | ~ ` $ & , ; : / "
            "or control characters; write for example order-1"
        )
        raise StartExecutionError(code, message + hint)
    try:
        json.loads(input_text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise StartExecutionError("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'") from None
