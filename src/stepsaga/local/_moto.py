"""The moto-facing engine of the local runtime: run ASL on moto's own Step Functions interpreter.

This is the only stepsaga module that imports moto internals; they are pinned to moto ``MOTO_VERSION``.
Paths in comments are relative to ``moto/stepfunctions/parser/`` (``asl/`` = ``parser/asl/``) of moto 5.2.5.

How it works
------------
``run_inline`` drives one execution of a state machine created beforehand (boto3 ``create_state_machine``
inside ``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})``) synchronously in the calling
thread, on the unchanged interpreter (``asl/``), and registers it with the state machine so that boto3
``describe_execution``/``get_execution_history`` see it. ``install()`` applies a fixed set of patches once;
each patched function checks the ``ContextVar`` holding the active run and delegates to the original when
no ``run_inline`` is active in the current context, so moto behaves stock for everything else in the process
(users' own moto tests, stock executions started through boto3). ``lambda_only(dispatcher)`` is the one
exception: while it is active, Lambda invokes of *stock* executions (which run in moto's own threads) also
go to the dispatcher, and nothing else changes.

During an inline run:

* The execution, its states and every Task attempt run in the calling thread (stock: 2 threads per
  execution plus one per attempt). Parallel branches and Map iterations keep moto's worker threads; the
  active run is propagated into them.
* Lambda tasks (``arn:aws:states:::lambda:invoke`` and legacy function-ARN resources) call the dispatcher
  in-process; see ``run_inline`` for how results and exceptions map to what Step Functions reports.
* Retry intervals and Wait states cost no wall time: the delay moto computed is recorded on the run's
  ``VirtualClock``.
* Speed, with identical results: the ASL is parsed once per definition text (stock: once per execution);
  jsonpath_ng parses are memoised and plain field paths (``$.a.b``) are looked up directly, or for a
  ResultPath set directly (stock walks the whole document after each update); the interpreter's
  ``copy.deepcopy`` of JSON data is a marshal round trip, and copies nobody could tell apart from the
  original are skipped (a state's input read for its history events and size check, a Task frame's input,
  the value OutputPath just sampled); a state's output is JSON-encoded once for its StateExited event, the
  next StateEntered and the size check (stock: three encodings), a Task's output once for its size check
  and TaskSucceeded event; boto3 clients of service integrations are cached per (region, service);
  execution names are checked against an index instead of a scan of all executions; moto's never-emptied
  ``TMP_THREADS`` list is pruned after each run; history timestamps are converted once per second.
* A run's cost does not grow with the runs before it: moto's model-instance tracking for its dashboard
  (``BaseModel.__new__``, moto/core/common_models.py:8-15) is skipped, and DynamoDB ``TransactWriteItems``
  saves only the items it targets instead of deep-copying every table it touches
  (moto/dynamodb/models/__init__.py:604-716), with the same rollback. Both also apply under ``lambda_only``.
* moto's ERROR log line for every expected ``FailureEventException`` (each Fail state, each caught or
  uncaught task error) is not emitted. Other interpreter errors still log.

Fidelity
--------
Deviations from stock moto during ``run_inline`` (stock moto is unchanged outside it):

* ``States.ALL`` in ``Retry``/``Catch`` does not match ``States.Runtime`` or ``States.DataLimitExceeded``, as
  on AWS ("States.ALL doesn't catch the States.DataLimitExceeded terminal error type and runtime error
  types"). Stock moto matches everything (``asl/component/common/error_name/error_equals_decl.py:53``), so a
  missing ``$.path`` in Parameters is caught or retried and the execution can even succeed. Inline, it
  fails the execution with ``States.Runtime``. An explicit ``"States.Runtime"`` in ErrorEquals still matches.
* A Fail state whose ``Error``/``ErrorPath`` is a ``States.*`` name (e.g. re-raising a caught
  ``States.Timeout``) fails the execution with that error. Stock moto raises ``ValueError`` in
  ``CustomErrorName`` (``asl/component/state/fail/state_fail.py:45``) and fails with ``States.Runtime``.
* Retry and Wait delays are virtual: ``RawExecution.clock.waits`` holds what moto computed (IntervalSeconds x
  BackoffRate^n, capped by MaxDelaySeconds, FULL jitter drawn by moto), and no time passes. History
  timestamps and ``$$.State.EnteredTime`` stay wall-clock, so they do not show the waits.
* Task ``TimeoutSeconds`` is not enforced in wall time (stock waits for it in a thread,
  ``asl/component/state/exec/execute_state.py:203``); a dispatcher raises ``TaskTimedOut`` to simulate it,
  which advances the virtual clock by TimeoutSeconds (99999999 when not set, like AWS's default);
  ``FunctionTimedOut`` simulates the function's own timeout (``Sandbox.Timedout``, a function error).
* Execution limits are applied on the virtual clock (stock: a wall-time join, ``asl/component/program/program.py:84``):
  the state machine's ``TimeoutSeconds`` and, for Express, 300 s. The delay that reaches the limit is cut there
  and the execution ends TIMED_OUT with an ExecutionTimedOut event; ``RawExecution.error`` is States.Timeout.
* Express executions get the ``express:<sm>:<name>:<uuid>`` ARN and may reuse a name (stock moto: the
  Standard ARN and ExecutionAlreadyExists).
* The 256 KiB quota is measured on the UTF-8 bytes of the compact JSON, 262,144 bytes passing, as on AWS
  (stock ``parser/quotas.py:10-14``: ", " separators, ASCII escapes, ``<``); also under ``lambda_only``.
* Function errors are the Python runtime's text (", " separators, non-ASCII as is), Runtime.ExitError and
  Sandbox.Timedout Lambda's own compact one (stock: compact JSON of the parsed payload).
* ``.waitForTaskToken`` and ``.sync`` keep moto's wall-time waits:
  a callback works inline only if the token is sent during the dispatch (the handler calls
  SendTaskSuccess/Failure), otherwise the task waits TimeoutSeconds for real.
* A successful Lambda task returns the full ``lambda:invoke`` response (ExecutedVersion, Payload,
  SdkHttpMetadata, SdkResponseMetadata, StatusCode) as AWS does; stock moto drops the two ``Sdk*`` members
  (``asl/component/state/exec/state_task/lambda_eval_utils.py:107``). The same applies under ``lambda_only``.
* The virtual clock is one timeline per execution: waits in concurrent Parallel branches or Map iterations
  add up instead of overlapping.
* Unchanged moto behaviour worth knowing: legacy function-ARN Lambda resources report a Lambda service
  error as ``Error: "Exception"`` (``asl/component/state/exec/state_task/state_task_lambda.py:65-68``),
  while ``lambda:invoke`` reports ``Lambda.<Code>``; ``TaskScheduled.parameters`` is JSON with ``", "``
  separators (AWS is compact); ``$$.State.RetryCount`` is only set in Task/Parallel/Map states; boto3
  ``describe_execution`` returns the output re-serialised with ``", "`` separators
  (``moto/stepfunctions/responses.py:340``), while ``RawExecution.output`` and the ExecutionSucceeded event
  are compact, as on AWS.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy as _stdlib_copy
import datetime
import decimal
import email.utils
import functools
import importlib.metadata
import json
import marshal
import os
import re
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from types import ModuleType
from typing import Any, Final, cast

from stepsaga.asl.limits import ASL_MAX_INT, EXPRESS_MAX_SECONDS, MAX_PAYLOAD_BYTES
from stepsaga.errors import StepsagaError
from stepsaga.local.quotas import within_payload_quota

MOTO_VERSION: Final = "5.2.5"

try:  # moto internals; a different moto may not have them, which check_version() reports clearly
    from botocore.exceptions import ClientError
    from dateutil.tz import tzlocal
    from jsonpath_ng import jsonpath as _jsonpath_ng
    from moto.core.models import botocore_stubber
    from moto.stepfunctions.exceptions import ExecutionAlreadyExists
    from moto.stepfunctions.parser import models as _parser_models
    from moto.stepfunctions.parser import utils as _parser_utils
    from moto.stepfunctions.parser.api import (
        ExecutionStatus,
        ExecutionTimedOutEventDetails,
        HistoryEventExecutionDataDetails,
        HistoryEventType,
        StateEnteredEventDetails,
        StateExitedEventDetails,
        TaskFailedEventDetails,
        TaskSucceededEventDetails,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl as _error_equals_mod
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.common.path import result_path as _result_path_mod
    from moto.stepfunctions.parser.asl.component.common.path.output_path import OutputPath
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl as _retrier_mod
    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsOutcome
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import RetrierOutcome
    from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
        StringContextPath,
        StringJsonPath,
    )
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError, TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        inline_iteration_component as _inline_iteration_mod,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branch_worker as _branch_worker_mod
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
    from moto.stepfunctions.parser.asl.component.state.fail.state_fail import StateFail
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval import program_state as _program_state_mod
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning
    from moto.stepfunctions.parser.asl.eval.states import StateData, States
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import boto_client as _boto_client_mod
    from moto.stepfunctions.parser.asl.utils import json_path as _json_path_mod
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
    from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    from moto.core.common_models import BaseModel
    from moto.dynamodb import models as _dynamodb_models_mod
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table as DynamoTable
except ImportError as _exc:  # pragma: no cover - only with the wrong moto
    _IMPORT_ERROR: ImportError | None = _exc
else:
    _IMPORT_ERROR = None


# =====================================================================================================
# Version pin
# =====================================================================================================
class MotoVersionError(StepsagaError):
    """The installed moto is not the exact version whose internals stepsaga's local runtime patches."""


def check_version() -> None:
    """Raise MotoVersionError unless the installed moto is exactly MOTO_VERSION."""
    try:
        installed = importlib.metadata.version("moto")
    except importlib.metadata.PackageNotFoundError:
        raise MotoVersionError(
            f"moto is not installed; the local runtime needs moto=={MOTO_VERSION}: pip install 'stepsaga[local]'"
        ) from None
    if installed != MOTO_VERSION:
        raise MotoVersionError(
            f"the local runtime runs on moto's Step Functions interpreter and needs moto=={MOTO_VERSION} exactly, "
            f"but moto {installed} is installed; pip install 'moto[dynamodb,sqs,stepfunctions]=={MOTO_VERSION}'"
        )
    if _IMPORT_ERROR is not None:  # pragma: no cover - right version number, broken install
        raise MotoVersionError(f"moto {installed} is installed but its internals failed to import: {_IMPORT_ERROR}")


# =====================================================================================================
# Public data types
# =====================================================================================================
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


_DEFAULT_FUNCTION_TIMEOUT_S: Final = 900  # Lambda's maximum; the function's own timeout is not known here


def _new_log_stream(version: str) -> str:
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
        timeout_seconds: float = _DEFAULT_FUNCTION_TIMEOUT_S,
        log_stream_name: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_name or _new_log_stream(function_version)
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


Dispatcher = Callable[[Invocation, LambdaContext], Any]


class RawExecution:
    """The outcome of one ``run_inline`` execution, as Step Functions' API would report it."""

    __slots__ = ("arn", "name", "status", "output", "error", "cause", "clock", "_execution", "_history")

    def __init__(self, execution: Execution, clock: VirtualClock) -> None:
        self.arn: str = execution.exec_arn
        self.name: str = execution.name
        status = execution.exec_status
        self.status: str = status.value if status is not None else "RUNNING"  # SUCCEEDED|FAILED|TIMED_OUT|ABORTED
        # compact JSON text, as AWS's DescribeExecution and the ExecutionSucceeded event give it
        # (parser/backend/execution.py:186; moto's describe_execution response uses ", " separators instead,
        # moto/stepfunctions/responses.py:340)
        self.output: str | None = _output_json(execution) if self.status == "SUCCEEDED" else None
        # a timed-out execution has no error in DescribeExecution; its error name is States.Timeout
        self.error: str | None = "States.Timeout" if self.status == "TIMED_OUT" else execution.error
        self.cause: str | None = execution.cause
        self.clock = clock
        self._execution = execution
        self._history: list[dict[str, Any]] | None = None

    @property
    def history(self) -> list[dict[str, Any]]:
        """The events exactly as boto3 ``get_execution_history(...)["events"]`` returns them, in order."""
        if self._history is None:
            self._history = _history_as_boto3(self._execution)
        return self._history

    def __repr__(self) -> str:
        return f"RawExecution(name={self.name!r}, status={self.status!r}, error={self.error!r})"


def _output_json(execution: Execution) -> str:
    # execution.output is a copy of the state input the program ended with (backend/execution.py:76), and the
    # ExecutionSucceeded event, the last one, holds that same input as compact JSON (program.py:148-160).
    worker = execution.exec_worker
    events = worker.env.event_manager._history_event_list if worker is not None and worker.env is not None else []
    last = events[-1] if events else None
    if last is not None and last["type"] == HistoryEventType.ExecutionSucceeded:
        return cast(str, last["executionSucceededEventDetails"]["output"])
    return to_json_str(execution.output, separators=_COMPACT)


# =====================================================================================================
# The active run
# =====================================================================================================
@dataclass(slots=True)
class _Run:
    dispatcher: Dispatcher
    clock: VirtualClock = field(default_factory=VirtualClock)
    lock: threading.Lock = field(default_factory=threading.Lock)  # Parallel/Map threads share the clock
    deadline: float | None = None  # virtual seconds the execution may run (TimeoutSeconds, Express's 300)
    thread: int = 0  # the run_inline thread, the one that may end the execution
    timed_out: bool = False


class _ExecutionTimedOut(BaseException):
    """The virtual clock reached the execution's limit. A BaseException: no state's ``except Exception`` may
    catch it (States.ALL does not catch an execution timeout); _program_eval ends the execution with it."""


# Set by run_inline for the duration of one execution; every patch is inert while it is None.
_ACTIVE: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("stepsaga_moto_run", default=None)

# lambda_only(): stock executions run in moto's threads, where the ContextVar is not set.
_LAMBDA_ONLY: list[Dispatcher] = []
_LAMBDA_ONLY_LOCK = threading.Lock()

# Frame attribute carrying a Task's TimeoutSeconds from _evaluate_inline to the Lambda hook.
_TIMEOUT_ATTR: Final = "_stepsaga_task_timeout"
_DEFAULT_TASK_TIMEOUT_S: Final = ASL_MAX_INT  # AWS's and moto's default Task TimeoutSeconds


def _state_name(env: Environment) -> str | None:
    state = env.states.context_object.context_object_data.get("State")
    return state.get("Name") if state else None


def _advance(env: Environment, seconds: float, kind: str) -> None:
    # Records a delay; a delay that reaches the execution's limit is cut there and ends the execution. Only the
    # run's own thread raises: a Parallel branch or Map iteration marks the run, and the next state entered in
    # the run's thread (_check_deadline) ends it.
    run = _ACTIVE.get()
    if run is None:
        return
    with run.lock:
        if run.timed_out:
            seconds = 0.0
        elif run.deadline is not None and run.clock.now + seconds >= run.deadline:
            seconds = max(run.deadline - run.clock.now, 0.0)
            run.timed_out = True
        run.clock.advance(seconds, kind, _state_name(env))
    _check_deadline(run)


def _check_deadline(run: _Run | None) -> None:
    if run is not None and run.timed_out and threading.get_ident() == run.thread:
        raise _ExecutionTimedOut()


# =====================================================================================================
# Fast JSON-only copy for the interpreter's copy.deepcopy
# =====================================================================================================
# The interpreter deep-copies state data at every step (asl/eval/states.py:95,107,121,130,
# asl/component/common/string/string_expression.py:80,120, ...). That data is JSON: dict, list, str, int,
# float, bool, None (and datetimes in the context object). marshal round-trips exactly those types, exactly
# (it rejects subclasses and everything else with ValueError) and keeps shared sub-objects shared, like
# deepcopy's memo, at C speed; what it rejects is copied structurally, and non-JSON values go to deepcopy.
_ATOMIC: Final = frozenset({str, int, float, bool, type(None), datetime.datetime})

# Environment.program_state() deep-copies a ProgramState (asl/eval/environment.py:197) at every state; their
# attributes are strings, datetimes and (ProgramError) a dict of strings (asl/eval/program_state.py).
_PROGRAM_STATES: frozenset[type] = frozenset()


def _json_copy(value: Any) -> Any:
    cls = type(value)
    if cls in _ATOMIC:
        return value
    if cls is dict or cls is list:
        try:
            return marshal.loads(marshal.dumps(value))
        except ValueError:  # a datetime or a non-JSON object inside
            return _structural_copy(value)
    if cls in _PROGRAM_STATES:
        clone = object.__new__(cls)
        clone.__dict__.update(_structural_copy(value.__dict__))
        return clone
    return _stdlib_copy.deepcopy(value)


def _structural_copy(value: Any) -> Any:
    cls = type(value)
    if cls is dict:
        return {k: v if type(v) in _ATOMIC else _structural_copy(v) for k, v in value.items()}
    if cls is list:
        return [v if type(v) in _ATOMIC else _structural_copy(v) for v in value]
    return _json_copy(value)


class _CopyModule:
    """Stands in for the ``copy`` module inside interpreter modules: ``deepcopy`` is JSON-fast during runs."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if memo is None and _ACTIVE.get() is not None:
            return _json_copy(value)
        return _stdlib_copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(_stdlib_copy, name)


# =====================================================================================================
# Lambda dispatch
# =====================================================================================================
_LOCAL_DIR: Final = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _parse_function_name(function_name: str) -> tuple[str, str | None]:
    # "name", "name:qualifier", "123456789012:function:name[:q]", "arn:aws:lambda:r:a:function:name[:q]"
    if ":function:" in function_name:
        function_name = function_name.split(":function:", 1)[1]
    name, _, qualifier = function_name.partition(":")
    return name, qualifier or None


def _runtime_json(value: Any) -> str:
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


def _stack_trace(exc: BaseException) -> list[str]:
    # Like the AWS Python runtime: traceback.format_list of the handler's frames; the local runtime's own
    # frames (this package) are left out, as the Lambda bootstrap's are.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_LOCAL_DIR)]
    return traceback.format_list(frames)


def _function_error(error_type: str, message: str, request_id: str, stack: list[str]) -> Exception:
    # What the Python runtime posts for an exception (awslambdaric bootstrap.make_error + to_json): these four
    # keys in this order, ", " separators, non-ASCII as is. Lambda returns it as the invoke's Payload and Step
    # Functions uses that text as the Cause. moto's own error path raises the same exception
    # (lambda_eval_utils.py:101-105); the states' _from_error turn it into Error=errorType, Cause=payload
    # (state_task_service_lambda.py:72-101).
    payload = {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}
    return lambda_eval_utils.LambdaFunctionErrorException("Unhandled", _runtime_json(payload))


def _platform_error(error_type: str, message: str) -> Exception:
    # What Lambda itself writes when the runtime cannot answer (the process exited, the function timed out):
    # compact, errorMessage then errorType, no requestId nor stackTrace (observed payloads; docs/local-runtime.md)
    payload = {"errorMessage": message, "errorType": error_type}
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return lambda_eval_utils.LambdaFunctionErrorException("Unhandled", text)


def _service_error(exc: LambdaServiceError, request_id: str) -> ClientError:
    # Same ClientError shape botocore raises; StateTaskServiceLambda._error_cause_from_client_error
    # (state_task_service_lambda.py:56-70) turns it into Error "Lambda.<code>" with the AWS-style Cause.
    return ClientError(
        {
            "Error": {"Code": exc.code, "Message": exc.message},
            "ResponseMetadata": {"HTTPStatusCode": exc.status_code, "RequestId": request_id},
        },
        "Invoke",
    )


def _invoke_response(payload: Any, payload_text: str, request_id: str, version: str) -> dict[str, Any]:
    # The full lambda:invoke result as Step Functions returns it on AWS.
    length = str(len(payload_text.encode("utf-8")))
    date = email.utils.formatdate(usegmt=True)
    trace = f"root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};sampled=0"
    return {
        "ExecutedVersion": version,
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": [version],
                "x-amzn-Remapped-Content-Length": ["0"],
                "Connection": ["keep-alive"],
                "x-amzn-RequestId": [request_id],
                "Content-Length": [length],
                "Date": [date],
                "X-Amzn-Trace-Id": [trace],
                "Content-Type": ["application/json"],
            },
            "HttpHeaders": {
                "Connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/json",
                "Date": date,
                "X-Amz-Executed-Version": version,
                "x-amzn-Remapped-Content-Length": "0",
                "x-amzn-RequestId": request_id,
                "X-Amzn-Trace-Id": trace,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


_LOG_STREAMS: dict[tuple[str, str], str] = {}


def _dispatch_lambda(
    dispatcher: Dispatcher, env: Environment, parameters: dict[str, Any], region: str, inline: bool
) -> None:
    """Replacement body of lambda_eval_utils.execute_lambda_function_integration (lambda_eval_utils.py:91-110)."""
    request_id = str(uuid.uuid4())
    raw_name = str(parameters["FunctionName"])
    name, qualifier = _parse_function_name(raw_name)
    qualifier = qualifier or parameters.get("Qualifier")
    account = env.aws_execution_details.account
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}" + (f":{qualifier}" if qualifier else "")
    version = qualifier if qualifier and qualifier.isdigit() else "$LATEST"
    timeout = getattr(env, _TIMEOUT_ATTR, None)
    raw_payload = parameters.get("Payload")  # bytes after lambda_eval_utils.to_payload_type
    invocation = Invocation(
        function_name=name,
        payload=json.loads(raw_payload) if raw_payload else {},
        state_name=_state_name(env) or "",
        timeout_seconds=timeout,
        qualifier=qualifier,
    )
    log_stream = _LOG_STREAMS.get((name, version))
    if log_stream is None:  # one per function version, like a warm execution environment
        log_stream = _LOG_STREAMS[(name, version)] = _new_log_stream(version)
    context = LambdaContext(
        function_name=name,
        invoked_function_arn=arn,
        aws_request_id=request_id,
        function_version=version,
        timeout_seconds=min(timeout or _DEFAULT_FUNCTION_TIMEOUT_S, _DEFAULT_FUNCTION_TIMEOUT_S),
        log_stream_name=log_stream,
    )
    try:
        result = dispatcher(invocation, context)
    except TaskTimedOut:
        if inline:
            _advance(env, timeout if timeout is not None else _DEFAULT_TASK_TIMEOUT_S, "timeout")
        # a TimeoutError is what the stock per-attempt wait raises (execute_state.py:211-212); the task
        # states turn it into States.Timeout with a TaskTimedOut event (state_task.py:93-96)
        raise EvalTimeoutError() from None
    except FunctionTimedOut as exc:
        seconds = exc.seconds if exc.seconds is not None else context._timeout_seconds
        if timeout is not None and seconds > timeout:  # the Task gives up first: States.Timeout
            if inline:
                _advance(env, timeout, "timeout")
            raise EvalTimeoutError() from None
        if inline:
            _advance(env, seconds, "function_timeout")
        message = f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds"
        raise _platform_error("Sandbox.Timedout", message) from None
    except RuntimeExited as exc:
        message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {exc.status}"
        raise _platform_error("Runtime.ExitError", message) from None
    except LambdaServiceError as exc:
        raise _service_error(exc, request_id) from None
    except FunctionError as exc:
        raise _function_error(exc.error_type, exc.message, request_id, exc.stack_trace) from None
    except Exception as exc:  # noqa: BLE001 - every handler exception is a Lambda function error
        raise _function_error(type(exc).__name__, str(exc), request_id, _stack_trace(exc)) from None
    try:  # Lambda returns the JSON the runtime serialised
        payload_text = _runtime_json(result)
    except (TypeError, ValueError) as exc:
        raise _function_error("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id, []) from None
    env.stack.append(_invoke_response(json.loads(payload_text), payload_text, request_id, version))


# =====================================================================================================
# Patched functions. Each replaces one moto function; the gate in _gated() calls the original outside runs.
# =====================================================================================================
def _lambda_integration(
    original: Callable[..., None], env: Environment, parameters: dict[str, Any], region: str, state_credentials: Any
) -> None:
    # lambda_eval_utils.py:91 execute_lambda_function_integration; both StateTaskServiceLambda
    # (state_task_service_lambda.py:128) and the legacy StateTaskLambda (state_task_lambda.py:167) look it
    # up on the module at call time, so this one hook covers both resource styles.
    run = _ACTIVE.get()
    dispatcher = run.dispatcher if run is not None else (_LAMBDA_ONLY[-1] if _LAMBDA_ONLY else None)
    if dispatcher is None or env.is_mocked_mode():
        return original(env=env, parameters=parameters, region=region, state_credentials=state_credentials)
    _dispatch_lambda(dispatcher, env, parameters, region, inline=run is not None)


def _program_eval(self: Program, env: Environment) -> None:
    # Program.eval (asl/component/program/program.py:78-87) runs the state loop in a new thread and joins
    # it with the state machine's TimeoutSeconds; run the loop (EvalComponent.eval -> _eval_body) here, and
    # end it when the virtual clock reaches the execution's limit (_advance), as stock does at the join's
    # timeout: ProgramTimedOut, status TIMED_OUT, an ExecutionTimedOut event (program.py:85-87,138-145).
    env.next_state_name = self.start_at.start_at_name
    try:
        EvalComponent.eval(self, env)
    except _ExecutionTimedOut:
        env.set_timed_out()
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.ExecutionTimedOut,
            event_details=EventDetails(executionTimedOutEventDetails=ExecutionTimedOutEventDetails()),
        )


def _evaluate_inline(self: ExecutionState, env: Environment) -> None:
    # Copy of ExecutionState._evaluate_with_timeout (asl/component/state/exec/execute_state.py:180-230)
    # without the per-attempt thread and real-time wait; the TimeoutSeconds goes to the Lambda hook.
    self.timeout.eval(env=env)
    timeout_seconds: int = env.stack.pop()
    frame: Environment = env.open_frame()
    # stock: reset(get_input()), two copies of the input; the frame shares it instead (see _set_input)
    _set_input(frame.states, env.states._states_data["input"])
    frame.stack = _json_copy(env.stack)
    setattr(frame, _TIMEOUT_ATTR, None if self.timeout.is_default_value() else timeout_seconds)
    try:
        self._eval_execution(frame)
    finally:
        frame.set_ended()
        env.close_frame(frame)
    execution_output = frame.stack[-1]
    env.stack.append(execution_output)
    if not self._is_language_query_jsonpath():
        env.states.set_result(execution_output)
    if self.assign_decl:
        self.assign_decl.eval(env=env)
    if self.result_selector:
        self.result_selector.eval(env=env)
    if self.result_path:
        self.result_path.eval(env)
    else:
        env.states.reset(input_value=env.stack.pop())


def _retrier_eval_body(self: Any, env: Environment) -> None:
    # Copy of RetrierDecl._eval_body (asl/component/common/retry/retrier_decl.py:80-109) with the
    # time.sleep(interval) at :107 replaced by the virtual clock.
    self.error_equals.eval(env)
    if not env.stack.pop():
        env.stack.append(RetrierOutcome.Skipped)
        return
    self.max_attempts.eval(env=env)
    if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
        env.stack.append(RetrierOutcome.Failed)
        return
    self.interval_seconds.eval(env=env)
    self.backoff_rate.eval(env=env)
    self.max_delay_seconds.eval(env=env)
    self.jitter_strategy.eval(env=env)
    _advance(env, env.stack.pop(), "retry")
    env.stack.append(RetrierOutcome.Executed)


def _wait_interval(self: WaitFunction, env: Environment, wait_seconds: int) -> None:
    # WaitFunction._wait_interval (asl/component/state/wait/wait_function/wait_function.py:15-37) blocks on
    # env.program_state_event for the wait; record it instead (negative waits, past timestamps, are 0).
    _advance(env, max(wait_seconds, 0), "wait")


# AWS: "States.ALL doesn't catch the States.DataLimitExceeded terminal error type and runtime error types".
_NOT_MATCHED_BY_ALL: Final = frozenset({"States.Runtime", "States.DataLimitExceeded"})


def _error_equals_eval_body(original: Callable[..., None], self: Any, env: Environment) -> None:
    # ErrorEqualsDecl._eval_body (asl/component/common/error_name/error_equals_decl.py:42-63) lets
    # States.ALL match everything (:53).
    error_name = env.stack[-1]
    if (
        getattr(error_name, "error_name", None) in _NOT_MATCHED_BY_ALL
        and self._STATE_ALL_ERROR in self.error_names
    ):
        env.stack.pop()
        env.stack.append(False)
        return
    original(self, env)


class _StatesErrorLikeName(ErrorName):
    """A States.* error name moto has no StatesErrorNameType for (raised by a Fail state)."""


def _fail_error_name(error_value: str) -> ErrorName:
    if not error_value.startswith("States."):
        return CustomErrorName(error_value)
    try:
        return StatesErrorName.from_name(error_value)
    except ValueError:
        return _StatesErrorLikeName(error_name=error_value)


def _state_fail_eval_state(self: StateFail, env: Environment) -> None:
    # Copy of StateFail._eval_state (asl/component/state/fail/state_fail.py:31-54): CustomErrorName(error)
    # at :45 raises ValueError for "States.*" names, which turns a re-raised States.Timeout into States.Runtime.
    details = TaskFailedEventDetails()
    error_value = None
    if self.error:
        self.error.eval(env=env)
        error_value = env.stack.pop()
        details["error"] = error_value
    if self.cause:
        self.cause.eval(env=env)
        details["cause"] = env.stack.pop()
    raise FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=_fail_error_name(error_value) if error_value else None,
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(taskFailedEventDetails=details),  # type: ignore[typeddict-item]
        )
    )


def _log_failure_event_exception(original: Callable[..., None], self: Any, failure_event_exception: Any) -> None:
    # EvalComponent._log_failure_event_exception (asl/component/eval_component.py:33-48) logs an ERROR with
    # the component's full repr at every nesting level, for every Fail state and task error, even caught
    # ones; that is expected flow here. Other exceptions (_log_exception, :50-63) still log.
    return None


def _cached_parse(original: Callable[[str], Any]) -> Callable[[str], Any]:
    # jsonpath_ng parses (asl/utils/json_path.py:48, asl/component/common/path/result_path.py:29) cost ~1 ms
    # each and run for every path of every state; find/update_or_create do not mutate the parsed tree.
    return functools.lru_cache(maxsize=4096)(original)


_MISSING: Final = object()


@functools.lru_cache(maxsize=4096)
def _field_chain(path: str) -> tuple[str, ...] | None:
    # The field names of a path jsonpath_ng parses to Root/Child/Fields only ("$", "$.a.b"), else None.
    return _chain_of(_json_path_mod.parse(path))  # type: ignore[attr-defined]


def _chain_of(node: Any) -> tuple[str, ...] | None:
    names: list[str] = []
    while type(node) is _jsonpath_ng.Child and type(node.right) is _jsonpath_ng.Fields:
        fields = node.right.fields
        if len(fields) != 1 or fields[0] == "*" or node.right._deprecated_wildcard_use:
            return None
        names.append(fields[0])
        node = node.left
    return tuple(reversed(names)) if type(node) is _jsonpath_ng.Root else None


def _extract_json(original: Callable[[str, Any], Any], path: str, data: Any) -> Any:
    # asl/utils/json_path.py:47-72 runs jsonpath_ng's find for every path (~20 us). For plain field chains
    # this is the same lookup: Fields.get_field_datum (jsonpath_ng/jsonpath.py:774-790) is
    # value.get(field) with TypeError/AttributeError meaning "no match", a miss raises NoSuchJsonPathError
    # (no slice or wildcard), and a single non-Index match returns its value.
    chain = _field_chain(path) if _jsonpath_ng.auto_id_field is None else None
    if chain is None:
        return original(path, data)
    value = data
    for name in chain:
        try:
            value = value.get(name, _MISSING)
        except (TypeError, AttributeError):
            value = _MISSING
        if value is _MISSING:
            raise _json_path_mod.NoSuchJsonPathError(json_path=path, data=data)
    return value


class _FieldChainPath:
    """A ResultPath that jsonpath_ng parses to a plain field chain ("$.a.b"), updated without a document walk."""

    __slots__ = ("expr", "chain")

    def __init__(self, expr: Any, chain: tuple[str, ...]) -> None:
        self.expr = expr
        self.chain = chain

    def update_or_create(self, data: Any, val: Any) -> Any:
        # jsonpath_ng's (1.16.0) Child.update_or_create (jsonpath_ng/jsonpath.py:375-378) on such a chain: find_or_create
        # sets every missing field on the way to {} (Fields.get_field_datum, :774-790), the last Fields sets the
        # value (Fields._update_base, :828-845), then _clean_list_keys(data) (:1263) walks the whole document
        # to collapse {LIST_KEY: [...]} nodes. LIST_KEY is a private object() that only Index/Slice creation
        # inserts, within this same call, so for a field chain that walk changes nothing. Anything but plain
        # dicts on the way (jsonpath_ng skips None, raises TypeError on str/list/...) goes to jsonpath_ng,
        # before anything is modified.
        chain = self.chain
        if type(data) is not dict or callable(val) or _jsonpath_ng.auto_id_field is not None:
            return self.expr.update_or_create(data, val)
        node = data
        for name in chain[:-1]:
            child = node.get(name, _MISSING)
            if child is _MISSING:
                break
            if type(child) is not dict:
                return self.expr.update_or_create(data, val)
            node = child
        node = data
        for name in chain[:-1]:
            child = node.get(name, _MISSING)
            if child is _MISSING:
                child = node[name] = {}
            node = child
        node[chain[-1]] = val
        return data


@functools.lru_cache(maxsize=4096)
def _result_path_parse(original: Callable[[str], Any], path: str) -> Any:
    # ResultPath parses with jsonpath_ng.parse (asl/component/common/path/result_path.py:29), and only calls
    # update_or_create on the result.
    expr = original(path)
    chain = _chain_of(expr)
    return _FieldChainPath(expr, chain) if chain else expr


# =====================================================================================================
# Fewer copies and JSON encodings of the state data
# =====================================================================================================
# What makes these exact: the object a States holds as its input (_states_data["input"]) is never mutated in
# place. Every write stores a private object: States.reset deep-copies (asl/eval/states.py:106-110), __init__
# stores the context's Execution.Input, which is only ever read through copies; every read returns a copy
# (States._extract, :89-95); nothing else touches _states_data["input"] (the JSONata bindings only encode it,
# asl/jsonata/jsonata.py:124-132). So code that only reads the input can read it in place, an input can be
# shared between two States, and its JSON text stays valid for as long as the same object is stored.
_INPUT_JSON_ATTR: Final = "_stepsaga_input_json"
_COMPACT: Final = (",", ":")
_STOCK_QUOTA_CHECKS: frozenset[Any] = frozenset()  # the _verify_size_quota methods that only check the size


def _input_json(states: States) -> str:
    """``to_json_str(states.get_input(), separators=(",", ":"))`` without the copy, memoised per stored input."""
    value = states._states_data["input"]
    memo = states.__dict__.get(_INPUT_JSON_ATTR)
    if memo is not None and memo[0] is value:
        return cast(str, memo[1])
    text = to_json_str(value, separators=_COMPACT)
    states.__dict__[_INPUT_JSON_ATTR] = (value, text)  # keeps value alive: its id is not reused
    return text


def _set_input(states: States, value: Any) -> None:
    # States.reset (asl/eval/states.py:106-110) for a value nothing else references: no copy.
    data = states._states_data
    data["input"] = value
    data["result"] = None
    data["errorOutput"] = None


def _input_within_quota(state: Any, states: States) -> bool:
    # True only if the state's _verify_size_quota(get_input()) is sure to pass. It is a stock one, which
    # checks is_within_size_quota, here _within_size_quota: the UTF-8 bytes of the compact JSON with
    # non-ASCII text as is. _input_json is that text with every non-ASCII character escaped (6 or 12 ASCII
    # bytes for 2 to 4 UTF-8 bytes), so its length is never below the measured size.
    if type(state)._verify_size_quota not in _STOCK_QUOTA_CHECKS:
        return False
    return len(_input_json(states)) <= MAX_PAYLOAD_BYTES


def _within_size_quota(value: Any) -> bool:
    # quotas.is_within_size_quota (parser/quotas.py:10-14) measures len(to_json_str(value).encode()) <
    # 256 KiB: ", " and ": " separators, non-ASCII as \u escapes (6 bytes for 2), a string value raw and
    # 262,144 bytes already failing. AWS counts the UTF-8 bytes of the compact JSON, 262,144 included.
    return within_payload_quota(value)


def _state_entered_details(self: CommonStateField, env: Environment) -> StateEnteredEventDetails:
    # CommonStateField._get_state_entered_event_details (asl/component/state/state.py:146-155), no copy.
    return StateEnteredEventDetails(
        name=self.name,
        input=_input_json(env.states),
        inputDetails=HistoryEventExecutionDataDetails(truncated=False),
    )


def _state_exited_details(self: CommonStateField, env: Environment) -> StateExitedEventDetails:
    # CommonStateField._get_state_exited_event_details (asl/component/state/state.py:157-173), no copy; the
    # text is usually the one the size check just made, and the next state's StateEntered reuses it.
    event_details = StateExitedEventDetails(
        name=self.name,
        output=_input_json(env.states),
        outputDetails=HistoryEventExecutionDataDetails(truncated=False),
    )
    assigned_variables = env.variable_store.get_assigned_variables()
    env.variable_store.reset_tracing()
    if assigned_variables:
        event_details["assignedVariables"] = assigned_variables  # type: ignore[typeddict-unknown-key]
        event_details["assignedVariablesDetails"] = {"truncated": False}  # type: ignore[typeddict-unknown-key]
    return event_details


def _state_eval_body(self: CommonStateField, env: Environment) -> None:
    # Copy of CommonStateField._eval_body (asl/component/state/state.py:218-275) with the size check of the
    # output (:257, a copy and a JSON encoding) decided from the StateExited event's text when it surely
    # passes, and the program state read in place (:253 deep-copies it for an isinstance).
    _check_deadline(_ACTIVE.get())  # a Parallel branch or Map iteration reached the limit
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=self.state_entered_event_type,
        event_details=EventDetails(stateEnteredEventDetails=self._get_state_entered_event_details(env=env)),
    )
    env.states.context_object.context_object_data["State"] = StateData(
        EnteredTime=datetime.datetime.now(tz=datetime.timezone.utc).isoformat(),
        Name=self.name,
    )
    self._eval_state_input(env=env)
    try:
        self._eval_state(env)
    except NoSuchJsonPathError as no_such_json_path_error:
        data_json_str = to_json_str(no_such_json_path_error.data)
        cause = (
            f"The JSONPath '{no_such_json_path_error.json_path}' specified for the field '{env.next_field_name}' "
            f"could not be found in the input '{data_json_str}'"
        )
        raise _runtime_failure(env, cause)
    if not isinstance(env._program_state, ProgramRunning):
        return
    self._eval_state_output(env=env)
    if not _input_within_quota(self, env.states):
        self._verify_size_quota(env=env, value=env.states.get_input())
    self._set_next(env)
    if self.state_exited_event_type is not None:
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=self.state_exited_event_type,
            event_details=EventDetails(stateExitedEventDetails=self._get_state_exited_event_details(env=env)),
        )


def _runtime_failure(env: Environment, cause: str) -> FailureEventException:
    """The States.Runtime failure moto raises for a missing JSONPath (same event, same cause)."""
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=StatesErrorNameType.StatesRuntime),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=StatesErrorNameType.StatesRuntime.to_name(),
                    cause=cause,
                )
            ),
        )
    )


def _task_after_eval_execution(
    self: Any, env: Environment, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
) -> None:
    # Copy of StateTaskService._after_eval_execution (state_task_service.py:307-327): the size check and the
    # TaskSucceeded event both encode the output; encode it once. The event's text (", " separators, ASCII
    # escapes) is never shorter than the measured size (compact, UTF-8), so only a longer one is measured.
    output = env.stack[-1]
    text: str | None = None
    if type(self)._verify_size_quota in _STOCK_QUOTA_CHECKS:
        text = to_json_str(output)
        if len(text) > MAX_PAYLOAD_BYTES:
            self._verify_size_quota(env=env, value=output)
    else:
        self._verify_size_quota(env=env, value=output)
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.TaskSucceeded,
        event_details=EventDetails(
            taskSucceededEventDetails=TaskSucceededEventDetails(
                resource=self._get_sfn_resource(),
                resourceType=self._get_sfn_resource_type(),
                output=text if text is not None else to_json_str(output),
                outputDetails=HistoryEventExecutionDataDetails(truncated=False),
            )
        ),
    )


_FRESH_SAMPLERS: Final = (StringJsonPath, StringContextPath) if _IMPORT_ERROR is None else ()


def _output_path_eval_body(original: Callable[..., None], self: OutputPath, env: Environment) -> None:
    # OutputPath._eval_body (asl/component/common/path/output_path.py:29-52) resets the state input to a copy
    # of what its sampler pushed. A StringJsonPath/StringContextPath pushes a fresh deep copy
    # (string_expression.py:80,120) that the pop below leaves referenced nowhere else: store it as is.
    if type(self.string_sampler) not in _FRESH_SAMPLERS:
        return original(self, env)
    try:
        self.string_sampler.eval(env=env)
    except NoSuchJsonPathError as no_such_json_path_error:
        json_path = no_such_json_path_error.json_path
        cause = f"Invalid path '{json_path}' : No results for path: $['{json_path[2:]}']"
        raise _runtime_failure(env, cause)
    _set_input(env.states, env.stack.pop())


@functools.lru_cache(maxsize=64)
def _cached_boto_client(original: Callable[..., Any], region: str, service: str) -> Any:
    return original(region=region, service=service)


def _boto_client_for(original: Callable[..., Any], region: str, service: str, state_credentials: Any = None) -> Any:
    # asl/utils/boto_client.py:14-33 builds a new boto3 client (~10 ms) per service call. Stock ignores
    # state_credentials too. Only cached while moto intercepts boto calls (no endpoint_url involved).
    if not botocore_stubber.enabled:
        return original(region=region, service=service, state_credentials=state_credentials)
    return _cached_boto_client(original, region, service)


def _with_context(target: Callable[[], Any]) -> Callable[[], Any]:
    ctx = contextvars.copy_context()  # carries _ACTIVE into moto's worker thread
    return lambda: ctx.run(target)


def _branch_worker_start(self: Any) -> None:
    # Copy of BranchWorker.start (asl/component/state/exec/state_parallel/branch_worker.py:38-50): the
    # branch thread runs in a copy of this context so the run's patches apply inside the branch.
    if self._worker_thread is not None:
        raise RuntimeError(f"Attempted to rerun BranchWorker for program ${self._program}.")
    self._worker_thread = threading.Thread(
        target=_with_context(self._thread_routine), name=f"BranchWorker_${self._program}", daemon=True
    )
    _parser_utils.TMP_THREADS.append(self._worker_thread)
    self._worker_thread.start()


def _launch_worker(self: Any, env: Environment, eval_input: Any, job_pool: Any) -> Any:
    # Copy of InlineIterationComponent._launch_worker (asl/component/state/exec/state_map/iteration/
    # inline_iteration_component.py:86-96, also used by distributed Maps) propagating the context.
    worker = self._create_worker(env=env, eval_input=eval_input, job_pool=job_pool)
    worker_thread = threading.Thread(target=_with_context(worker.eval), daemon=True)
    _parser_utils.TMP_THREADS.append(worker_thread)
    worker_thread.start()
    return worker


# =====================================================================================================
# A run's cost does not grow with the runs before it
# =====================================================================================================
def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    # BaseModel.__new__ (moto/core/common_models.py:8-15) appends every instance of every moto model to
    # cls.instances_tracked, for the moto server's dashboard (/moto-api/data.json), until mock_aws stops:
    # every DynamoDB Item written or copied, every SQS message. Nobody reads it here; skip it.
    return super(BaseModel, cls).__new__(cls)


class _TransactCopy:
    """Stands in for ``copy`` in moto.dynamodb.models: within _transact_write_items a Table is not copied."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if _IN_TRANSACT.get() and type(value) is DynamoTable:
            return value
        return _stdlib_copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(_stdlib_copy, name)


_IN_TRANSACT: contextvars.ContextVar[bool] = contextvars.ContextVar("stepsaga_in_transact", default=False)


def _transact_write_items(original: Callable[..., None], self: Any, transact_items: list[dict[str, Any]]) -> None:
    # DynamoDBBackend.transact_write_items (moto/dynamodb/models/__init__.py:604-716) deep-copies every table
    # it touches before it starts (:608-615), so a transaction costs as much as the tables are large, and on
    # a failure puts the copies back (:701-705, :712-716). Same semantics, copying only the items it targets:
    # each (table, key) is saved before, and put back (or removed, with an empty hash bucket it created) if
    # the original raises. The original's own table "copies" are the live tables (_TransactCopy), so its
    # rollback assigns each table to itself. A table with a stream keeps the whole copy (its records too).
    saved = _save_targets(self, transact_items)
    if saved is None:
        return original(self, transact_items)
    token = _IN_TRANSACT.set(True)
    try:
        original(self, transact_items)
    except BaseException:
        for table, hash_key, range_key, existed, item in reversed(saved):
            _put_back(table, hash_key, range_key, existed, item)
        raise
    finally:
        _IN_TRANSACT.reset(token)


def _save_targets(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, ...]] | None:
    saved: list[tuple[Any, ...]] = []
    for entry in transact_items:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue  # the original rejects it before touching anything
        op_type, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            continue
        if table.stream_shard is not None:
            return None
        attrs = op.get("Item") if op_type == "Put" else op.get("Key")
        if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
            continue
        try:
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
        except Exception:  # noqa: BLE001 - a malformed key: the original fails it before any write
            continue
        if table.range_key_attr is not None:
            existed = hash_key in table.items  # Table.get_item creates the hash bucket of a range table
            item = table.items[hash_key].get(range_key) if existed else None
        else:
            existed, item = hash_key in table.items, table.items.get(hash_key)
        saved.append((table, hash_key, range_key, existed, _stdlib_copy.deepcopy(item)))
    return saved


def _put_back(table: Any, hash_key: Any, range_key: Any, existed: bool, item: Any) -> None:
    if table.range_key_attr is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    if not existed:
        table.items.pop(hash_key, None)
    elif item is None:
        table.items[hash_key].pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


# =====================================================================================================
# install / uninstall
# =====================================================================================================
def _gated(original: Callable[..., Any], replacement: Callable[..., Any], pass_original: bool = False) -> Any:
    """Call ``replacement`` while a run is active in this context, ``original`` otherwise."""

    if pass_original:

        @functools.wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            if _ACTIVE.get() is None:
                return original(*args, **kwargs)
            return replacement(original, *args, **kwargs)

    else:

        @functools.wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            if _ACTIVE.get() is None:
                return original(*args, **kwargs)
            return replacement(*args, **kwargs)

    return patched


def _gated_runtime(original: Callable[..., Any], replacement: Callable[..., Any]) -> Any:
    """Call ``replacement`` during an inline run and while lambda_only is active (both engines), else ``original``."""

    @functools.wraps(original)
    def patched(*args: Any, **kwargs: Any) -> Any:
        if _ACTIVE.get() is None and not _LAMBDA_ONLY:
            return original(*args, **kwargs)
        return replacement(*args, **kwargs)

    return patched


# Modules that bound quotas.is_within_size_quota by name; their _verify_size_quota methods call it.
_QUOTA_MODULES: Final = (
    "asl.component.state.state",
    "asl.component.state.exec.state_task.service.state_task_service",
    "asl.component.state.exec.state_task.state_task_lambda",
)
_BOTO_CLIENT_MODULES: Final = (
    "asl.component.state.exec.state_task.lambda_eval_utils",
    "asl.component.state.exec.state_task.service.state_task_service_sqs",
    "asl.component.state.exec.state_task.service.state_task_service_sns",
    "asl.component.state.exec.state_task.service.state_task_service_dynamodb",
    "asl.component.state.exec.state_task.service.state_task_service_events",
    "asl.component.state.exec.state_task.service.state_task_service_sfn",
    "asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
    "asl.component.state.exec.state_task.service.state_task_service_unsupported",
    "asl.component.state.exec.state_task.service.state_task_service_glue",
    "asl.component.state.exec.state_task.service.state_task_service_ecs",
    "asl.component.state.exec.state_task.service.state_task_service_batch",
    "asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
    "asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
)
# Modules that bound json_path.extract_json by name (from ... import extract_json).
_EXTRACT_JSON_MODULES: Final = (
    "asl.utils.json_path",
    "asl.eval.states",
    "asl.component.common.string.string_expression",
    "asl.component.intrinsic.argument.argument",
    "asl.component.state.choice.comparison.operator.implementations.boolean_equals",
    "asl.component.state.choice.comparison.operator.implementations.numeric",
    "asl.component.state.choice.comparison.operator.implementations.string_operators",
    "asl.component.state.choice.comparison.operator.implementations.timestamp_operators",
)
# Modules whose copy.deepcopy calls copy JSON state data (the hot ones, measured with cProfile).
_COPY_MODULES: Final = (
    "asl.eval.states",  # get_input/_extract/reset/set_result/set_error_output (:95,107,121,130)
    "asl.eval.environment",  # frame context and program_state() (:150,156,197)
    "asl.eval.event.event_manager",  # get_event_history (:216)
    "asl.component.common.path.result_path",  # ResultPath (:31)
    "asl.component.common.string.string_expression",  # every JSONPath sample (:80,120)
    "asl.component.state.exec.state_task.service.state_task_service",  # task parameters (:343)
    "asl.component.state.exec.state_parallel.state_parallel",  # branch input (:70)
    "asl.component.state.exec.state_map.state_map",  # frame stack (:192)
    "asl.component.intrinsic.function.statesfunction.json_manipulation.json_merge",  # States.JsonMerge (:90)
)

_INSTALL_LOCK = threading.Lock()
_ORIGINALS: list[tuple[Any, str, Any]] = []  # (owner, attribute, original value), in patch order


def _module(dotted: str) -> ModuleType:
    return importlib.import_module(f"moto.stepfunctions.parser.{dotted}")


def _patch(owner: Any, name: str, value: Any) -> None:
    _ORIGINALS.append((owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)))
    setattr(owner, name, value)


def install() -> None:
    """Apply the patches once (idempotent); they are inert outside run_inline and lambda_only."""
    with _INSTALL_LOCK:
        if _ORIGINALS:
            return
        check_version()
        plain: tuple[tuple[type, str, Callable[..., Any]], ...] = (
            (Program, "eval", _program_eval),
            (ExecutionState, "_evaluate_with_timeout", _evaluate_inline),
            (_retrier_mod.RetrierDecl, "_eval_body", _retrier_eval_body),
            (WaitFunction, "_wait_interval", _wait_interval),
            (StateFail, "_eval_state", _state_fail_eval_state),
            (_branch_worker_mod.BranchWorker, "start", _branch_worker_start),
            (_inline_iteration_mod.InlineIterationComponent, "_launch_worker", _launch_worker),
            (CommonStateField, "_eval_body", _state_eval_body),
            (CommonStateField, "_get_state_entered_event_details", _state_entered_details),
            (CommonStateField, "_get_state_exited_event_details", _state_exited_details),
            (StateTaskService, "_after_eval_execution", _task_after_eval_execution),
        )
        for cls, name, replacement in plain:
            _patch(cls, name, _gated(cls.__dict__[name], replacement))
        wrapping: tuple[tuple[type, str, Callable[..., Any]], ...] = (
            (_error_equals_mod.ErrorEqualsDecl, "_eval_body", _error_equals_eval_body),
            (EvalComponent, "_log_failure_event_exception", _log_failure_event_exception),
            (OutputPath, "_eval_body", _output_path_eval_body),
        )
        for cls, name, replacement in wrapping:
            _patch(cls, name, _gated(cls.__dict__[name], replacement, pass_original=True))
        _patch(BaseModel, "__new__", staticmethod(_gated_runtime(BaseModel.__new__, _untracked_new)))
        _patch(_dynamodb_models_mod.DynamoDBBackend, "transact_write_items", _gated_runtime(
            _dynamodb_models_mod.DynamoDBBackend.transact_write_items,
            functools.partial(_transact_write_items, _dynamodb_models_mod.DynamoDBBackend.transact_write_items),
        ))
        _patch(_dynamodb_models_mod, "copy", _TransactCopy())
        for dotted in _QUOTA_MODULES:
            mod = _module(dotted)
            _patch(mod, "is_within_size_quota", _gated_runtime(mod.is_within_size_quota, _within_size_quota))
        _patch(_json_path_mod, "parse", _gated(_json_path_mod.parse, _cached_parse(_json_path_mod.parse)))
        original_parse = _result_path_mod.parse
        _patch(_result_path_mod, "parse", _gated(original_parse, functools.partial(_result_path_parse, original_parse)))
        for dotted in _BOTO_CLIENT_MODULES:
            mod = _module(dotted)
            _patch(mod, "boto_client_for", _gated(mod.boto_client_for, _boto_client_for, pass_original=True))
        for dotted in _EXTRACT_JSON_MODULES:
            mod = _module(dotted)
            _patch(mod, "extract_json", _gated(mod.extract_json, _extract_json, pass_original=True))
        # Ungated: CreateStateMachine parses the definition only to validate it (parser/models.py:64-76),
        # and the inline run parses it again; each embedded cloud's definition is new (its queue URL).
        validate = _parser_models.StepFunctionsParserBackend.__dict__["_validate_definition"].__func__
        _patch(_parser_models.StepFunctionsParserBackend, "_validate_definition", staticmethod(functools.partial(_validate_definition, validate)))
        for dotted in _COPY_MODULES:
            _patch(_module(dotted), "copy", _CopyModule())
        global _PROGRAM_STATES, _STOCK_QUOTA_CHECKS
        _STOCK_QUOTA_CHECKS = frozenset(
            cls.__dict__["_verify_size_quota"] for cls in (CommonStateField, StateTaskService, StateTaskLambda)
        )
        _PROGRAM_STATES = frozenset(
            v for v in vars(_program_state_mod).values()
            if isinstance(v, type) and issubclass(v, _program_state_mod.ProgramState)
        )
        # Not gated by _ACTIVE alone: lambda_only() routes stock executions' invokes too.
        original = lambda_eval_utils.execute_lambda_function_integration
        _patch(
            lambda_eval_utils,
            "execute_lambda_function_integration",
            functools.wraps(original)(functools.partial(_lambda_integration, original)),
        )


def uninstall() -> None:
    """Restore every patched moto attribute (for tests)."""
    with _INSTALL_LOCK:
        while _ORIGINALS:
            owner, name, original = _ORIGINALS.pop()
            setattr(owner, name, original)
        _cached_boto_client.cache_clear()
        _parse_program.cache_clear()
        _result_path_parse.cache_clear()


def installed() -> bool:
    """Whether install() is in effect."""
    return bool(_ORIGINALS)


# =====================================================================================================
# The inline driver
# =====================================================================================================
@functools.lru_cache(maxsize=256)
def _parse_program(definition: str) -> Program:
    # Stock parses the definition with ANTLR for every execution (backend/execution_worker.py:60-63,
    # ~25 ms). A Program keeps no per-execution state: that lives in the Environment (stack, heap, states),
    # and env.heap is cleared after every state (program.py:95-96).
    return cast(Program, AmazonStateLanguageParser.parse(definition)[0])


def _validate_definition(original: Callable[..., None], definition: str) -> None:
    try:
        _parse_program(definition)
    except Exception:
        original(definition=definition)  # raises moto's own InvalidDefinition
        raise


class _InlineWorker(ExecutionWorker):
    def _get_evaluation_entrypoint(self) -> EvalComponent:
        return _parse_program(self._evaluation_details.state_machine_details.definition)

    def start(self) -> None:
        # stock ExecutionWorker.start (backend/execution_worker.py:111-114) runs this in a thread
        self._execution_logic()  # type: ignore[no-untyped-call]


class _InlineExecution(Execution):
    def _get_start_execution_worker(self) -> ExecutionWorker:
        # backend/execution.py:277-287 with the inline worker
        stock = super()._get_start_execution_worker()
        return _InlineWorker(
            evaluation_details=stock._evaluation_details,
            exec_comm=stock._execution_communication,
            cloud_watch_logging_session=stock._cloud_watch_logging_session,
            activity_store=stock._activity_store,
        )


def _prune_threads() -> None:
    # parser/utils.py:5 TMP_THREADS collects every interpreter thread and is never read nor cleared.
    threads = _parser_utils.TMP_THREADS
    if threads:
        threads[:] = [t for t in threads if t.is_alive()]


def run_inline(
    state_machine_arn: str,
    input_json: str,
    name: str,
    dispatcher: Dispatcher,
    *,
    account_id: str = "123456789012",
    region: str = "us-east-1",
) -> RawExecution:
    """Run one execution of an existing state machine synchronously in this thread; return its outcome."""
    # The state machine must exist in moto's parser backend: boto3 create_state_machine inside
    # mock_aws(config={"stepfunctions": {"execute_state_machine": True}}). Lambda tasks call
    # dispatcher(invocation, context): the return value, JSON round-tripped, is the invoke's Payload; an
    # exception is a function error (Error = class name or FunctionError.error_type, Cause = the AWS Python
    # runtime's JSON); LambdaServiceError(code) is Error "Lambda.<code>"; TaskTimedOut is States.Timeout;
    # FunctionTimedOut is Sandbox.Timedout and RuntimeExited Runtime.ExitError, with Lambda's own payloads.
    # Standard names are unique per state machine (ExecutionAlreadyExists otherwise); Express ones may repeat.
    # StartExecution's own rules (name characters, input size) are stepsaga.local.quotas.check_start_execution.
    if not _ORIGINALS:
        install()
    backend = stepfunctions_parser_backends[account_id][region]
    state_machine: Any = backend.describe_state_machine(state_machine_arn)
    express = state_machine.type == "EXPRESS"  # .sm_type is always "STANDARD" (moto/stepfunctions/models.py:62)
    if express:
        # An Express name may be reused; the ARN is unique through its uuid (API_StartExecution, executionArn)
        exec_arn = f"arn:{backend.partition}:states:{region}:{account_id}:express:{state_machine.name}:{name}:{uuid.uuid4()}"
    else:
        _check_name_unused(state_machine, name)
        exec_arn = f"arn:{backend.partition}:states:{region}:{account_id}:execution:{state_machine.name}:{name}"
    execution = _InlineExecution(
        name=name,
        sm_type=state_machine.sm_type,
        role_arn=state_machine.roleArn,
        exec_arn=exec_arn,
        account_id=account_id,
        region_name=region,
        # stock deep-copies the state machine as a snapshot (parser/models.py:184); its attributes are only
        # ever rebound by updates, so a shallow copy is the same snapshot
        state_machine=_shallow_snapshot(state_machine),
        start_date=datetime.datetime.now(tz=datetime.timezone.utc),
        cloud_watch_logging_session=None,
        input_data=input_json,
        activity_store={},
    )
    execution.exec_status = ExecutionStatus.RUNNING  # before it is visible: .status reads it
    state_machine.executions.append(execution)  # what describe_execution/get_execution_history search
    run = _Run(dispatcher=dispatcher, deadline=execution_limit(state_machine.definition, express), thread=threading.get_ident())
    token = _ACTIVE.set(run)
    try:
        execution.start()
    finally:
        _ACTIVE.reset(token)
        _prune_threads()
    return RawExecution(execution, run.clock)


#: An Express execution runs for at most five minutes (https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html)
EXPRESS_LIMIT_SECONDS: Final = EXPRESS_MAX_SECONDS


def execution_limit(definition: str, express: bool) -> float | None:
    """The virtual seconds an execution may run: the definition's TimeoutSeconds, at most 300 for Express."""
    timeout = _parse_program(definition).timeout_seconds
    limit = float(timeout.timeout_seconds) if timeout is not None and not timeout.is_default_value() else None
    if express:
        limit = min(limit, EXPRESS_LIMIT_SECONDS) if limit is not None else EXPRESS_LIMIT_SECONDS
    return limit


# state machine -> [its executions list, how many of them are indexed, {name: execution}]
_NAME_INDEX: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()
_NAME_INDEX_LOCK = threading.Lock()


def _check_name_unused(state_machine: Any, name: str) -> None:
    # StepFunctionsParserBackend.start_execution checks names with a linear scan of all executions
    # (models.py:186-202, parser/models.py:169) and raises ExecutionAlreadyExists for a used name (an inline
    # execution has always finished, and a RUNNING duplicate is no idempotent retry here). Same check,
    # with an index extended incrementally: executions are only ever appended.
    with _NAME_INDEX_LOCK:
        executions = state_machine.executions
        entry = _NAME_INDEX.get(state_machine)
        if entry is None or entry[0] is not executions or entry[1] > len(executions):
            entry = _NAME_INDEX[state_machine] = [executions, 0, {}]
        names: dict[str, Any] = entry[2]
        for execution in executions[entry[1]:]:
            names.setdefault(execution.name, execution)
        entry[1] = len(executions)
        existing = names.get(name)
    if existing is not None:
        raise ExecutionAlreadyExists(f"Execution Already Exists: '{existing.execution_arn}'")


def _shallow_snapshot(state_machine: Any) -> Any:
    snapshot = _stdlib_copy.copy(state_machine)
    snapshot.executions = []
    return snapshot


@contextlib.contextmanager
def lambda_only(dispatcher: Dispatcher) -> Iterator[None]:
    """While active, Lambda invokes of stock moto executions go to ``dispatcher``; all else stays stock."""
    install()
    with _LAMBDA_ONLY_LOCK:
        _LAMBDA_ONLY.append(dispatcher)
    try:
        yield
    finally:
        with _LAMBDA_ONLY_LOCK:
            for i in range(len(_LAMBDA_ONLY) - 1, -1, -1):
                if _LAMBDA_ONLY[i] is dispatcher:
                    del _LAMBDA_ONLY[i]
                    break


# =====================================================================================================
# History as boto3 returns it
# =====================================================================================================
_TZLOCAL = None


def _plain(value: Any) -> Any:
    cls = type(value)
    if cls is dict:
        return {k: _plain(v) for k, v in value.items()}
    if cls is list:
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def _history_as_boto3(execution: Execution) -> list[dict[str, Any]]:
    # GetExecutionHistory returns the EventManager's events (parser/models.py:317-320 ->
    # backend/execution.py:244-250 -> asl/eval/event/event_manager.py:214-216, a deepcopy of
    # _history_event_list). Over the wire botocore turns "timestamp" into a datetime in local time and "type"
    # into a plain string, and orders members as the HistoryEvent shape does; _plain copies the rest.
    global _TZLOCAL
    if _TZLOCAL is None:
        _TZLOCAL = tzlocal()
    worker = execution.exec_worker
    assert worker is not None and worker.env is not None, "the execution has not started"
    manager = worker.env.event_manager
    with manager._mutex:
        events = list(manager._history_event_list)
    out: list[dict[str, Any]] = []
    local_seconds: dict[str, datetime.datetime] = {}  # "YYYY-MM-DDTHH:MM:SS" (UTC) -> that second in local time
    for event in events:
        # a string despite the TypedDict: iso_8601_datetime_with_milliseconds (event_manager.py:87),
        # "YYYY-MM-DDTHH:MM:SS.mmmZ". botocore's tzlocal() offset and fold are whole seconds and depend on the
        # whole second only (it asks time.localtime), so one astimezone per second gives the same datetimes.
        text = str(event["timestamp"])
        if len(text) == 24 and text[10] == "T" and text[19] == "." and text[23] == "Z" and text[20:23].isdigit():
            local = local_seconds.get(text[:19])
            if local is None:
                utc = datetime.datetime.fromisoformat(text[:19]).replace(tzinfo=datetime.timezone.utc)
                local = local_seconds[text[:19]] = utc.astimezone(_TZLOCAL)
            stamp = local.replace(microsecond=int(text[20:23]) * 1000)
        else:
            stamp = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
            stamp = stamp.replace(tzinfo=datetime.timezone.utc).astimezone(_TZLOCAL)
        item: dict[str, Any] = {
            "timestamp": stamp,
            "type": _plain(event["type"]),
            "id": event["id"],
            "previousEventId": event["previousEventId"],
        }
        for key, value in event.items():
            if key not in item:
                item[key] = _plain(value)
        out.append(item)
    return out


# =====================================================================================================
# Table writes during one handler attempt (stepsaga.local.contract, issue 7.16)
# =====================================================================================================
class _WriteRecorder:
    """Stands in for a moto table's ``stream_shard``: moto calls ``add(old, new)`` on every write.

    Every write path calls it (``Table.put_item``/``delete_item`` in dynamodb/models/table.py:693 and 742,
    ``DynamoDBBackend.update_item`` in dynamodb/models/__init__.py, which batch and transaction writes go
    through), with the item before the write, or None. A real stream shard, if any, still gets every record.
    """

    def __init__(self, table: Any, inner: Any, before: dict[tuple[Any, Any], Any]) -> None:
        self.table, self.inner, self.before = table, inner, before

    def add(self, old: Any, new: Any) -> None:
        item = old if old is not None else new
        key = (item.hash_key, item.range_key)
        if key not in self.before:  # the first image is the row as it was before the attempt
            self.before[key] = None if old is None else old.to_regular_json()
        if self.inner is not None:
            self.inner.add(old, new)

    def __deepcopy__(self, memo: dict[int, Any]) -> _WriteRecorder:
        # TransactWriteItems deep-copies the tables it touches and puts the copy back on failure
        return self


class TableWatch:
    """The rows of moto DynamoDB tables written between ``start()`` and ``changes()``, as they were and are.

    Costs nothing per row in the table: only written rows are looked at, so it does not slow down with
    the runs before it. A write that leaves a row as it was (an idempotent rewrite, a rolled back
    transaction) is not a change.
    """

    def __init__(self, tables: list[str], account_id: str, region: str) -> None:
        from moto.dynamodb.models import dynamodb_backends

        self._backend = dynamodb_backends[account_id][region]
        self._names = [name for name in tables if name in self._backend.tables]
        self._before: dict[str, dict[tuple[Any, Any], Any]] = {name: {} for name in self._names}

    def start(self) -> None:
        """Record writes from now on."""
        for name in self._names:
            table = self._backend.tables[name]
            table.stream_shard = _WriteRecorder(table, table.stream_shard, self._before[name])

    def changes(self) -> list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]]:
        """Stop recording; return ``(table, key, before, after)`` for each row that differs (None: no row)."""
        out = []
        for name in self._names:
            table = self._backend.tables.get(name)
            if table is None:
                continue
            # take out our recorder only (another attempt, in a parallel branch, may be watching too), also
            # from a table object a failed transaction put back
            mine, holder, shard = self._before[name], table, table.stream_shard
            while isinstance(shard, _WriteRecorder):
                if shard.before is mine:
                    if holder is table:
                        table.stream_shard = shard.inner
                    else:
                        holder.inner = shard.inner
                else:
                    holder = shard
                shard = shard.inner
            for (hash_key, range_key), before in self._before[name].items():
                current = table.get_item(hash_key, range_key)
                after = None if current is None else current.to_regular_json()
                if after != before:
                    key = {table.hash_key_attr: (before or after)[table.hash_key_attr]}  # type: ignore[index]
                    if table.range_key_attr:
                        key[table.range_key_attr] = (before or after)[table.range_key_attr]  # type: ignore[index]
                    out.append((name, key, before, after))
        return out
