"""Saga -> Amazon States Language: one Task per step, Catch into a reverse compensation chain.

In JSONPath, the state data of a running saga is always
``{"input": <original input>, "results": {<Step>: {"output": ...}}, "compensated": {...}}``
plus ``error`` once a step failed and ``compensation_error`` once a compensation failed.

Before any step, ``BeginSaga`` and ``CheckSagaInput`` reject an input that is not a JSON object
(``InvalidSagaInput``) or that takes more than half the 256 KiB state quota (``States.DataLimitExceeded`` at
``BeginSaga``), which leaves the other half to results and errors. A step whose result is over the quota is
caught (``States.DataLimitExceeded`` by name) and compensated, and a repair record that cannot be sent
ends the execution with the record as its Cause. See docs/decisions.md, Issue 7.11.

The routing (which state follows which, which error goes where) is written once, in ``compile_saga``; where
the data lives is the query language's: ``JsonPathData`` here (one state document), ``JsonataData`` in
``stepsaga.orchestration_jsonata`` (workflow variables), chosen by ``Saga.query_language``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stepsaga.orchestration_jsonata import JsonataData

from stepsaga.asl.lint import lint
from stepsaga.asl.model import Catcher, ChoiceState, FailState, PassState, Retrier, StateMachine, SucceedState, TaskState
from stepsaga.asl.render import render
from stepsaga.errors import LintError
from stepsaga.model import DATA_LIMIT_EXCEEDED, DEAD_LETTER_RETRY, Compensation, Retry, Saga, Step
from stepsaga.names import (
    BEGIN,
    CHECK_INPUT,
    COMPENSATION_FAILED,
    COMPENSATION_FAILED_ERROR,
    COMPENSATION_RECORD_NOT_SENT,
    DLQ_PLACEHOLDER,
    FAILED,
    INPUT_REJECTED,
    INVALID_INPUT_ERROR,
    RECORD_NOT_SENT_ERROR,
    STEP_RECORD_NOT_SENT,
    SUCCEEDED,
    dead_letter_state,
    function_placeholder,
    function_reference,
    repair_record_state,
    substitution,
)

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SQS_SEND = "arn:aws:states:::sqs:sendMessage"


def placeholders(saga: Saga) -> list[str]:
    """Every ``${...}`` placeholder the compiled ASL uses, in a stable order."""
    names = [function_placeholder(n) for n in saga.handlers()]
    if saga.compensatable or any(s.retriable for s in saga.steps):
        names.append(DLQ_PLACEHOLDER)
    return names


def compile_saga(saga: Saga) -> StateMachine:
    """Build the typed state machine for a saga, in its query language."""
    data = data_of(saga)
    steps = list(saga.steps)
    chain = list(reversed(saga.compensatable))
    states: list[tuple[str, Any]] = data.begin(saga, steps[0].name)
    entry_before = FAILED  # where compensation starts for a failure before any compensatable step
    for i, step in enumerate(steps):
        after = steps[i + 1].name if i + 1 < len(steps) else SUCCEEDED
        if step.retriable:
            states.append((step.name, _action_task(saga, data, step, after, catch=_catch_all(
                dead_letter_state(step.name), data.into(STEP_ERROR, step.name),
            ))))
            states.extend(_step_dead_letter(saga, data, step, after))
            continue
        own_entry = step.compensation.name if step.compensation else entry_before
        catch: list[Catcher] = []
        if step.business_errors and own_entry != entry_before:
            catch.append(Catcher(tuple(step.business_errors), entry_before, **data.into(ERROR)))
        # An oversized result means the step ran: undo it too, like any other non-business error.
        catch.extend(_catch_all(own_entry, data.into(ERROR)))
        states.append((step.name, _action_task(saga, data, step, after, catch=tuple(catch))))
        entry_before = own_entry

    for k, step in enumerate(chain):
        comp = step.compensation
        assert comp is not None
        after = chain[k + 1].compensation.name if k + 1 < len(chain) else FAILED  # type: ignore[union-attr]
        states.append((comp.name, _compensation_task(saga, data, step, comp, after)))
        states.extend(_compensation_dead_letter(saga, data, comp, k))

    states.extend(_ends(saga, data, bool(chain)))
    return StateMachine(
        comment=saga.comment or f"Saga {saga.name}",
        start_at=BEGIN,
        states=tuple(states),
        timeout_seconds=saga.timeout_seconds,
        query_language=data.query_language,
    )


def data_of(saga: Saga) -> JsonPathData | JsonataData:
    """Where the saga's data lives in its compiled ASL: ``JsonPathData``, or ``JsonataData`` for JSONata."""
    if saga.query_language == "JSONata":
        from stepsaga.orchestration_jsonata import JsonataData

        return JsonataData()
    return JsonPathData()


def to_asl(saga: Saga) -> str:
    """Compile a saga, lint the result, and render the exact JSON text."""
    machine = compile_saga(saga)
    doc = machine.to_json()
    problems = lint(doc, machine.duplicate_names())
    if problems:
        raise LintError(problems)
    return render(doc)


# --- where the data lives: JSONPath ---------------------------------------------------------------

#: The error slots a Catch writes: the failure that starts compensation, a compensation's own, a repair
#: record's send, and a retriable step's (one per step).
ERROR = "error"
COMPENSATION_ERROR = "compensation_error"
DEAD_LETTER_ERROR = "dead_letter_error"
STEP_ERROR = "step_error"


class JsonPathData:
    """The saga's data in one JSONPath state document: ``$.input``, ``$.results``, ``$.compensated``, the errors.

    Each method returns the fields of one construct, as keyword arguments of its ``stepsaga.asl.model`` class.
    """

    query_language: str | None = None  # the States Language's default

    def begin(self, saga: Saga, first: str) -> list[tuple[str, Any]]:
        """BeginSaga and CheckSagaInput: the state data, for a JSON object input of at most half the quota."""
        begin: dict[str, Any] = {"input.$": "$", "results": {}, "compensated": {}}
        chain = list(reversed(saga.compensatable))
        if chain:
            # Kept once in the state so each dead-letter record can slice its pending list: linear size.
            begin["compensation_order"] = [s.compensation.name for s in chain]  # type: ignore[union-attr]
        return [
            (BEGIN, PassState(
                comment=(
                    "Keep the input and start empty records of results and compensations. The input's JSON text, "
                    "dropped by CheckSagaInput, shows whether it is an object and doubles this state, so an input "
                    "over half the 256 KiB quota fails here (States.DataLimitExceeded), before any step."
                ),
                parameters={"saga": begin, "input_json.$": "States.JsonToString($)"},
                next=CHECK_INPUT,
            )),
            (CHECK_INPUT, ChoiceState(
                comment="Only a JSON object starts the saga; its JSON text is dropped here.",
                choices=({"Variable": "$.input_json", "StringMatches": "{*", "Next": first},),
                default=INPUT_REJECTED,
                output_path="$.saga",
            )),
        ]

    def payload(self, saga: Saga, name: str, compensates: str | None = None) -> dict[str, Any]:
        """A handler's event: saga id, state, idempotency key, input and results (a compensation's: and the error)."""
        saga_id = saga_id_path(saga)
        payload: dict[str, Any] = {
            "saga_id.$": saga_id,
            "step": name,
            # Derived from the execution, so every retry of this state sends the same key.
            "idempotency_key.$": f"States.Format('{{}}:{name}', {saga_id})",
            "input.$": "$.input",
            "results.$": "$.results",
        }
        if compensates is not None:
            payload["compensates"] = compensates
            payload["error.$"] = "$.error"
        return payload

    def invoke(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """A Task's request to its integration."""
        return {"parameters": arguments}

    def step_result(self, name: str) -> dict[str, Any]:
        """Where a step's handler output goes: ``$.results.<Step>.output``."""
        return {"result_selector": {"output.$": "$.Payload"}, "result_path": f"$.results.{name}"}

    def compensation_result(self, name: str) -> dict[str, Any]:
        """Where a compensation's handler output goes: ``$.compensated.<Compensation>.output``."""
        return {"result_selector": {"output.$": "$.Payload"}, "result_path": f"$.compensated.{name}"}

    def into(self, slot: str, step: str | None = None) -> dict[str, Any]:
        """Where a Catch puts the error: ``$.<slot>``, a retriable step's ``$.dead_lettered.<Step>``."""
        return {"result_path": f"$.dead_lettered.{step}" if slot == STEP_ERROR else f"$.{slot}"}

    def record(self, saga: Saga, who: dict[str, str], errors: dict[str, Any]) -> dict[str, Any]:
        """A repair record's saga id, execution, input and results around ``who`` and ``errors``."""
        return {
            "saga_id.$": saga_id_path(saga),
            "execution_arn.$": "$$.Execution.Id",
            **who,
            "input.$": "$.input",
            "results.$": "$.results",
            **errors,
        }

    def step_record_errors(self, step: str) -> dict[str, Any]:
        """A failed retriable step's record: its error."""
        return {"error.$": f"$.dead_lettered.{step}"}

    def compensation_record_errors(self, position: int, pending: list[str]) -> dict[str, Any]:
        """A failed compensation's record: both errors, the compensations done, and those pending from ``position``."""
        return {
            "error.$": "$.error",
            "compensation_error.$": "$.compensation_error",
            "compensations_done.$": "$.compensated",
            "compensations_pending.$": f"$.compensation_order[{position}:]",
        }

    def send(self, queue_url: str, record: dict[str, Any]) -> dict[str, Any]:
        """The SQS sendMessage of a record; the state document stays as it was."""
        return {"parameters": {"QueueUrl": queue_url, "MessageBody": record}, "result_path": None}

    def keep(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record that could not be sent, and why, as the state."""
        return {"parameters": {**record, "not_sent_because.$": "$.dead_letter_error"}}

    def failed(self) -> dict[str, Any]:
        """A compensated saga's Fail: the original error and cause."""
        return {"error_path": "$.error.Error", "cause_path": "$.error.Cause"}

    def compensation_failed_cause(self) -> dict[str, Any]:
        """SagaCompensationFailed's cause: ``<compensation error> while compensating <error>: <its cause>``."""
        return {"cause_path": "States.Format('{} while compensating {}: {}', $.compensation_error.Error, $.error.Error, $.compensation_error.Cause)"}

    def record_as_cause(self) -> dict[str, Any]:
        """A record that could not be sent, the state, as the Fail's cause."""
        return {"cause_path": "States.JsonToString($)"}

    def succeeded(self) -> dict[str, Any]:
        """SagaSucceeded: the state document is the output."""
        return {}


def saga_id_path(saga: Saga) -> str:
    """The context-object path of the saga id: unique per execution, and the same in every state of one.

    A STANDARD execution name is unique per state machine for 90 days, so the name is the id (and a retried
    StartExecution with the same name is the same saga). An EXPRESS name may be reused, so its id is the
    execution ARN, which ends in a UUID for EXPRESS executions.
    https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html
    """
    return "$$.Execution.Id" if saga.workflow_type == "EXPRESS" else "$$.Execution.Name"


# --- states ---------------------------------------------------------------------------------


def _ends(saga: Saga, data: Any, compensates: bool) -> list[tuple[str, Any]]:
    """The terminal states: rejected input, success, compensated failure, and the dead-letter outcomes."""
    steps = saga.steps
    out: list[tuple[str, Any]] = [
        (INPUT_REJECTED, FailState(
            comment="The saga input is not a JSON object: fail before any step, so there is nothing to undo.",
            error=INVALID_INPUT_ERROR,
            cause="The saga input must be a JSON object; no step ran.",
        )),
        (SUCCEEDED, SucceedState(comment="Every step succeeded.", **data.succeeded())),
    ]
    if not all(step.retriable for step in steps):  # only non-retriable steps route failures here
        out.append((FAILED, FailState(
            comment="The saga was compensated: fail with the original error and cause.",
            **data.failed(),
        )))
    if compensates:
        out.append((COMPENSATION_FAILED, FailState(
            comment="A compensation failed for good; its repair record is in the dead-letter queue.",
            error=COMPENSATION_FAILED_ERROR,
            **data.compensation_failed_cause(),
        )))
        out.append((COMPENSATION_RECORD_NOT_SENT, _record_not_sent(
            data, COMPENSATION_FAILED_ERROR, "A compensation failed for good and its repair record could not be sent",
        )))
    if any(step.retriable for step in steps):
        out.append((STEP_RECORD_NOT_SENT, _record_not_sent(
            data, RECORD_NOT_SENT_ERROR, "A step past the point of no return failed for good and its repair record could not be sent",
        )))
    return out


def _retriers(retries: tuple[Retry, ...]) -> tuple[Retrier, ...]:
    return tuple(
        # A no-retry guard (MaxAttempts 0) has nothing to wait for: leave its timing fields out.
        Retrier(tuple(r.errors), max_attempts=0) if r.max_attempts == 0 else
        Retrier(tuple(r.errors), r.interval_seconds, r.max_attempts, r.backoff_rate, r.max_delay_seconds, r.jitter)
        for r in retries
    )


def _catch_all(next_state: str, into: dict[str, Any]) -> tuple[Catcher, Catcher]:
    """Catch every error: States.DataLimitExceeded by name (States.ALL does not match it), then States.ALL."""
    return (Catcher((DATA_LIMIT_EXCEEDED,), next_state, **into), Catcher(("States.ALL",), next_state, **into))


def _action_task(saga: Saga, data: Any, step: Step, after: str, catch: tuple[Catcher, ...]) -> TaskState:
    if step.comment:
        comment = step.comment
    elif step.retriable:
        comment = f"Calls {step.action}; past the point of no return, so a failure is dead-lettered, not compensated."
    elif step.compensation:
        comment = f"Calls {step.action}; undone by {step.compensation.name}."
    else:
        comment = f"Calls {step.action}."
    return TaskState(
        comment=comment,
        resource=LAMBDA_INVOKE,
        **data.invoke({"FunctionName": function_reference(step.name), "Payload": data.payload(saga, step.name)}),
        **data.step_result(step.name),
        timeout_seconds=step.timeout_seconds or saga.task_timeout_seconds,
        heartbeat_seconds=step.heartbeat_seconds,
        retry=_retriers(saga.retries_for(step)),
        catch=catch,
        next=after,
    )


def _compensation_task(saga: Saga, data: Any, step: Step, comp: Compensation, after: str) -> TaskState:
    return TaskState(
        comment=comp.comment or f"Undoes {step.name} by calling {comp.action}; a no-op when there is nothing to undo.",
        resource=LAMBDA_INVOKE,
        **data.invoke({"FunctionName": function_reference(comp.name), "Payload": data.payload(saga, comp.name, compensates=step.name)}),
        **data.compensation_result(comp.name),
        timeout_seconds=comp.timeout_seconds or saga.task_timeout_seconds,
        heartbeat_seconds=comp.heartbeat_seconds,
        retry=_retriers(saga.compensation_retries_for(comp)),
        catch=_catch_all(dead_letter_state(comp.name), data.into(COMPENSATION_ERROR)),
        next=after,
    )


def _record(saga: Saga, data: Any, kind: str, who: dict[str, str], errors: dict[str, Any]) -> dict[str, Any]:
    """The repair record: who failed, the saga's data so far, and every error involved."""
    return {"kind": kind, "saga": saga.name, **data.record(saga, who, errors)}


def _dead_letter(data: Any, name: str, comment: str, record: dict[str, Any], after: str, not_sent: str) -> list[tuple[str, Any]]:
    """Send a repair record to the queue; if that fails for good, keep it as the state and fail with it.

    The record Pass replaces the state with the record (no second copy that could outgrow the quota), so
    the record is the input of the Fail state in the execution history, and the Fail's Cause.
    """
    send = TaskState(
        comment=comment,
        resource=SQS_SEND,
        **data.send(substitution(DLQ_PLACEHOLDER), record),
        retry=_retriers((DEAD_LETTER_RETRY,)),
        catch=_catch_all(repair_record_state(name), data.into(DEAD_LETTER_ERROR)),
        next=after,
    )
    keep = PassState(
        comment=f"The repair record of {name} could not be sent: keep it, and why, in the execution history.",
        **data.keep(record),
        next=not_sent,
    )
    return [(dead_letter_state(name), send), (repair_record_state(name), keep)]


def _record_not_sent(data: Any, error: str, what: str) -> FailState:
    return FailState(
        comment=f"{what}: the whole record is the Cause, and this state's input in the execution history.",
        error=error,
        **data.record_as_cause(),
    )


def _step_dead_letter(saga: Saga, data: Any, step: Step, after: str) -> list[tuple[str, Any]]:
    return _dead_letter(
        data,
        step.name,
        f"{step.name} exhausted its retries after the point of no return: keep the saga and send a repair record.",
        _record(saga, data, "StepFailed", {"step": step.name}, data.step_record_errors(step.name)),
        after,
        STEP_RECORD_NOT_SENT,
    )


def _compensation_dead_letter(saga: Saga, data: Any, comp: Compensation, position: int) -> list[tuple[str, Any]]:
    pending = [s.compensation.name for s in reversed(saga.compensatable)][position:]  # type: ignore[union-attr]
    record = _record(saga, data, "CompensationFailed", {"failed_compensation": comp.name}, data.compensation_record_errors(position, pending))
    return _dead_letter(
        data,
        comp.name,
        f"{comp.name} exhausted its retries: stop compensating and send a repair record.",
        record,
        COMPENSATION_FAILED,
        COMPENSATION_RECORD_NOT_SENT,
    )
