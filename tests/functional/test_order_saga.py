"""The reference order saga on the embedded cloud: real handlers, moto DynamoDB and SQS."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stepsaga import Retry
from stepsaga.local import EmbeddedCloud, Fail, SagaFailedError, default_seed
from stepsaga.testing import assert_compensated, assert_failed_with, assert_no_items, assert_succeeded, run

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"


def load(name: str) -> dict:
    return json.loads((INPUTS / name).read_text())


def test_happy_path_confirms_the_order(order_cloud):
    result = order_cloud.run(load("order.json"))
    assert_succeeded(result)
    assert result.steps == ["ValidateOrder", "ProcessPayment", "ReserveInventory", "SendNotification"]
    assert result.entered[0] == "BeginSaga" and result.entered[-1] == "SagaSucceeded"
    assert result.output["results"]["ProcessPayment"]["output"]["amount"] == "33.00"
    [order] = order_cloud.items("orders")
    assert order["status"] == "CONFIRMED"


def test_declined_payment_cancels_the_order_and_charges_nothing(order_cloud):
    result = order_cloud.run(load("order.json"), {"ProcessPayment": Fail("PaymentDeclined", "card declined")})
    assert_failed_with(result, "PaymentDeclined")
    assert_compensated(result, "CancelOrder")
    assert json.loads(result.cause)["errorMessage"] == "card declined"
    assert_no_items(order_cloud, "payments")
    assert order_cloud.items("orders")[0]["status"] == "CANCELLED"


def test_out_of_stock_comes_from_the_real_handler(order_cloud):
    result = order_cloud.run(load("too_many.json"))
    assert_failed_with(result, "OutOfStock")
    assert_compensated(result, "RefundPayment", "CancelOrder")
    assert "LAMP-004" in json.loads(result.cause)["errorMessage"]
    assert all(c.injected is None for c in result.calls)  # no fault injected: the handler said so
    [payment] = order_cloud.items("payments")
    assert payment["status"] == "REFUNDED" and payment["refunded_amount"] == payment["charged_amount"]


def test_malformed_order_fails_validation_before_any_side_effect(order_cloud):
    result = order_cloud.run(load("invalid_order.json"))
    assert_failed_with(result, "InvalidOrder")
    message = json.loads(result.cause)["errorMessage"]
    assert "currency" in message and "quantity" in message
    assert result.steps == ["ValidateOrder"]
    assert result.compensations == []
    for table in ("orders", "payments"):
        assert_no_items(order_cloud, table)
    assert_no_items(order_cloud, "inventory", lambda item: item["pk"].startswith("RESERVATION#"))


def test_reading_output_of_a_failed_run_raises_with_error_and_cause(order_cloud):
    result = order_cloud.run(load("order.json"), {"ProcessPayment": "PaymentDeclined"})
    with pytest.raises(SagaFailedError) as caught:
        result.output
    assert caught.value.error == "PaymentDeclined"
    assert "injected PaymentDeclined" in str(caught.value)


def test_retry_waits_are_skipped_but_recorded(order_saga):
    # 4 + 8 + 16 + 32 = 60 s of backoff before the fourth retry succeeds
    patient = Retry(["PaymentGatewayTimeout"], interval_seconds=4, max_attempts=4, backoff_rate=2.0, jitter="NONE")
    steps = [s.replace(retry=[patient]) if s.name == "ProcessPayment" else s for s in order_saga.steps]
    saga = order_saga.replace(steps=steps)
    with EmbeddedCloud(saga, seed=default_seed(saga, INPUTS), root=ROOT) as cloud:
        cloud.run(load("order.json"))  # warm the parser cache; the measured run is the second
        order = {**load("order.json"), "order_id": "ord-2001"}
        started = time.monotonic()
        result = cloud.run(order, {"ProcessPayment": Fail("PaymentGatewayTimeout", attempts=4)})
        elapsed = time.monotonic() - started
    assert_succeeded(result)
    attempts = result.state("ProcessPayment").attempts
    assert [a.waited for a in attempts] == [0.0, 4.0, 8.0, 16.0, 32.0]
    assert result.virtual_seconds == 60.0
    assert elapsed < 1.0, f"60 s of backoff took {elapsed:.2f} s of wall time"
    assert "5 after 32.0s" in result.timeline_text()


def test_testing_run_starts_a_fresh_cloud(order_saga):
    result = run(order_saga, load("order.json"), seed=default_seed(order_saga, INPUTS), root=ROOT)
    assert_succeeded(result)


def test_unknown_fault_state_is_a_clear_error(order_cloud):
    from stepsaga.local import FaultError

    with pytest.raises(FaultError, match="did you mean ProcessPayment"):
        order_cloud.run(load("order.json"), {"ProcessPaymnt": "Boom"})


def test_timeline_names_each_attempt(order_cloud):
    result = order_cloud.run(load("order.json"), {"ProcessPayment": "PaymentGatewayTimeout@2"})
    text = result.timeline_text()
    assert "ProcessPayment" in text and "PaymentGatewayTimeout (injected)" in text
    assert "3 after" in text


def _cli(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "stepsaga"
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_run_json_reports_the_compensated_path():
    proc = _cli("run", "workflows/order_saga.py", "--input", "@workflows/inputs/order.json", "--fail", "ReserveInventory=OutOfStock", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {"status", "output", "error", "cause", "states", "compensations", "dlq"}
    assert (out["status"], out["error"], out["compensations"]) == ("FAILED", "OutOfStock", ["RefundPayment", "CancelOrder"])


def test_cli_run_refund_failing_for_good_dead_letters():
    proc = _cli("run", "workflows/order_saga.py", "--input", "@workflows/inputs/too_many.json", "--fail", "RefundPayment=RefundGatewayDown", "--json")
    out = json.loads(proc.stdout)
    assert out["error"] == "SagaCompensationFailed"
    [record] = out["dlq"]
    assert record["error"]["Error"] == "OutOfStock" and record["compensation_error"]["Error"] == "RefundGatewayDown"


def test_cli_run_rejects_a_bad_fault():
    proc = _cli("run", "workflows/order_saga.py", "--input", "{}", "--fail", "ProcessPayment")
    assert proc.returncode == 2
    assert "STATE=ERROR[@N]" in proc.stderr


def test_assertion_helpers_fail_when_they_should(order_cloud):
    from tests.order_helpers import assert_nothing_charged

    result = order_cloud.run(load("order.json"))
    with pytest.raises(AssertionError, match="1 item"):
        assert_nothing_charged(order_cloud)  # the happy path did charge
    with pytest.raises(AssertionError, match="expected compensations"):
        assert_compensated(result, "CancelOrder")
    with pytest.raises(AssertionError, match="expected FAILED"):
        assert_failed_with(result, "PaymentDeclined")
