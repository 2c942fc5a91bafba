"""Lambda's error texts: what the Python runtime and the Lambda service write when a function fails.

Step Functions hands these texts to a Catch as the ``Cause``, and the choreography's adapter writes the same
texts for the same failures, so an error reads the same in both modes. Standard library only: the adapter
runs it on Lambda, the local engine (``stepsaga.local._moto.lambda_invoke``) in-process.
"""

from __future__ import annotations

import decimal
import json
import re
import traceback
import uuid
from typing import Any


def runtime_json(value: Any) -> str:
    """JSON text as the AWS Python runtime (python3.12, stepsaga's LAMBDA_RUNTIME) writes a result or an error.

    awslambdaric's lambda_runtime_marshaller.to_json: simplejson with its default ", " and ": " separators,
    ensure_ascii=False on python3.12 and 3.13 (3.11 and older escape non-ASCII), and a Decimal written as its
    own text (``RawJSON(str(d))``: Decimal("1.50") is 1.50, Decimal("1E+2") is 1E+2), NaN as NaN. Raises
    TypeError ("Object of type X is not JSON serializable") like simplejson.
    """
    raws: list[str] = []
    token = uuid.uuid4().hex  # a placeholder no real string can collide with

    def default(obj: Any) -> Any:
        if isinstance(obj, decimal.Decimal):
            raws.append("NaN" if obj.is_nan() else str(obj))
            return f"{token}{len(raws) - 1}"
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    text = json.dumps(value, ensure_ascii=False, default=default)
    if raws:
        text = re.sub(f'"{token}(\\d+)"', lambda m: raws[int(m.group(1))], text)
    return text


def stack_trace(exc: BaseException, skip_dir: str | None = None) -> list[str]:
    """``traceback.format_list`` of an exception's frames, as the Python runtime reports them, without the
    frames under ``skip_dir`` (the runtime's own, like the Lambda bootstrap's)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not (skip_dir and f.filename.startswith(skip_dir))]
    return traceback.format_list(frames)


def function_error_payload(error_type: str, message: str, request_id: str, stack: list[str]) -> str:
    """What the Python runtime posts for an exception (awslambdaric bootstrap.make_error + to_json).

    These four keys in this order, ", " separators, non-ASCII as is; Step Functions uses the text as the Cause.
    """
    return runtime_json({"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack})


def platform_error_payload(error_type: str, message: str) -> str:
    """What Lambda itself writes when the runtime cannot answer (the process exited, the function timed out):
    compact, errorMessage then errorType, no requestId nor stackTrace (docs/local-runtime.md)."""
    return json.dumps({"errorMessage": message, "errorType": error_type}, separators=(",", ":"), ensure_ascii=False)


def timed_out_message(request_id: str, seconds: float) -> str:
    """The errorMessage of ``Sandbox.Timedout``: the function ran past its own timeout."""
    return f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds"


def exited_message(request_id: str, status: int | None) -> str:
    """The errorMessage of ``Runtime.ExitError``: the function's process exited (status unknown: None)."""
    if status is None:
        return f"RequestId: {request_id} Error: Runtime exited without providing a reason"
    return f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}"


def service_error_cause(code: str, message: str, status_code: int, request_id: str) -> str:
    """The Cause Step Functions writes for a Lambda service error ``Lambda.<code>``."""
    details = "; ".join(["Service: AWSLambda", f"Status Code: {status_code}", f"Error Code: {code}", f"Request ID: {request_id}", "Proxy: null"])
    return f"{message} ({details})"


#: Where each of the texts above carries Lambda's request id: the runtime's JSON, Lambda's own errorMessage,
#: a service error's Cause.
_REQUEST_ID_AT = (
    re.compile(r'"requestId": "([^"]+)"'),
    re.compile(r"RequestId: (\S+) Error: "),
    re.compile(r"; Request ID: ([^;]+); "),
)


def request_id_of(cause: str) -> str | None:
    """The Lambda request id in a Cause written by one of the functions above, or None (a Cause of another kind).

    Each invocation has a new one, so two Causes of the same failure differ only in it; the Step Functions
    Local mock configuration (``stepsaga.mock_config``) writes a fixed one instead.
    """
    for pattern in _REQUEST_ID_AT:
        found = pattern.search(cause)
        if found:
            return found.group(1)
    return None
