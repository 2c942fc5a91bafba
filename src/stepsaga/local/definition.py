"""Run any ASL definition on the embedded runtime: a state machine stepsaga did not compile (an SDK workflow's).

``run_definition(definition, input, handlers={...})`` creates the state machine in moto and runs one execution
inline, on the virtual clock (Retry and Wait cost no wall time), as ``EmbeddedCloud.run`` runs a saga's. Each
Lambda task calls the Python callable its function name maps to, with the faults of ``stepsaga.local.faults``;
the other service integrations reach moto (an ``sqs:sendMessage`` needs its queue created in it first).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stepsaga import sandbox
from stepsaga.errors import SagaFailedError
from stepsaga.local import _moto
from stepsaga.local.cloud import _MOCK, ACCOUNT, REGION, ROLE_ARN, _shared
from stepsaga.local.dispatch import Dispatcher
from stepsaga.local.faults import Fault, normalise
from stepsaga.local.quotas import check_start_execution, input_text

Handler = Callable[[Any, Any], Any]


@dataclass
class DefinitionResult:
    """One execution of a definition: status, error and cause, the output, the history, each Lambda attempt."""

    execution: str
    status: str
    error: str | None
    cause: str | None
    raw_output: str | None
    history: list[dict[str, Any]]
    calls: list[Any] = field(default_factory=list)  # stepsaga.local.dispatch.Call, one per Lambda attempt
    virtual_seconds: float = 0.0

    @property
    def output(self) -> Any:
        """The execution's output; raises ``SagaFailedError`` with the error and cause if it did not succeed."""
        if self.status != "SUCCEEDED":
            raise SagaFailedError("(definition)", self.execution, self.status, self.error, self.cause)
        return json.loads(self.raw_output) if self.raw_output else None

    @property
    def entered(self) -> list[str]:
        """The states entered, in order."""
        return [e["stateEnteredEventDetails"]["name"] for e in self.history if e["type"].endswith("StateEntered")]


def run_definition(
    definition: Mapping[str, Any] | str,
    input: Any,
    *,
    handlers: Mapping[str, Handler],
    faults: Mapping[str, Fault | str] | None = None,
    name: str | None = None,
    workflow_type: str = "STANDARD",
) -> DefinitionResult:
    """Run one execution of an ASL document (a dict or its JSON text) in-process and return its result.

    ``handlers`` maps each Lambda function name a Task invokes (``FunctionName``'s name: ``charge`` for
    ``arn:aws:lambda:us-east-1:123456789012:function:charge``) to ``handler(event, context)``; a task whose
    function has none fails with ``Lambda.ResourceNotFoundException``, as on Lambda. ``faults`` are keyed by the
    same function names (``{"charge": Fail("CardDeclined")}``, or ``"CardDeclined@2"``). ``StartExecutionError``
    for an input or name StartExecution refuses; moto's ``InvalidDefinition`` (a botocore ``ClientError``) for a
    definition it refuses; ``FaultError`` for a fault on a function no handler is given for.
    """
    text = definition if isinstance(definition, str) else json.dumps(definition)
    name = name or f"definition-{uuid.uuid4().hex[:12]}"
    payload = input_text(input)
    check_start_execution(name, payload)
    dispatcher = Dispatcher({fn: (fn, handler) for fn, handler in handlers.items()}, normalise(faults, list(handlers)))
    _moto.ensure_installed()
    _MOCK.acquire()
    try:
        with sandbox.Scope(sandbox.aws_environment()).active(), _moto.aws_in_process():
            sfn = _shared("stepfunctions", "client")
            arn = sfn.create_state_machine(name=f"definition-{uuid.uuid4().hex[:8]}", definition=text, roleArn=ROLE_ARN,
                                           type=workflow_type)["stateMachineArn"]
            try:
                raw = _moto.run_inline(arn, payload, name, dispatcher, account_id=ACCOUNT, region=REGION)
            finally:
                sfn.delete_state_machine(stateMachineArn=arn)
    finally:
        _MOCK.release()
    return DefinitionResult(name, raw.status, raw.error, raw.cause, raw.output, raw.history, dispatcher.calls, raw.clock.now)
