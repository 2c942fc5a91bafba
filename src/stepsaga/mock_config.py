"""A saga's Step Functions Local ``MockConfigFile.json``: one test case per fault scenario, for the AWS container.

The file's format is AWS's (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html)::

    {"StateMachines": {"<saga>": {"TestCases": {"<case>": {"<Task state>": "<mocked response name>"}}}},
     "MockedResponses": {"<name>": {"0": {"Throw": {"Error": "...", "Cause": "..."}}, "1-2": {...}, "3": {"Return": ...}}}}

Each test case is a scenario of ``stepsaga.mock_scenarios`` (the same faults as ``stepsaga run --fail``), and its
responses are what that scenario did on the embedded runtime, with the saga's real handlers, the given input and
seed: the file is a recording, so a mock's Return gives the container the same downstream result the local run had.

* Every Task state the run entered is mocked, each of its attempts in turn: Step Functions Local gives a mocked
  state one response per invocation, in order, so a retried state consumes one index per attempt (and a state
  with fewer responses than attempts fails the execution). Equal consecutive responses share a range, ``"0-6"``.
* A ``lambda:invoke`` Return is Lambda's invoke response less its per-request metadata: ``ExecutedVersion``,
  ``Payload`` (the handler's result) and ``StatusCode`` 200. A Throw is the attempt's Error and Cause, as the
  runtime wrote them (``stepsaga.lambda_errors``); a Task timeout is ``States.Timeout`` with an empty Cause.
* Lambda's request id in a Cause is new per invocation; the file writes a fixed one per state (a UUID derived
  from the saga and state names), so that the file is the same on every run and retries share one range.
* The dead-letter sends (``sqs:sendMessage``, ``ResultPath: null``) return SendMessage's fields, ``MD5OfMessageBody``
  and ``MessageId``, with fixed stand-in values derived from the saga and state: the state discards
  its result, and the local run's are random per run.
* Responses are named ``<State>.<what happens>`` (``ProcessPayment.PaymentGatewayTimeout-x3-then-Succeeds``) and
  shared between the test cases where they are equal; a second response of the same description is named after
  the first test case using it.

Running the file: ``docs/guide.md`` ("Step Functions Local"). Standard library only; ``generate`` starts the
embedded runtime (boto3, moto) on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stepsaga.asl.render import render as render_json
from stepsaga.lambda_errors import request_id_of
from stepsaga.mock_scenarios import Scenario, scenarios
from stepsaga.model import Saga
from stepsaga.names import DLQ_PLACEHOLDER, PLACEHOLDER_PATTERN, placeholder_state, substitution
from stepsaga.orchestration import to_asl

#: Step Functions Local's default account and region: the ARNs its executions and the stand-in resources carry.
LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"
#: Where ``docker run`` mounts the file in the container, as AWS's guide does.
CONTAINER_PATH = "/home/StepFunctionsLocal/MockConfigFile.json"
#: The name of every local run (the saga id its handlers see), so that results derived from it (an idempotency
#: key, an id hashed from it) are the same in every test case, and shared.
EXECUTION_NAME = "stepsaga-mock-config"

_NAMESPACE = uuid.UUID("5f0d6c1e-7a53-4c1b-9a39-1c6b2f4c8e21")  # stepsaga's: the fixed ids are stepsaga's own
#: The fields of Lambda's invoke response a mock returns: what is not per-request metadata (request ids, dates).
_INVOKE_FIELDS = ("ExecutedVersion", "Payload", "StatusCode")


def request_id(saga: str, state: str) -> str:
    """The fixed Lambda request id the file writes in every Cause of a state."""
    return str(uuid.uuid5(_NAMESPACE, f"{saga}/{state}/request"))


def state_machine_arn(saga: Saga, case: str | None = None) -> str:
    """The state machine's ARN in Step Functions Local, with ``#<case>`` to run a test case."""
    arn = f"arn:aws:states:{LOCAL_REGION}:{LOCAL_ACCOUNT}:stateMachine:{saga.name}"
    return f"{arn}#{case}" if case else arn


def container_definition(saga: Saga) -> str:
    """The compiled ASL with every placeholder filled for Step Functions Local: each function's ARN
    (``arn:aws:lambda:us-east-1:123456789012:function:<Saga>-<State>``) and a dead-letter queue URL. A mocked
    state never calls them, but the definition must name something."""
    asl = to_asl(saga)
    values = {}
    for key in dict.fromkeys(re.findall(PLACEHOLDER_PATTERN, asl)):
        state = placeholder_state(key)
        if state is not None:
            values[key] = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{saga.name}-{state}"
        elif key == DLQ_PLACEHOLDER:
            values[key] = f"https://sqs.{LOCAL_REGION}.amazonaws.com/{LOCAL_ACCOUNT}/{saga.name}-dlq"
        else:  # pragma: no cover - the compiler writes no other placeholder
            raise ValueError(f"saga {saga.name}: placeholder ${{{key}}} has no stand-in for Step Functions Local")
    for key, value in values.items():
        asl = asl.replace(substitution(key), value)
    return asl


# --- one run's history, as the responses of its Task states -------------------------------------------------


def task_responses(saga: str, history: Sequence[Mapping[str, Any]], root: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Each Task state's responses in one execution, one per attempt, in the order the states were entered:
    ``{"ProcessPayment": [{"Throw": {...}}, {"Return": {...}}], ...}``. A stack trace's paths under ``root`` (the
    handlers' project folder) are written relative to it, the same on every machine."""
    out: dict[str, list[dict[str, Any]]] = {}
    state = None
    for event in history:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            state = event["stateEnteredEventDetails"]["name"] if kind == "TaskStateEntered" else None
            if state is not None:
                out.setdefault(state, [])
        elif state is None:
            continue
        elif kind == "TaskSucceeded":
            details = event["taskSucceededEventDetails"]
            out[state].append({"Return": _returned(saga, state, details)})
        elif kind in ("TaskFailed", "TaskTimedOut"):
            details = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails") or {}
            cause = _fixed_cause(saga, state, details.get("cause") or "")
            if root:
                cause = cause.replace(root.rstrip("/\\") + os.sep, "")
            out[state].append({"Throw": {"Error": details.get("error", ""), "Cause": cause}})
    return out


def _returned(saga: str, state: str, details: Mapping[str, Any]) -> Any:
    output = json.loads(details.get("output") or "null")
    if details.get("resourceType") == "lambda" and isinstance(output, dict):
        return {key: output[key] for key in _INVOKE_FIELDS if key in output}
    if details.get("resourceType") == "sqs" and details.get("resource") == "sendMessage":
        seed = f"{saga}/{state}/message"
        return {"MD5OfMessageBody": hashlib.md5(seed.encode()).hexdigest(), "MessageId": str(uuid.uuid5(_NAMESPACE, seed))}
    return output


def _fixed_cause(saga: str, state: str, cause: str) -> str:
    found = request_id_of(cause)
    return cause.replace(found, request_id(saga, state)) if found else cause


def ranges(responses: Sequence[Any]) -> dict[str, Any]:
    """Consecutive equal responses as one inclusive range: ``[a, a, b]`` is ``{"0-1": a, "2": b}``."""
    out: dict[str, Any] = {}
    start = 0
    for index in range(1, len(responses) + 1):
        if index == len(responses) or responses[index] != responses[start]:
            out[str(start) if index - 1 == start else f"{start}-{index - 1}"] = responses[start]
            start = index
    return out


def expand(mocked: Mapping[str, Any]) -> list[Any]:
    """The responses of a mocked response object, one per invocation (the inverse of ``ranges``)."""
    out: list[Any] = []
    for key, response in sorted(mocked.items(), key=lambda item: int(item[0].split("-")[0])):
        first, _, last = key.partition("-")
        out.extend([response] * (int(last or first) - int(first) + 1))
    return out


def _describe(responses: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for key, group in ranges(responses).items():
        first, _, last = key.partition("-")
        count = int(last or first) - int(first) + 1
        what = group["Throw"]["Error"].replace(".", "") if "Throw" in group else "Succeeds"
        parts.append(what if count == 1 else f"{what}-x{count}")
    return "-then-".join(parts)


# --- the file --------------------------------------------------------------------------------------------


def assemble(saga: Saga, runs: Sequence[tuple[str, dict[str, list[dict[str, Any]]]]]) -> dict[str, Any]:
    """The MockConfigFile document from each test case's Task responses (``task_responses``), in case order."""
    cases: dict[str, dict[str, str]] = {}
    mocked: dict[str, dict[str, Any]] = {}
    named: dict[str, str] = {}  # the JSON text of a state's responses -> its name
    for case, states in runs:
        cases[case] = {}
        for state, responses in states.items():
            body = ranges(responses)
            key = json.dumps([state, body], sort_keys=True)
            name = named.get(key)
            if name is None:
                name = f"{state}.{_describe(responses)}"
                if name in mocked:
                    name = f"{name}.{case}"
                named[key] = name
                mocked[name] = body
            cases[case][state] = name
    return {"StateMachines": {saga.name: {"TestCases": cases}}, "MockedResponses": mocked}


def generate(
    saga: Saga,
    input: Any,
    *,
    seed: Mapping[str, Any] | None = None,
    root: str | Path | None = None,
) -> tuple[dict[str, Any], list[tuple[Scenario, Any]]]:
    """Run every scenario of the saga on the embedded runtime, with its real handlers, and return the
    MockConfigFile document and each scenario with its run's ``SagaResult``.

    ``input`` is the execution input of every run (start the container's executions with it too), ``seed`` and
    ``root`` as ``EmbeddedCloud`` takes them. Raises what ``EmbeddedCloud`` raises: ``SeedError``, a
    ``DefinitionError`` for a handler path that does not import as on Lambda, ``StartExecutionError``.
    """
    from stepsaga.local import EmbeddedCloud

    results: list[tuple[Scenario, Any]] = []
    with EmbeddedCloud(saga, seed=seed, root=root) as cloud:
        for index, scenario in enumerate(scenarios(saga)):
            if index:
                cloud.reset()
            result = cloud.run(input, dict(scenario.faults), name=EXECUTION_NAME)
            results.append((scenario, result))
        folder = cloud.root
    runs = [(scenario.name, task_responses(saga.name, result.history, folder)) for scenario, result in results]
    return assemble(saga, runs), results


def render(config: Mapping[str, Any]) -> str:
    """The file's text: 2-space indent, lists of plain values on one line, a newline at the end (deterministic)."""
    return render_json(dict(config))


def replay(cloud: Any, config: Mapping[str, Any], case: str, input: Any, *, name: str = EXECUTION_NAME) -> Any:
    """Play one test case of a MockConfigFile document on a started ``EmbeddedCloud`` of its saga, as Step
    Functions Local plays it: every mocked Task state answers from its responses, one per attempt, and runs no
    handler (moto's port of the mocked service integrations, ``stepsaga.local._moto.mocked``). Returns the
    run's ``SagaResult``; a Task state the test case does not mock fails with ``Lambda.ResourceNotFoundException``
    (there is no function behind it). ``KeyError`` names a test case or response the document lacks.
    """
    from stepsaga.local import _moto
    from stepsaga.local._moto import mocked
    from stepsaga.local.engine import LambdaServiceError
    from stepsaga.local.quotas import input_text
    from stepsaga.local.result import build_result

    saga = cloud.saga
    test_case = mocked.test_case(config, saga.name, case)

    def unmocked(invocation: Any, context: Any) -> Any:
        raise LambdaServiceError("ResourceNotFoundException", f"test case {case} mocks no response for {invocation.state_name}")

    with _moto.aws_in_process():
        raw = _moto.run_inline(cloud.state_machine_arn, input_text(input), name, unmocked,
                               account_id=cloud.account, region=cloud.region, mock_test_case=test_case)
    return build_result(saga, raw, [], [], 0.0)
