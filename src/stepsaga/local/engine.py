"""The contract between the local runtime and its engine: what a Lambda task asks, and what a run returns.

Imports nothing of moto or boto3, so a dispatcher (``stepsaga.local.dispatch``) and anything that only
declares or routes invokes stay light. The engine (``stepsaga.local._moto``, private) calls a
``Dispatcher`` with an ``Invocation`` and a ``LambdaContext`` for every Lambda task attempt, and returns an
``ExecutionOutcome`` per run.

The exceptions below are signals a dispatcher raises *into* the engine to model what Lambda or Step
Functions would report (a Task timeout, a Lambda service error, a function error, the function's own
timeout, the runtime exiting). They are the engine's vocabulary, not errors stepsaga raises to its caller,
so they do not derive from ``StepsagaError`` and do not live in ``stepsaga.errors`` (see its docstring).
How each one shows in the execution: ``stepsaga.local._moto.lambda_invoke`` and docs/local-runtime.md.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol


@dataclass(slots=True)
class Invocation:
    """What a Lambda task asks for."""

    function_name: str  # from FunctionName: name | name:qualifier | full or partial ARN
    payload: Any  # the JSON-decoded Payload
    state_name: str  # $$.State.Name of the Task
    timeout_seconds: int | None  # the Task's TimeoutSeconds (None if not set; always None under lambda_only)
    qualifier: str | None = None  # version or alias from FunctionName, if any


class TaskTimedOut(Exception):
    """Raise from a dispatcher to make the Task fail with States.Timeout (TaskTimedOut event)."""


class LambdaServiceError(Exception):
    """Raise from a dispatcher to simulate a Lambda *service* error: the Task's Error becomes "Lambda.<code>"."""

    _STATUS: Final = {
        "ServiceException": 500, "AWSLambdaException": 500, "SdkClientException": 500, "EC2ThrottledException": 502,
        "ENILimitReachedException": 502, "TooManyRequestsException": 429, "ResourceNotFoundException": 404,
        "ResourceConflictException": 409, "InvalidParameterValueException": 400, "RequestTooLargeException": 413,
    }

    def __init__(self, code: str, message: str = "", status_code: int | None = None) -> None:
        self.code = code
        self.message = message or code
        self.status_code = status_code or self._STATUS.get(code, 500)
        super().__init__(code, self.message)


class FunctionError(Exception):
    """Raise from a dispatcher to simulate a function error with an explicit errorType (e.g. "Custom.Error")."""

    def __init__(self, error_type: str, message: str = "", stack_trace: list[str] | None = None) -> None:
        self.error_type = error_type
        self.message = message
        self.stack_trace = list(stack_trace or [])
        super().__init__(error_type, message)


class FunctionTimedOut(Exception):
    """Raise from a dispatcher: the function's own timeout fired (``Sandbox.Timedout``, a function error).

    ``seconds`` is the function's timeout (default: the context's, the Task's TimeoutSeconds capped at 900);
    the virtual clock advances by it. Unlike TaskTimedOut, this is what Lambda reports when the function's
    Timeout is shorter than the Task's, as stepsaga's template makes it.
    """

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = seconds
        super().__init__(seconds)


class RuntimeExited(Exception):
    """Raise from a dispatcher: the function's process exited (``Runtime.ExitError``, no stack trace)."""

    def __init__(self, status: int = 1) -> None:
        self.status = status
        super().__init__(status)


class VirtualClock:
    """The virtual time of one run: every Retry, Wait and simulated task timeout advances it."""

    __slots__ = ("now", "waits")

    def __init__(self) -> None:
        self.now: float = 0.0  # seconds of virtual time elapsed since the start
        # (state name, "retry" | "wait" | "timeout" (the Task's) | "function_timeout" (the Lambda's), seconds)
        self.waits: list[tuple[str | None, str, float]] = []

    def advance(self, seconds: float, kind: str, state: str | None) -> None:
        """Record a delay of ``seconds`` of kind "retry", "wait", "timeout" or "function_timeout" spent in ``state``."""
        self.now += seconds
        self.waits.append((state, kind, seconds))

    def __repr__(self) -> str:
        return f"VirtualClock(now={self.now!r}, waits={self.waits!r})"


MAX_FUNCTION_TIMEOUT_S: Final = 900  # Lambda's maximum; the function's own timeout is not known here


def new_log_stream(version: str) -> str:
    """A Lambda log stream name for ``version``: ``YYYY/MM/DD/[version]<32 hex>``, as CloudWatch shows it."""
    return f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{version}]{uuid.uuid4().hex}"


class LambdaContext:
    """A realistic Lambda context object (the attributes aws-lambda-powertools and handlers read)."""

    def __init__(
        self,
        function_name: str,
        invoked_function_arn: str,
        aws_request_id: str,
        function_version: str = "$LATEST",
        memory_limit_in_mb: int = 128,
        timeout_seconds: float = MAX_FUNCTION_TIMEOUT_S,
        log_stream_name: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_name or new_log_stream(function_version)
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._timeout_seconds = timeout_seconds
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before this invocation's timeout (wall time)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r})"


#: What the engine calls for every Lambda task attempt; its return value is the function's result.
Dispatcher = Callable[[Invocation, LambdaContext], Any]


class ExecutionOutcome(Protocol):
    """One finished execution as Step Functions' API reports it; what ``stepsaga.local.result`` reads.

    The inline engine's ``RawExecution`` and the stock engine's ``StockExecution`` (``stepsaga.local.cloud``)
    both have this shape.
    """

    arn: str
    name: str
    status: str  # SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    output: str | None  # compact JSON text, as DescribeExecution gives it; None unless SUCCEEDED
    error: str | None  # States.Timeout for a timed-out execution
    cause: str | None
    clock: VirtualClock

    @property
    def history(self) -> list[dict[str, Any]]:
        """The events as boto3 ``get_execution_history(...)["events"]`` returns them, in order."""
        ...
