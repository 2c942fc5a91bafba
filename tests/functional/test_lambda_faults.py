"""Each fault kind is reported as Lambda reports it, on the order saga with its real handlers."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from stepsaga.local import CrashAfter, Exit, Fail, FaultError, FunctionTimeout, Timeout, parse_fault

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
_ORDER = json.loads((INPUTS / "order.json").read_text())
_IDS = itertools.count(3001)


def order() -> dict:
    """The reference order under a new id: ValidateOrder rejects an id it has seen."""
    return {**_ORDER, "order_id": f"ord-{next(_IDS)}"}


UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def cloud(order_cloud):
    return order_cloud


def first_failure(result, state: str) -> dict:
    """The first TaskFailed event of ``state``: its error and cause as Step Functions recorded them."""
    current = None
    for event in result.history:
        if event["type"].endswith("StateEntered"):
            current = event["stateEnteredEventDetails"]["name"]
        if event["type"] == "TaskFailed" and current == state:
            return event["taskFailedEventDetails"]
    raise AssertionError(f"{state} never failed")


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("timeout", Timeout()),
        ("function-timeout", FunctionTimeout()),
        ("function-timeout:30@2", FunctionTimeout(30.0, attempts=2)),
        ("Sandbox.Timedout", FunctionTimeout()),
        ("exit", Exit()),
        ("exit:137@1", Exit(137, attempts=1)),
        ("Runtime.ExitError", Exit()),
        ("crash", CrashAfter()),
        ("crash:Boom", CrashAfter("Boom")),
        ("PaymentDeclined@2", Fail("PaymentDeclined", attempts=2)),
    ],
)
def test_the_cli_spellings(spec, fault):
    assert parse_fault(f"ProcessPayment={spec}") == ("ProcessPayment", fault)


@pytest.mark.parametrize("spec", ["function-timeout:soon", "function-timeout:0", "function-timeout:901", "exit:-1", "exit:256"])
def test_bad_spellings_say_what_to_write(spec):
    with pytest.raises(FaultError, match="write"):
        parse_fault(f"ProcessPayment={spec}")


def test_exit_is_lambdas_own_payload_and_the_handler_never_ran(cloud):
    result = cloud.run(order(), {"ProcessPayment": Exit()})
    failed = first_failure(result, "ProcessPayment")
    assert failed["error"] == "Runtime.ExitError"
    assert re.fullmatch(
        '{"errorMessage":"RequestId: ' + UUID + ' Error: Runtime exited with error: exit status 1","errorType":"Runtime.ExitError"}',
        failed["cause"],
    ), failed["cause"]
    assert not [r for r in cloud.items("payments") if r.get("saga_id") == result.execution]


def test_a_crash_after_the_work_is_the_same_payload(cloud):
    result = cloud.run(order(), {"ReserveInventory": CrashAfter()})
    failed = first_failure(result, "ReserveInventory")
    assert failed["error"] == "Runtime.ExitError" and "stackTrace" not in failed["cause"]
    assert "Error: Runtime exited with error: exit status 1" in json.loads(failed["cause"])["errorMessage"]
    # a named crash is a Python exception: the runtime's four keys
    result = cloud.run(order(), {"ReserveInventory": CrashAfter("Boom")})
    assert list(json.loads(first_failure(result, "ReserveInventory")["cause"])) == ["errorMessage", "errorType", "requestId", "stackTrace"]


def test_function_timeout_is_sandbox_timedout_on_the_virtual_clock(cloud):
    result = cloud.run(order(), {"ValidateOrder": FunctionTimeout(12)})
    failed = first_failure(result, "ValidateOrder")
    assert failed["error"] == "Sandbox.Timedout"
    assert re.fullmatch('{"errorMessage":"RequestId: ' + UUID + ' Error: Task timed out after 12.00 seconds","errorType":"Sandbox.Timedout"}',
                        failed["cause"]), failed["cause"]
    assert result.virtual_seconds >= 12


def test_failing_with_a_platform_error_name_gives_the_platform_payload(cloud):
    result = cloud.run(order(), {"ValidateOrder": Fail("Runtime.ExitError")})
    assert json.loads(first_failure(result, "ValidateOrder")["cause"])["errorType"] == "Runtime.ExitError"
    assert "requestId" not in json.loads(first_failure(result, "ValidateOrder")["cause"])


def test_an_injected_error_is_the_python_runtimes_payload(cloud):
    result = cloud.run(order(), {"ProcessPayment": Fail("PaymentDeclined", "carte refusée")})
    cause = first_failure(result, "ProcessPayment")["cause"]
    assert cause.startswith('{"errorMessage": "carte refusée", "errorType": "PaymentDeclined", "requestId": "')
    assert cause.endswith('", "stackTrace": []}')
