"""Issue 7.4 and 7.10: every result field and every assertion helper fails on the wrong outcome.

Each test runs the order saga with an outcome the field or helper must tell apart, and checks that
the helper raises AssertionError for the wrong claim. The ``--json`` fields and the timeline lines
are pinned value by value, so a field written from the wrong source (``waited`` from ``at``, a
pending list from the wrong slice) fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stepsaga import Retry
from stepsaga.local import CrashAfter, EmbeddedCloud, Fail, SagaFailedError, default_seed
from stepsaga.testing import (
    assert_compensated,
    assert_compensation_failed,
    assert_failed_with,
    assert_items,
    assert_no_items,
    assert_succeeded,
)
from tests.order_helpers import assert_nothing_charged

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
ORDER = json.loads((INPUTS / "order.json").read_text())

#: the issue's example: the charge lands, the Lambda crashes, and the refund fails on every attempt
CHARGE_CRASHES_REFUND_DOWN = {"ProcessPayment": CrashAfter(), "RefundPayment": Fail("RefundGatewayDown")}


def test_a_compensation_that_failed_is_not_compensated(order_cloud):
    result = order_cloud.run(ORDER, CHARGE_CRASHES_REFUND_DOWN)
    assert (result.status, result.error) == ("FAILED", "SagaCompensationFailed")
    assert result.compensations == []
    assert result.compensations_failed == ["RefundPayment"]
    assert result.compensations_pending == ["CancelOrder"]
    with pytest.raises(AssertionError, match=r"got done \[\], failed \['RefundPayment'\], pending \['CancelOrder'\]"):
        assert_compensated(result, "RefundPayment")
    with pytest.raises(AssertionError):
        assert_compensated(result, "RefundPayment", "CancelOrder")
    with pytest.raises(AssertionError):
        assert_compensated(result)  # "nothing compensated" is true, but two were owed
    assert_compensation_failed(result, "RefundPayment", pending=["CancelOrder"])
    with pytest.raises(AssertionError):
        assert_compensation_failed(result, "RefundPayment")  # CancelOrder was left pending
    with pytest.raises(AssertionError):
        assert_compensation_failed(result, "CancelOrder", pending=["CancelOrder"])
    with pytest.raises(AssertionError):
        assert_compensation_failed(result, "RefundPayment", done=["RefundPayment"], pending=["CancelOrder"])
    # the helpers tell the truth the tables tell
    with pytest.raises(AssertionError, match="1 item"):
        assert_nothing_charged(order_cloud)
    assert order_cloud.items("orders")[0]["status"] == "PENDING"  # CancelOrder never ran
    # the state's own fields
    refund = result.state("RefundPayment")
    assert (refund.succeeded, refund.error, len(refund.attempts)) == (False, "RefundGatewayDown", 7)
    # the timeline separates them
    lines = result.timeline_text(width=400).splitlines()
    assert "compensations: done none; failed RefundPayment; pending CancelOrder" in lines
    assert lines[0].startswith(f"OrderSaga  {result.execution}  FAILED  SagaCompensationFailed   virtual {result.virtual_seconds:.1f}s")
    assert lines[1].startswith("cause: RefundGatewayDown while compensating Runtime.ExitError: ")


def test_cli_json_tells_done_failed_and_pending_apart():
    exe = Path(sys.executable).parent / "stepsaga"
    proc = subprocess.run(
        [str(exe), "run", "workflows/order_saga.py", "--input", "@workflows/inputs/order.json",
         "--fail", "ProcessPayment=crash", "--fail", "RefundPayment=RefundGatewayDown", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["compensations"], out["compensations_failed"], out["compensations_pending"]) == ([], ["RefundPayment"], ["CancelOrder"])
    assert out["contract_violations"] == []
    [record] = out["dlq"]
    assert record["compensations_pending"] == ["RefundPayment", "CancelOrder"]  # the repair record: all left to undo


def test_a_fully_compensated_run(order_cloud):
    result = order_cloud.run(ORDER, {"ReserveInventory": Fail("OutOfStock")})
    assert (result.compensations, result.compensations_failed, result.compensations_pending) == (["RefundPayment", "CancelOrder"], [], [])
    assert_compensated(result, "RefundPayment", "CancelOrder")
    for wrong in (("CancelOrder", "RefundPayment"), ("RefundPayment",), ("ReleaseInventory", "RefundPayment", "CancelOrder"), ()):
        with pytest.raises(AssertionError, match="expected compensations"):
            assert_compensated(result, *wrong)
    with pytest.raises(AssertionError, match="expected done"):
        assert_compensation_failed(result, "RefundPayment", pending=["CancelOrder"])
    lines = result.timeline_text(width=400).splitlines()
    assert "compensations: done RefundPayment, CancelOrder; failed none; pending none" in lines
    assert not any(line.startswith("dead-letter queue") for line in lines)


def test_status_helpers_fail_on_the_wrong_outcome(order_cloud):
    ok = order_cloud.run(ORDER)
    declined = order_cloud.run({**ORDER, "order_id": "ord-2"}, {"ProcessPayment": Fail("PaymentDeclined")})
    assert_succeeded(ok)
    with pytest.raises(AssertionError, match="expected SUCCEEDED, got FAILED PaymentDeclined"):
        assert_succeeded(declined)
    assert_failed_with(declined, "PaymentDeclined")
    with pytest.raises(AssertionError, match="expected FAILED with PaymentDeclined, got SUCCEEDED"):
        assert_failed_with(ok, "PaymentDeclined")
    with pytest.raises(AssertionError, match="expected FAILED with OutOfStock, got FAILED PaymentDeclined"):
        assert_failed_with(declined, "OutOfStock")
    assert_compensated(ok)
    with pytest.raises(AssertionError):
        assert_compensated(ok, "CancelOrder")
    # the table helpers: ord-1001 is charged, ord-2 is not
    assert_no_items(order_cloud, "payments", lambda item: item["order_id"] == "ord-2")
    with pytest.raises(AssertionError, match="1 item"):
        assert_no_items(order_cloud, "payments", lambda item: item["order_id"] == "ord-1001")
    with pytest.raises(AssertionError, match="1 item"):
        assert_nothing_charged(order_cloud)
    [charged] = assert_items(order_cloud, "payments", lambda item: item["status"] == "CHARGED", count=1)
    assert charged["order_id"] == "ord-1001"
    assert len(assert_items(order_cloud, "orders")) == 2
    with pytest.raises(AssertionError, match="no item in payments matches"):
        assert_items(order_cloud, "payments", lambda item: item["order_id"] == "ord-2")
    with pytest.raises(AssertionError, match="expected 2 matching item.s. in orders, found 1"):
        assert_items(order_cloud, "orders", lambda item: item["status"] == "CANCELLED", count=2)
    # the result's own fields
    assert (ok.succeeded, declined.succeeded) == (True, False)
    assert ok.steps == ["ValidateOrder", "ProcessPayment", "ReserveInventory", "SendNotification"]
    assert declined.steps == ["ValidateOrder", "ProcessPayment"]
    assert declined.entered == ["BeginSaga", "CheckSagaInput", "ValidateOrder", "ProcessPayment", "CancelOrder", "SagaFailed"]
    assert (declined.state("ProcessPayment").succeeded, declined.state("ProcessPayment").error) == (False, "PaymentDeclined")
    assert (declined.state("ValidateOrder").succeeded, declined.state("ValidateOrder").error) == (True, None)
    assert (declined.state("SagaFailed").succeeded, declined.state("SagaFailed").error) == (False, None)  # a Fail state
    assert (declined.attempts("ProcessPayment"), declined.attempts("ReserveInventory")) == (1, 0)
    with pytest.raises(KeyError, match="ReserveInventory was not entered"):
        declined.state("ReserveInventory")
    with pytest.raises(SagaFailedError):
        declined.output
    assert ok.output["results"]["ValidateOrder"]["output"]["order_id"] == "ord-1001"
    assert declined.compensation_order == ["ReleaseInventory", "RefundPayment", "CancelOrder"]
    assert (ok.history[-1]["type"], declined.history[-1]["type"]) == ("ExecutionSucceeded", "ExecutionFailed")
    assert declined.wall_seconds > 0 and declined.virtual_seconds == 0.0
    [attempt] = declined.state("ProcessPayment").attempts
    assert (attempt.outcome, attempt.error, attempt.injected) == ("error", "PaymentDeclined", "fail")
    assert json.loads(attempt.cause)["errorMessage"] == "injected PaymentDeclined"
    [call] = [c for c in declined.calls if c.state == "ProcessPayment"]
    assert (call.attempt, call.outcome, call.error, call.injected) == (1, "error", "PaymentDeclined", "fail")
    assert call.event["idempotency_key"] == f"{declined.execution}:ProcessPayment"


def test_json_attempts_pin_every_field(order_saga):
    # no jitter, so every wait is known: 4, 8, 16, 32 s before retries 1..4
    patient = Retry(["PaymentGatewayTimeout"], interval_seconds=4, max_attempts=4, backoff_rate=2.0, jitter="NONE")
    saga = order_saga.replace(steps=[s.replace(retry=[patient]) if s.name == "ProcessPayment" else s for s in order_saga.steps])
    with EmbeddedCloud(saga, seed=default_seed(saga, INPUTS), root=ROOT) as cloud:
        result = cloud.run(ORDER, {"ProcessPayment": Fail("PaymentGatewayTimeout", attempts=4)})
    out = json.loads(json.dumps(result.to_json(), default=str))  # as `stepsaga run --json` prints it
    assert set(out) == {
        "saga", "mode", "execution", "status", "output", "error", "cause", "states", "compensations",
        "compensations_failed", "compensations_pending", "contract_violations", "dlq", "undelivered", "virtual_seconds",
    }
    assert (out["saga"], out["execution"], out["status"], out["error"], out["cause"]) == ("OrderSaga", result.execution, "SUCCEEDED", None, None)
    assert (out["mode"], out["undelivered"]) == ("orchestration", [])
    assert out["virtual_seconds"] == 60.0
    [payment] = [s for s in out["states"] if s["name"] == "ProcessPayment"]
    assert (payment["kind"], payment["at"]) == ("step", 0.0)
    failed = {"outcome": "error", "error": "PaymentGatewayTimeout", "injected": "fail"}
    assert payment["attempts"] == [
        {"number": 1, "at": 0.0, "waited": 0.0, **failed},
        {"number": 2, "at": 4.0, "waited": 4.0, **failed},
        {"number": 3, "at": 12.0, "waited": 8.0, **failed},
        {"number": 4, "at": 28.0, "waited": 16.0, **failed},
        {"number": 5, "at": 60.0, "waited": 32.0, "outcome": "ok", "error": None, "injected": None},
    ]
    [reserve] = [s for s in out["states"] if s["name"] == "ReserveInventory"]
    assert (reserve["kind"], reserve["at"]) == ("step", 60.0)
    assert [(s["name"], s["kind"]) for s in out["states"]][:3] == [("BeginSaga", "control"), ("CheckSagaInput", "control"), ("ValidateOrder", "step")]
    assert out["output"]["results"]["ProcessPayment"]["output"]["amount"] == "33.00"
    # the timeline rows show the same times
    lines = result.timeline_text(width=400).splitlines()
    assert any(line.split()[:3] == ["28.0s", "4", "after"] and "16.0s" in line for line in lines)
