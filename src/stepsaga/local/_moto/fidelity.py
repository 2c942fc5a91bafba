"""Fidelity fixes: where stock moto's interpreter differs from AWS, the inline run does what AWS does.

This module holds the fixes that are a patch of their own (States.ALL, Fail states raising States.* names,
the 256 KiB measure); the others are how the driver (``driver.py``: virtual delays, execution limits,
Express ARNs) and Lambda invocation (``lambda_invoke.py``: error payloads, the full invoke response) work.
All of them stay on with ``install(fast=False)``; the list below is the whole of them.

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
* JSONata expressions are evaluated (``jsonata.py``): stock moto's bridge is empty, so every one fails
  with ``TypeError``. Also under ``lambda_only``.
* Unchanged moto behaviour worth knowing: legacy function-ARN Lambda resources report a Lambda service
  error as ``Error: "Exception"`` (``asl/component/state/exec/state_task/state_task_lambda.py:65-68``),
  while ``lambda:invoke`` reports ``Lambda.<Code>``; ``TaskScheduled.parameters`` is JSON with ``", "``
  separators (AWS is compact); ``$$.State.RetryCount`` is only set in Task/Parallel/Map states; boto3
  ``describe_execution`` returns the output re-serialised with ``", "`` separators
  (``moto/stepfunctions/responses.py:340``), while ``RawExecution.output`` and the ExecutionSucceeded event
  are compact, as on AWS.
* Unchanged moto behaviour in JSONata states: ``Output`` is evaluated after ``Assign`` and sees its values
  (AWS: both see the values the state started with); a Choice state's own ``Output``/``Assign`` apply only on
  its Default path (``asl/component/state/choice/state_choice.py:58-66``); variable size quotas are not
  measured; ``assignedVariables`` writes string variables unescaped (``asl/eval/variable_store.py:79-90``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl as _error_equals_mod
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.state.fail.state_fail import StateFail
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from stepsaga.local._moto.run import Patch, gate, gate_runtime, gate_wrapping, module
from stepsaga.local.quotas import within_payload_quota

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


def _within_size_quota(value: Any) -> bool:
    # quotas.is_within_size_quota (parser/quotas.py:10-14) measures len(to_json_str(value).encode()) <
    # 256 KiB: ", " and ": " separators, non-ASCII as \u escapes (6 bytes for 2), a string value raw and
    # 262,144 bytes already failing. AWS counts the UTF-8 bytes of the compact JSON, 262,144 included.
    return within_payload_quota(value)


# Modules that bound quotas.is_within_size_quota by name; their _verify_size_quota methods call it.
QUOTA_MODULES: Final = (
    "asl.component.state.state",
    "asl.component.state.exec.state_task.service.state_task_service",
    "asl.component.state.exec.state_task.state_task_lambda",
)

PATCHES: Final[tuple[Patch, ...]] = (
    (_error_equals_mod.ErrorEqualsDecl, "_eval_body", gate_wrapping(_error_equals_eval_body)),
    (StateFail, "_eval_state", gate(_state_fail_eval_state)),
    *((module(dotted), "is_within_size_quota", gate_runtime(_within_size_quota)) for dotted in QUOTA_MODULES),
)
