"""`stepsaga mock-config`: the order saga's Step Functions Local MockConfigFile, its shape, and its fidelity.

The file is golden (``tests/golden/order_saga.MockConfigFile.json``, regenerated and compared byte for byte). Its
shape is checked against a JSON Schema written from AWS's page on the format (``tests/schemas/``). Each test case is
checked three ways: every mocked response against what the same fault did on the local runtime, attempt by attempt;
the number of responses against what the compiled Task's retriers grant the fault; and the whole test case played
as Step Functions Local plays a mock configuration (moto's port of it, no handler runs) against the local run with
the real handlers: the same states, attempts, status, error, cause and output.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from stepsaga import mock_config
from stepsaga.choreography.retry import matches
from stepsaga.lambda_errors import request_id_of
from stepsaga.local import EmbeddedCloud, default_seed, parse_fault
from stepsaga.local.faults import CrashAfter, Exit, Fail, FunctionTimeout, Timeout
from stepsaga.mock_scenarios import scenarios
from stepsaga.orchestration import to_asl

ROOT = Path(__file__).resolve().parents[2]
ORDER = json.loads((ROOT / "workflows/inputs/order.json").read_text())
GOLDEN = ROOT / "tests/golden/order_saga.MockConfigFile.json"
SCHEMA = json.loads((ROOT / "tests/schemas/MockConfigFile.schema.json").read_text())
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def saga():
    from stepsaga.loader import load

    [found] = load(str(ROOT / "workflows" / "order_saga.py"))
    return found


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cloud(saga):
    with EmbeddedCloud(saga, seed=default_seed(saga, ROOT / "workflows" / "inputs"), root=ROOT) as started:
        yield started


@pytest.fixture(scope="module")
def local_runs(saga, cloud):
    """Each scenario run on the local runtime from its ``--fail`` texts, apart from the generator."""
    runs = {}
    for scenario in scenarios(saga):
        cloud.reset()
        faults = dict(parse_fault(text) for text in scenario.fail_args)
        runs[scenario.name] = (faults, cloud.run(ORDER, faults, name=mock_config.EXECUTION_NAME))
    return runs


def test_the_committed_file_is_what_the_order_saga_generates(saga):
    config, _ = mock_config.generate(saga, ORDER, seed=default_seed(saga, ROOT / "workflows" / "inputs"), root=ROOT)
    assert mock_config.render(config) == GOLDEN.read_text(encoding="utf-8"), (
        "tests/golden/order_saga.MockConfigFile.json is stale: run "
        "stepsaga mock-config workflows/order_saga.py --input @workflows/inputs/order.json -o tests/golden/order_saga.MockConfigFile.json"
    )


def test_the_file_has_the_documented_shape(saga, golden):
    jsonschema.validate(golden, SCHEMA)
    states = json.loads(to_asl(saga))["States"]
    [(machine, body)] = golden["StateMachines"].items()
    assert machine == saga.name  # the name the container's state machine is created with
    assert list(body["TestCases"]) == [s.name for s in scenarios(saga)]
    used = set()
    for case, mocked in body["TestCases"].items():
        for state, name in mocked.items():
            assert states[state]["Type"] == "Task", f"{case}: {state} is not a Task state"
            assert name in golden["MockedResponses"], f"{case}: {state} names a response the file lacks: {name}"
            used.add(name)
    assert used == set(golden["MockedResponses"]), "every mocked response is used by a test case"
    for name, responses in golden["MockedResponses"].items():
        # "you must specify a mocked response for every invocation": from 0, consecutive, no overlap
        covered = []
        for key in responses:
            first, _, last = key.partition("-")
            covered.extend(range(int(first), int(last or first) + 1))
        assert covered == list(range(len(covered))), f"{name}: invocations {list(responses)} are not 0, 1, 2, ... in order"


def _attempts(result, state):
    """(outcome, error, cause) of each attempt of a Task state in a local run, from its history."""
    return [(a.outcome, a.error, a.cause) for s in result.states if s.name == state for a in s.attempts]


def _outputs(result, state):
    """The output of each successful attempt of a state in a local run: the task result it saw."""
    out, current = [], None
    for event in result.history:
        if event["type"].endswith("StateEntered"):
            current = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "TaskSucceeded" and current == state:
            out.append(json.loads(event["taskSucceededEventDetails"]["output"]))
    return out


def test_each_mocked_response_is_what_the_local_runtime_produced(saga, golden, local_runs):
    states = json.loads(to_asl(saga))["States"]
    for case, mocked in golden["StateMachines"][saga.name]["TestCases"].items():
        faults, result = local_runs[case]
        tasks = [s.name for s in result.states if s.type == "Task"]
        assert list(mocked) == tasks, f"{case}: the test case mocks {list(mocked)}, the local run entered the Tasks {tasks}"
        for state, name in mocked.items():
            responses = mock_config.expand(golden["MockedResponses"][name])
            attempts, outputs = _attempts(result, state), iter(_outputs(result, state))
            assert len(responses) == len(attempts), f"{case}: {state} has {len(responses)} responses for {len(attempts)} attempts"
            for index, (response, (outcome, error, cause)) in enumerate(zip(responses, attempts)):
                where = f"{case}: {state} attempt {index + 1}"
                if outcome == "ok":
                    seen = next(outputs)
                    if states[state]["Resource"].endswith(":lambda:invoke"):
                        assert response["Return"] == {k: seen[k] for k in ("ExecutedVersion", "Payload", "StatusCode")}, where
                        assert response["Return"]["StatusCode"] == 200
                    else:  # a dead-letter send: its result is discarded, so stand-in values change nothing
                        assert states[state]["ResultPath"] is None and set(response["Return"]) == set(seen), where
                    continue
                throw = response["Throw"]
                assert throw["Error"] == error, where
                local_id = request_id_of(cause or "")
                expected = (cause or "").replace(local_id, mock_config.request_id(saga.name, state)) if local_id else (cause or "")
                expected = expected.replace(str(ROOT) + os.sep, "")  # a stack trace's paths, relative to the project
                assert throw["Cause"] == expected, where
            # how many attempts a fault makes, from the Task's own retriers (not from any run)
            assert len(responses) == _expected_attempts(states[state], faults.get(state)), f"{case}: {state}"


def _expected_attempts(state: dict, fault) -> int:
    """The attempts a Task makes under a handler fault, by ASL's Retry rules on the compiled retriers."""
    error = {Timeout: "States.Timeout", FunctionTimeout: "Sandbox.Timedout", Exit: "Runtime.ExitError"}.get(type(fault))
    if isinstance(fault, (Fail, CrashAfter)):
        error = fault.error
    if error is None:
        return 1
    granted = next((r.get("MaxAttempts", 3) for r in state.get("Retry", []) if matches(r["ErrorEquals"], error)), 0)
    if fault.attempts is not None and fault.attempts <= granted:
        return fault.attempts + 1  # the real handler succeeds on the attempt after the last failing one
    return granted + 1


def test_each_test_case_played_as_step_functions_local_ends_as_the_local_run(saga, golden, cloud, local_runs):
    def same_in_both(text):  # Lambda's request ids: new per invocation locally, fixed per state in the file
        return UUID.sub("<request id>", text) if text else text

    for case in golden["StateMachines"][saga.name]["TestCases"]:
        _, local = local_runs[case]
        cloud.reset()
        played = mock_config.replay(cloud, golden, case, ORDER)
        assert played.calls == [], f"{case}: a handler ran, so a Task state was not mocked"
        assert (played.status, played.error) == (local.status, local.error), case
        assert same_in_both(played.cause) == same_in_both(local.cause), case
        assert same_in_both(played.raw_output) == same_in_both(local.raw_output), case
        # each attempt's error (None: it succeeded); a mocked Throw is a TaskFailed event, even of States.Timeout
        assert [(s.name, [a.error for a in s.attempts]) for s in played.states] == [
            (s.name, [a.error for a in s.attempts]) for s in local.states
        ], case


def test_a_test_case_that_mocks_too_few_attempts_fails_as_step_functions_local_does(saga, golden, cloud):
    # the file must cover every attempt: drop the last response of a retried state and the replay cannot go on
    broken = json.loads(json.dumps(golden))
    name = broken["StateMachines"][saga.name]["TestCases"]["ProcessPayment-PaymentGatewayTimeout-Retried"]["ProcessPayment"]
    broken["MockedResponses"][name] = {"0-2": broken["MockedResponses"][name]["0-2"]}
    cloud.reset()
    played = mock_config.replay(cloud, broken, "ProcessPayment-PaymentGatewayTimeout-Retried", ORDER)
    assert played.status == "FAILED" and played.error == "States.Runtime"
    assert "No mocked response definition for state 'ProcessPayment'" in played.cause


def test_the_command_writes_the_file_and_a_definition_for_the_container(tmp_path, monkeypatch, capsys):
    from stepsaga.asl.lint import lint
    from stepsaga.cli import main

    monkeypatch.chdir(ROOT)
    out, definition = tmp_path / "MockConfigFile.json", tmp_path / "OrderSaga.local.asl.json"
    assert main(["mock-config", "workflows/order_saga.py", "--input", "@workflows/inputs/order.json", "-o", str(out), "--definition", str(definition)]) == 0
    assert out.read_text(encoding="utf-8") == GOLDEN.read_text(encoding="utf-8")
    asl = json.loads(definition.read_text(encoding="utf-8"))
    assert "${" not in definition.read_text(encoding="utf-8") and lint(asl) == []
    assert asl["States"]["ProcessPayment"]["Parameters"]["FunctionName"] == "arn:aws:lambda:us-east-1:123456789012:function:OrderSaga-ProcessPayment"
    err = capsys.readouterr().err
    assert "ProcessPayment-PaymentGatewayTimeout-Retried: --fail ProcessPayment=PaymentGatewayTimeout@3 -> SUCCEEDED" in err
    assert "arn:aws:states:us-east-1:123456789012:stateMachine:OrderSaga#HappyPath" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--input", "{not json"], "--input '{not json' is not JSON"),
        (["--input", "{}", "--seed", "nosuch=[]"], "saga OrderSaga declares no table 'nosuch'"),
    ],
)
def test_a_bad_call_exits_2_and_says_why(argv, says, monkeypatch, capsys):
    from stepsaga.cli import main

    monkeypatch.chdir(ROOT)
    assert main(["mock-config", "workflows/order_saga.py", *argv]) == 2
    assert says in capsys.readouterr().err
