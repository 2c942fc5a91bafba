"""Where the saga's data lives in a JSONata machine: workflow variables, assigned as the saga runs.

``Saga(..., query_language="JSONata")`` compiles to the same states, retriers and Catch routing as JSONPath
(``stepsaga.orchestration.compile_saga``), with ``QueryLanguage: "JSONata"`` at the top level. What JSONPath
keeps in one state document (``$.input``, ``$.results``, ``$.error``, ...) is a workflow variable here:

==========================  ==========================================================================
``$input``                  the saga input (``BeginSaga``)
``$results``                ``{<Step>: {"output": <handler output>}}``, merged by each step's ``Assign``
``$compensated``            ``{<Compensation>: {"output": ...}}``, merged by each compensation's ``Assign``
``$saga_error``             the error that started the compensation (a step's Catch): the saga's error
``$compensation_error``     the error of a compensation that exhausted its retries
``$retriable_error``        the error of a step past the point of no return that exhausted its retries
``$dead_letter_error``      why a repair record could not be sent
==========================  ==========================================================================

The names stay clear of JSONata's own functions (``$error`` is one). A handler gets the same event as in
JSONPath, a repair record has the same fields, and the Fail states end with the same Error and Cause. Every
expression refers to the state's own input (``$states.input``), result (``$states.result``), error
(``$states.errorOutput``), context (``$states.context``), or to variables assigned by an earlier state, never
to one its own ``Assign`` sets: Step Functions evaluates ``Assign`` and ``Output`` with the values the state
started with. The 256 KiB rules are JSONPath's: ``BeginSaga``'s output is the input and its JSON text, so an
input over half the quota fails there; an oversized step result fails its Task (``States.DataLimitExceeded``,
caught by name). The execution's output is ``{"input", "results", "compensated"}``, as a choreography's.
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html,
https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stepsaga.model import Saga

from stepsaga.asl.model import OMIT, ChoiceState, PassState
from stepsaga.names import BEGIN, CHECK_INPUT, INPUT_REJECTED

#: The variable each error slot of ``stepsaga.orchestration`` is assigned to by its Catch.
ERROR_VARIABLES = {
    "error": "saga_error",
    "compensation_error": "compensation_error",
    "step_error": "retriable_error",
    "dead_letter_error": "dead_letter_error",
}


def expression(text: str) -> str:
    """A JSONata field value: ``{% <text> %}``."""
    return "{% " + text + " %}"


def saga_id_expression(saga: Saga) -> str:
    """The saga id: the execution name, or for EXPRESS (whose names may repeat) the execution ARN.

    The same rule as ``stepsaga.orchestration.saga_id_path``, read from ``$states.context``.
    """
    return "$states.context.Execution.Id" if saga.workflow_type == "EXPRESS" else "$states.context.Execution.Name"


def _merged(variable: str, name: str) -> str:
    """``$<variable>`` with ``<name>: {"output": <this Task's handler output>}`` added (``Payload`` of lambda:invoke)."""
    return expression(f"$merge([${variable}, {{'{name}': {{'output': $states.result.Payload}}}}])")


class JsonataData:
    """The saga's data in workflow variables; each method returns one construct's fields (see ``JsonPathData``)."""

    query_language = "JSONata"

    def begin(self, saga: Saga, first: str) -> list[tuple[str, Any]]:
        """BeginSaga assigns the variables; CheckSagaInput lets only a JSON object of at most half the quota on."""
        return [
            (BEGIN, PassState(
                comment=(
                    "Keep the input and start empty records of results and compensations, as variables. The output "
                    "holds the input and its JSON text, about twice the input, so an input over half the 256 KiB "
                    "quota fails here (States.DataLimitExceeded), before any step."
                ),
                assign={"input": expression("$states.input"), "results": {}, "compensated": {}},
                output={"input": expression("$states.input"), "input_json": expression("$string($states.input)")},
                next=CHECK_INPUT,
            )),
            # The Output is the rule's: a matched rule's own Output is what the Choice outputs (moto applies a
            # Choice state's own Output only on its Default path).
            (CHECK_INPUT, ChoiceState(
                comment="Only a JSON object starts the saga; its JSON text is dropped here.",
                choices=({"Condition": expression("$type($states.input.input) = 'object'"),
                          "Output": expression("$states.input.input"), "Next": first},),
                default=INPUT_REJECTED,
            )),
        ]

    def payload(self, saga: Saga, name: str, compensates: str | None = None) -> dict[str, Any]:
        """A handler's event, the same as JSONPath's: saga id, state, idempotency key, input, results (and error)."""
        saga_id = saga_id_expression(saga)
        payload: dict[str, Any] = {
            "saga_id": expression(saga_id),
            "step": name,
            # Derived from the execution, so every retry of this state sends the same key.
            "idempotency_key": expression(f"{saga_id} & ':{name}'"),
            "input": expression("$input"),
            "results": expression("$results"),
        }
        if compensates is not None:
            payload["compensates"] = compensates
            payload["error"] = expression("$saga_error")
        return payload

    def invoke(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """A Task's request to its integration."""
        return {"arguments": arguments}

    def step_result(self, name: str) -> dict[str, Any]:
        """A step's handler output, merged into ``$results``."""
        return {"assign": {"results": _merged("results", name)}}

    def compensation_result(self, name: str) -> dict[str, Any]:
        """A compensation's handler output, merged into ``$compensated``."""
        return {"assign": {"compensated": _merged("compensated", name)}}

    def into(self, slot: str, step: str | None = None) -> dict[str, Any]:
        """A Catch assigns the error to its slot's variable (``ERROR_VARIABLES``); its output is the error."""
        return {"result_path": OMIT, "assign": {ERROR_VARIABLES[slot]: expression("$states.errorOutput")}}

    def record(self, saga: Saga, who: dict[str, str], errors: dict[str, Any]) -> dict[str, Any]:
        """A repair record's saga id, execution, input and results around ``who`` and ``errors``."""
        return {
            "saga_id": expression(saga_id_expression(saga)),
            "execution_arn": expression("$states.context.Execution.Id"),
            **who,
            "input": expression("$input"),
            "results": expression("$results"),
            **errors,
        }

    def step_record_errors(self, step: str) -> dict[str, Any]:
        """A failed retriable step's record: its error."""
        return {"error": expression("$retriable_error")}

    def compensation_record_errors(self, position: int, pending: list[str]) -> dict[str, Any]:
        """A failed compensation's record: both errors, the compensations done, and the pending ones (literal)."""
        return {
            "error": expression("$saga_error"),
            "compensation_error": expression("$compensation_error"),
            "compensations_done": expression("$compensated"),
            "compensations_pending": list(pending),
        }

    def send(self, queue_url: str, record: dict[str, Any]) -> dict[str, Any]:
        """The SQS sendMessage of a record."""
        return {"arguments": {"QueueUrl": queue_url, "MessageBody": record}}

    def keep(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record that could not be sent, and why, as the state's output."""
        return {"output": {**record, "not_sent_because": expression("$dead_letter_error")}}

    def failed(self) -> dict[str, Any]:
        """A compensated saga's Fail: the original error and cause."""
        return {"error": expression("$saga_error.Error"), "cause": expression("$saga_error.Cause")}

    def compensation_failed_cause(self) -> dict[str, Any]:
        """SagaCompensationFailed's cause: ``<compensation error> while compensating <error>: <its cause>``."""
        return {"cause": expression(
            "$compensation_error.Error & ' while compensating ' & $saga_error.Error & ': ' & $compensation_error.Cause"
        )}

    def record_as_cause(self) -> dict[str, Any]:
        """A record that could not be sent, this Fail's input, as its cause (compact JSON text)."""
        return {"cause": expression("$string($states.input)")}

    def succeeded(self) -> dict[str, Any]:
        """SagaSucceeded's output: the saga's data."""
        return {"output": {"input": expression("$input"), "results": expression("$results"), "compensated": expression("$compensated")}}
