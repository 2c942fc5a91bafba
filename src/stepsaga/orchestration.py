"""Saga -> Amazon States Language: one Task per step, Catch into a reverse compensation chain.

The state data of a running saga is always
``{"input": <original input>, "results": {<Step>: {"output": ...}}, "compensated": {...}}``
plus ``error`` once a step failed and ``compensation_error`` once a compensation failed.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stepsaga.asl.lint import lint
from stepsaga.asl.model import Catcher, FailState, PassState, Retrier, StateMachine, SucceedState, TaskState
from stepsaga.asl.render import render
from stepsaga.errors import LintError
from stepsaga.model import Compensation, Retry, Saga, Step

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SQS_SEND = "arn:aws:states:::sqs:sendMessage"
DLQ_PLACEHOLDER = "DeadLetterQueueUrl"

BEGIN, SUCCEEDED, FAILED, COMPENSATION_FAILED = "BeginSaga", "SagaSucceeded", "SagaFailed", "SagaCompensationFailed"
COMPENSATION_FAILED_ERROR = "SagaCompensationFailed"

# Sending a repair record must survive SQS throttling; it is the last line of "nothing is dropped".
_DLQ_RETRY = Retrier(("States.ALL",), interval_seconds=1, max_attempts=5, backoff_rate=2.0, jitter_strategy="FULL")


def function_placeholder(state_name: str) -> str:
    """The DefinitionSubstitutions key of the Lambda behind a state: ProcessPayment -> ProcessPaymentFunctionArn."""
    return f"{state_name}FunctionArn"


def dead_letter_state(name: str) -> str:
    """The name of the state that dead-letters a failed step or compensation."""
    return f"{name}DeadLetter"


def placeholders(saga: Saga) -> list[str]:
    """Every ``${...}`` placeholder the compiled ASL uses, in a stable order."""
    names = [function_placeholder(n) for n in saga.handlers()]
    if saga.compensatable or any(s.retriable for s in saga.steps):
        names.append(DLQ_PLACEHOLDER)
    return names


def compile_saga(saga: Saga) -> StateMachine:
    """Build the typed state machine for a saga."""
    steps = list(saga.steps)
    chain = list(reversed(saga.compensatable))
    begin: dict[str, Any] = {"input.$": "$", "results": {}, "compensated": {}}
    if chain:
        # Kept once in the state so each dead-letter record can slice its pending list: linear size.
        begin["compensation_order"] = [s.compensation.name for s in chain]  # type: ignore[union-attr]
    states: list[tuple[str, Any]] = []
    states.append((BEGIN, PassState(
        comment="Keep the original input and start empty records of step results and compensations.",
        parameters=begin,
        next=steps[0].name,
    )))

    entry_before = FAILED  # where compensation starts for a failure before any compensatable step
    for i, step in enumerate(steps):
        after = steps[i + 1].name if i + 1 < len(steps) else SUCCEEDED
        if step.retriable:
            states.append((step.name, _action_task(saga, step, after, catch=(
                Catcher(("States.ALL",), dead_letter_state(step.name), f"$.dead_lettered.{step.name}"),
            ))))
            states.append((dead_letter_state(step.name), _step_dead_letter(saga, step, after)))
            continue
        own_entry = step.compensation.name if step.compensation else entry_before
        catch: list[Catcher] = []
        if step.business_errors and own_entry != entry_before:
            catch.append(Catcher(tuple(step.business_errors), entry_before))
        catch.append(Catcher(("States.ALL",), own_entry))
        states.append((step.name, _action_task(saga, step, after, catch=tuple(catch))))
        entry_before = own_entry

    for k, step in enumerate(chain):
        comp = step.compensation
        assert comp is not None
        after = chain[k + 1].compensation.name if k + 1 < len(chain) else FAILED  # type: ignore[union-attr]
        states.append((comp.name, _compensation_task(saga, step, comp, after)))
        states.append((dead_letter_state(comp.name), _compensation_dead_letter(saga, comp, k)))

    states.append((SUCCEEDED, SucceedState(comment="Every step succeeded.")))
    if not all(step.retriable for step in steps):  # only non-retriable steps route failures here
        states.append((FAILED, FailState(
            comment="The saga was compensated: fail with the original error and cause.",
            error_path="$.error.Error",
            cause_path="$.error.Cause",
        )))
    if chain:
        states.append((COMPENSATION_FAILED, FailState(
            comment="A compensation failed for good; its repair record is in the dead-letter queue.",
            error=COMPENSATION_FAILED_ERROR,
            cause_path="States.Format('{} while compensating {}: {}', $.compensation_error.Error, $.error.Error, $.compensation_error.Cause)",
        )))
    return StateMachine(
        comment=saga.comment or f"Saga {saga.name}",
        start_at=BEGIN,
        states=tuple(states),
        timeout_seconds=saga.timeout_seconds,
    )


def to_asl(saga: Saga) -> str:
    """Compile a saga, lint the result, and render the exact JSON text."""
    machine = compile_saga(saga)
    doc = machine.to_json()
    problems = lint(doc, machine.duplicate_names())
    if problems:
        raise LintError(problems)
    return render(doc)


# --- states ---------------------------------------------------------------------------------


def _retriers(retries: tuple[Retry, ...]) -> tuple[Retrier, ...]:
    return tuple(
        Retrier(tuple(r.errors), r.interval_seconds, r.max_attempts, r.backoff_rate, r.max_delay_seconds, r.jitter)
        for r in retries
    )


def _payload(name: str, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "saga_id.$": "$$.Execution.Name",
        "step": name,
        # Derived from the execution, so every retry of this state sends the same key.
        "idempotency_key.$": f"States.Format('{{}}:{name}', $$.Execution.Name)",
        "input.$": "$.input",
        "results.$": "$.results",
    }
    payload.update(extra)
    return payload


def _action_task(saga: Saga, step: Step, after: str, catch: tuple[Catcher, ...]) -> TaskState:
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
        parameters={"FunctionName": f"${{{function_placeholder(step.name)}}}", "Payload": _payload(step.name)},
        result_selector={"output.$": "$.Payload"},
        result_path=f"$.results.{step.name}",
        timeout_seconds=step.timeout_seconds or saga.task_timeout_seconds,
        heartbeat_seconds=step.heartbeat_seconds,
        retry=_retriers(saga.retries_for(step)),
        catch=catch,
        next=after,
    )


def _compensation_task(saga: Saga, step: Step, comp: Compensation, after: str) -> TaskState:
    payload = _payload(comp.name, compensates=step.name)
    payload["error.$"] = "$.error"
    return TaskState(
        comment=comp.comment or f"Undoes {step.name} by calling {comp.action}; a no-op when there is nothing to undo.",
        resource=LAMBDA_INVOKE,
        parameters={"FunctionName": f"${{{function_placeholder(comp.name)}}}", "Payload": payload},
        result_selector={"output.$": "$.Payload"},
        result_path=f"$.compensated.{comp.name}",
        timeout_seconds=comp.timeout_seconds or saga.task_timeout_seconds,
        heartbeat_seconds=comp.heartbeat_seconds,
        retry=_retriers(saga.compensation_retries_for(comp)),
        catch=(Catcher(("States.ALL",), dead_letter_state(comp.name), "$.compensation_error"),),
        next=after,
    )


def _record(saga: Saga, kind: str, who: dict[str, str], errors: dict[str, Any]) -> dict[str, Any]:
    """The repair record: who failed, the saga's data so far, and every error involved."""
    return {
        "kind": kind,
        "saga": saga.name,
        "saga_id.$": "$$.Execution.Name",
        "execution_arn.$": "$$.Execution.Id",
        **who,
        "input.$": "$.input",
        "results.$": "$.results",
        **errors,
    }


def _step_dead_letter(saga: Saga, step: Step, after: str) -> TaskState:
    return TaskState(
        comment=f"{step.name} exhausted its retries after the point of no return: keep the saga and send a repair record.",
        resource=SQS_SEND,
        parameters={
            "QueueUrl": f"${{{DLQ_PLACEHOLDER}}}",
            "MessageBody": _record(saga, "StepFailed", {"step": step.name}, {"error.$": f"$.dead_lettered.{step.name}"}),
        },
        result_path=None,
        retry=(_DLQ_RETRY,),
        next=after,
    )


def _compensation_dead_letter(saga: Saga, comp: Compensation, position: int) -> TaskState:
    return TaskState(
        comment=f"{comp.name} exhausted its retries: stop compensating and send a repair record.",
        resource=SQS_SEND,
        parameters={
            "QueueUrl": f"${{{DLQ_PLACEHOLDER}}}",
            "MessageBody": _record(
                saga,
                "CompensationFailed",
                {"failed_compensation": comp.name},
                {
                    "error.$": "$.error",
                    "compensation_error.$": "$.compensation_error",
                    "compensations_done.$": "$.compensated",
                    "compensations_pending.$": f"$.compensation_order[{position}:]",
                },
            ),
        },
        result_path=None,
        retry=(_DLQ_RETRY,),
        next=COMPENSATION_FAILED,
    )
