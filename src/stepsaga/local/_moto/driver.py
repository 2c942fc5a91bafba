"""The inline driver: one execution runs synchronously in the calling thread, on virtual time.

``run_inline`` drives one execution of a state machine created beforehand (boto3 ``create_state_machine``
inside ``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})``) on the unchanged interpreter
(``asl/``), and registers it with the state machine so that boto3 ``describe_execution``/
``get_execution_history`` see it. During an inline run:

* The execution, its states and every Task attempt run in the calling thread (stock: 2 threads per
  execution plus one per attempt). Parallel branches and Map iterations keep moto's worker threads; the
  active run is propagated into them.
* Retry intervals and Wait states cost no wall time: the delay moto computed is recorded on the run's
  ``VirtualClock``; the execution's limit (TimeoutSeconds, Express's 300 s) applies on that clock.
* moto's ERROR log line for every expected ``FailureEventException`` (each Fail state, each caught or
  uncaught task error) is not emitted. Other interpreter errors still log.

The module-level seams ``_program``, ``_frame_input``, ``_copy_stack``, ``_snapshot``, ``_find_execution`` and
``_settle`` do what stock moto does; the speed modules (``speed.py``, ``growth.py``) replace them through their patch
tables, and ``install(fast=False)`` leaves them stock.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import datetime
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Final, cast

from moto.stepfunctions.exceptions import ExecutionAlreadyExists
from moto.stepfunctions.parser import utils as _parser_utils
from moto.stepfunctions.parser.api import ExecutionStatus, ExecutionTimedOutEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl as _retrier_mod
from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsOutcome
from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import RetrierOutcome
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    inline_iteration_component as _inline_iteration_mod,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branch_worker as _branch_worker_mod
from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.states import States
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from stepsaga.asl.limits import EXPRESS_MAX_SECONDS
from stepsaga.local._moto.history import RawExecution
from stepsaga.local._moto.run import (
    ACTIVE,
    LAMBDA_ONLY,
    LAMBDA_ONLY_LOCK,
    TIMEOUT_ATTR,
    ExecutionTimedOut,
    Patch,
    Run,
    advance,
    check_deadline,
    gate,
    gate_wrapping,
)
from stepsaga.local.engine import Dispatcher


# ----------------------------------------------------------------------------------------------------
# Seams: stock behaviour, replaced by the speed shortcuts' patch tables
# ----------------------------------------------------------------------------------------------------
def _program(definition: str) -> Program:
    # backend/execution_worker.py:60-63: the definition is parsed for every execution (imported here, as
    # execution_worker.py does not import it at module level either: a cached parse needs no parser)
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    return cast(Program, AmazonStateLanguageParser.parse(definition)[0])


def _frame_input(frame: States, states: States) -> None:
    # execute_state.py:185: frame.states.reset(input_value=env.states.get_input()), two copies
    frame.reset(input_value=states.get_input())


def _copy_stack(stack: list[Any]) -> list[Any]:
    return copy.deepcopy(stack)  # execute_state.py:186


def _snapshot(state_machine: Any) -> Any:
    # parser/models.py:184: the execution's snapshot of the state machine, without its executions
    return copy.deepcopy(state_machine, {id(state_machine.executions): [], id(state_machine.backend): state_machine.backend})


def _find_execution(state_machine: Any, name: str) -> Any | None:
    # StepFunctionsParserBackend.start_execution's scan of all executions (models.py:186-202, parser/models.py:169)
    return next((e for e in state_machine.executions if e.name == name), None)


def _settle(execution: Any) -> None:
    # a finished execution keeps everything its run left (backend/execution.py:69-87)
    return None


# ----------------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------------
class _InlineWorker(ExecutionWorker):
    def _get_evaluation_entrypoint(self) -> EvalComponent:
        return _program(self._evaluation_details.state_machine_details.definition)

    def start(self) -> None:
        # stock ExecutionWorker.start (backend/execution_worker.py:111-114) runs this in a thread
        self._execution_logic()  # type: ignore[no-untyped-call]


class _InlineExecution(Execution):
    mock_test_case: Any = None  # a Step Functions Local test case (mocked.py), which stock never passes on

    def _get_start_execution_worker(self) -> ExecutionWorker:
        # backend/execution.py:277-287 with the inline worker
        stock = super()._get_start_execution_worker()
        return _InlineWorker(
            evaluation_details=stock._evaluation_details,
            exec_comm=stock._execution_communication,
            cloud_watch_logging_session=stock._cloud_watch_logging_session,
            activity_store=stock._activity_store,
            mock_test_case=self.mock_test_case,
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
    mock_test_case: Any = None,
) -> RawExecution:
    """Run one execution of an existing state machine synchronously in this thread; return its outcome.

    ``mock_test_case`` (``mocked.test_case``): the Task states it mocks answer from its responses, as in Step
    Functions Local, and never reach the dispatcher or a service.
    """
    # The state machine must exist in moto's parser backend: boto3 create_state_machine inside
    # mock_aws(config={"stepfunctions": {"execute_state_machine": True}}). Lambda tasks call
    # dispatcher(invocation, context): the return value, JSON round-tripped, is the invoke's Payload; an
    # exception is a function error (Error = class name or FunctionError.error_type, Cause = the AWS Python
    # runtime's JSON); LambdaServiceError(code) is Error "Lambda.<code>"; TaskTimedOut is States.Timeout;
    # FunctionTimedOut is Sandbox.Timedout and RuntimeExited Runtime.ExitError, with Lambda's own payloads.
    # Standard names are unique per state machine (ExecutionAlreadyExists otherwise); Express ones may repeat.
    # StartExecution's own rules (name characters, input size) are stepsaga.local.quotas.check_start_execution.
    from stepsaga.local import _moto  # the package installs the patch tables of every module, this one's too

    _moto.ensure_installed()
    backend = stepfunctions_parser_backends[account_id][region]
    state_machine: Any = backend.describe_state_machine(state_machine_arn)
    express = state_machine.type == "EXPRESS"  # .sm_type is always "STANDARD" (moto/stepfunctions/models.py:62)
    if express:
        # An Express name may be reused; the ARN is unique through its uuid (API_StartExecution, executionArn)
        exec_arn = f"arn:{backend.partition}:states:{region}:{account_id}:express:{state_machine.name}:{name}:{uuid.uuid4()}"
    else:
        existing = _find_execution(state_machine, name)
        if existing is not None:  # an inline execution has always finished: no idempotent retry
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{existing.execution_arn}'")
        exec_arn = f"arn:{backend.partition}:states:{region}:{account_id}:execution:{state_machine.name}:{name}"
    execution = _InlineExecution(
        name=name,
        sm_type=state_machine.sm_type,
        role_arn=state_machine.roleArn,
        exec_arn=exec_arn,
        account_id=account_id,
        region_name=region,
        state_machine=_snapshot(state_machine),
        start_date=datetime.datetime.now(tz=datetime.timezone.utc),
        cloud_watch_logging_session=None,
        input_data=input_json,
        activity_store={},
    )
    execution.mock_test_case = mock_test_case
    execution.exec_status = ExecutionStatus.RUNNING  # before it is visible: .status reads it
    state_machine.executions.append(execution)  # what describe_execution/get_execution_history search
    run = Run(dispatcher=dispatcher, deadline=execution_limit(state_machine.definition, express), thread=threading.get_ident())
    token = ACTIVE.set(run)
    try:
        execution.start()
    finally:
        ACTIVE.reset(token)
        _prune_threads()
    raw = RawExecution(execution, run.clock)  # its output is the last event's text: read before settling
    _settle(execution)
    return raw


#: An Express execution runs for at most five minutes (https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html)
EXPRESS_LIMIT_SECONDS: Final = EXPRESS_MAX_SECONDS


def execution_limit(definition: str, express: bool) -> float | None:
    """The virtual seconds an execution may run: the definition's TimeoutSeconds, at most 300 for Express."""
    timeout = _program(definition).timeout_seconds
    limit = float(timeout.timeout_seconds) if timeout is not None and not timeout.is_default_value() else None
    if express:
        limit = min(limit, EXPRESS_LIMIT_SECONDS) if limit is not None else EXPRESS_LIMIT_SECONDS
    return limit


@contextlib.contextmanager
def lambda_only(dispatcher: Dispatcher) -> Iterator[None]:
    """While active, Lambda invokes of stock moto executions go to ``dispatcher``; all else stays stock."""
    from stepsaga.local import _moto

    _moto.ensure_installed()
    with LAMBDA_ONLY_LOCK:
        LAMBDA_ONLY.append(dispatcher)
    try:
        yield
    finally:
        with LAMBDA_ONLY_LOCK:
            for i in range(len(LAMBDA_ONLY) - 1, -1, -1):
                if LAMBDA_ONLY[i] is dispatcher:
                    del LAMBDA_ONLY[i]
                    break


# ----------------------------------------------------------------------------------------------------
# Patched functions: the execution in this thread, delays on the virtual clock
# ----------------------------------------------------------------------------------------------------
def _program_eval(self: Program, env: Environment) -> None:
    # Program.eval (asl/component/program/program.py:78-87) runs the state loop in a new thread and joins
    # it with the state machine's TimeoutSeconds; run the loop (EvalComponent.eval -> _eval_body) here, and
    # end it when the virtual clock reaches the execution's limit (advance), as stock does at the join's
    # timeout: ProgramTimedOut, status TIMED_OUT, an ExecutionTimedOut event (program.py:85-87,138-145).
    env.next_state_name = self.start_at.start_at_name
    try:
        EvalComponent.eval(self, env)
    except ExecutionTimedOut:
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
    _frame_input(frame.states, env.states)
    frame.stack = _copy_stack(env.stack)
    setattr(frame, TIMEOUT_ATTR, None if self.timeout.is_default_value() else timeout_seconds)
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
    advance(env, env.stack.pop(), "retry")
    env.stack.append(RetrierOutcome.Executed)


def _wait_interval(self: WaitFunction, env: Environment, wait_seconds: int) -> None:
    # WaitFunction._wait_interval (asl/component/state/wait/wait_function/wait_function.py:15-37) blocks on
    # env.program_state_event for the wait; record it instead (negative waits, past timestamps, are 0).
    advance(env, max(wait_seconds, 0), "wait")


def _deadline_checked(original: Callable[..., None], self: CommonStateField, env: Environment) -> None:
    # CommonStateField._eval_body (asl/component/state/state.py:218): a Parallel branch or Map iteration
    # that reached the execution's limit marked the run; the next state entered in the run's thread ends it.
    check_deadline(ACTIVE.get())
    original(self, env)


def _log_failure_event_exception(original: Callable[..., None], self: Any, failure_event_exception: Any) -> None:
    # EvalComponent._log_failure_event_exception (asl/component/eval_component.py:33-48) logs an ERROR with
    # the component's full repr at every nesting level, for every Fail state and task error, even caught
    # ones; that is expected flow here. Other exceptions (_log_exception, :50-63) still log.
    return None


def _with_context(target: Callable[[], Any]) -> Callable[[], Any]:
    ctx = contextvars.copy_context()  # carries ACTIVE into moto's worker thread
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


PATCHES: Final[tuple[Patch, ...]] = (
    (Program, "eval", gate(_program_eval)),
    (ExecutionState, "_evaluate_with_timeout", gate(_evaluate_inline)),
    (_retrier_mod.RetrierDecl, "_eval_body", gate(_retrier_eval_body)),
    (WaitFunction, "_wait_interval", gate(_wait_interval)),
    (_branch_worker_mod.BranchWorker, "start", gate(_branch_worker_start)),
    (_inline_iteration_mod.InlineIterationComponent, "_launch_worker", gate(_launch_worker)),
    (CommonStateField, "_eval_body", gate_wrapping(_deadline_checked)),
    (EvalComponent, "_log_failure_event_exception", gate_wrapping(_log_failure_event_exception)),
)
