"""Bad input through the whole order saga (issue 7.12), with the real handlers on the embedded cloud."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import stepsaga.testing
from stepsaga.local import Fail

ROOT = Path(__file__).resolve().parents[2]
ORDER = json.loads((ROOT / "workflows" / "inputs" / "order.json").read_text())


def assert_failed_cleanly_before_any_effect(result: Any, cloud: Any | None = None) -> None:
    """FAILED at the first step at the latest: no compensation, no repair record, no row written."""
    assert result.status == "FAILED"
    assert result.error != "SagaCompensationFailed"
    assert set(result.steps) <= {"ValidateOrder"}  # rejected at BeginSaga or by ValidateOrder
    if result.steps:
        assert result.error == "InvalidOrder" and result.attempts("ValidateOrder") == 1
    assert not [s.name for s in result.states if s.kind in ("compensation", "dead_letter")]
    assert result.dlq == []
    if cloud is not None:
        assert cloud.items("orders") == cloud.items("payments") == []


def test_an_array_input_fails_cleanly_end_to_end(order_saga: Any) -> None:
    # The example: it used to retry CancelOrder 7 times and send a repair record.
    result = stepsaga.testing.run(order_saga, [1, 2, 3], root=ROOT)
    assert_failed_cleanly_before_any_effect(result)


@pytest.mark.parametrize("value", ["ord-1001", None, 42, 4.5, True, {}, {"order_id": "ord-1001\n"}])
def test_any_input_that_is_not_an_order_fails_cleanly(order_cloud: Any, value: Any) -> None:
    assert_failed_cleanly_before_any_effect(order_cloud.run(value), order_cloud)


@pytest.mark.parametrize("value", [{}, {"order_id": 7}, {"order_id": "ord-1001\n"}, {"items": "many"}])
def test_a_compensation_given_any_input_succeeds_at_once(order_cloud: Any, value: Any) -> None:
    # ValidateOrder fails with a non-business error: CancelOrder runs on an input it cannot use.
    result = order_cloud.run(value, {"ValidateOrder": Fail("Lambda.Unknown", "the function crashed")})
    assert result.status == "FAILED" and result.error == "Lambda.Unknown"
    assert result.state("CancelOrder").succeeded and result.attempts("CancelOrder") == 1
    assert result.dlq == []
    assert order_cloud.items("orders") == []


@pytest.mark.parametrize("value", [[1, 2, 3], "ord-1001", None, 42])
def test_a_crash_on_an_input_that_is_not_an_object_sends_no_repair_record(order_cloud: Any, value: Any) -> None:
    result = order_cloud.run(value, {"ValidateOrder": Fail("Lambda.Unknown", "the function crashed")})
    assert result.status == "FAILED" and result.error != "SagaCompensationFailed"
    assert result.dlq == []
    # A generic input check at BeginSaga may stop the saga first; if CancelOrder ran, it succeeded at once.
    if "CancelOrder" in result.entered:
        assert result.state("CancelOrder").succeeded and result.attempts("CancelOrder") == 1


def test_a_reused_key_with_another_payload_fails_the_saga_and_leaves_the_first_charge(order_cloud: Any) -> None:
    # A charge already made under this execution's ProcessPayment key, for a dearer order.
    name = "reused-key-1"
    first = {
        "order_id": ORDER["order_id"],
        "payment_id": "pay-first",
        "amount": 99,
        "charged_amount": 99,
        "refunded_amount": 0,
        "currency": "EUR",
        "status": "CHARGED",
        "saga_id": name,
        "idempotency_key": f"{name}:ProcessPayment",
        "payload_hash": "0" * 64,
    }
    order_cloud.table("payments").put_item(Item=first)
    result = order_cloud.run(ORDER, name=name)
    assert result.status == "FAILED" and result.error == "IdempotencyValidationError"
    assert f"idempotency key {name}:ProcessPayment was already used" in json.loads(result.cause)["errorMessage"]
    assert result.attempts("ProcessPayment") == 1  # not retried
    # RefundPayment leaves the other payload's charge alone; CancelOrder undoes this saga's order.
    assert result.state("RefundPayment").succeeded and result.state("CancelOrder").succeeded
    assert result.dlq == []
    [payment] = order_cloud.items("payments")
    assert payment == first
    assert order_cloud.items("orders")[0]["status"] == "CANCELLED"


def test_a_reused_notification_key_is_dead_lettered_past_the_point_of_no_return(order_cloud: Any) -> None:
    from decimal import Decimal

    from tasks._common import ORDER_FIELDS, payload_hash

    # This execution's order row, already notified under its SendNotification key for another payload.
    name = "reused-key-2"
    first = {
        "order_id": ORDER["order_id"],
        "customer_id": ORDER["customer_id"],
        "currency": "EUR",
        "amount": Decimal("33.00"),
        "status": "PENDING",
        "saga_id": name,
        "idempotency_key": f"{name}:ValidateOrder",
        "payload_hash": payload_hash(ORDER, ORDER_FIELDS),
        "notification_key": f"{name}:SendNotification",
        "notification_hash": "0" * 64,
    }
    order_cloud.table("orders").put_item(Item=first)
    result = order_cloud.run(ORDER, name=name)
    # Payment and stock are kept (the saga is past its point of no return); a human gets the record.
    assert result.status == "SUCCEEDED"
    [record] = result.dlq
    assert record["kind"] == "StepFailed" and record["step"] == "SendNotification"
    assert record["error"]["Error"] == "IdempotencyValidationError"
    [order] = order_cloud.items("orders")
    assert order == first  # not confirmed, not notified again
    [payment] = order_cloud.items("payments")
    assert payment["status"] == "CHARGED"
