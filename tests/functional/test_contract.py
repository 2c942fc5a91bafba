"""Issue 7.16: the business-error contract, checked on the embedded cloud.

A declared business error means the step did not apply: it is neither retried nor compensated. A
handler that raises one after writing leaves that write in place, so the local runtime compares the
saga's tables before and after such an attempt and reports each changed row.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from stepsaga import Compensation, Saga, Step, Table
from stepsaga.local import ContractViolationError, CrashAfter, EmbeddedCloud, Fail
from stepsaga.testing import (
    assert_compensated,
    assert_contract_kept,
    assert_contract_violated,
    assert_failed_with,
    assert_succeeded,
    run,
)

ROOT = Path(__file__).resolve().parents[2]
ORDER = json.loads((ROOT / "workflows/inputs/order.json").read_text())
APP = Path(__file__).resolve().parent / "contract_app"


def test_a_business_error_after_a_charge_is_flagged_with_the_table_and_the_row(order_cloud):
    # the example: the charge lands, then the handler says PaymentDeclined
    with pytest.raises(ContractViolationError) as caught:
        order_cloud.run(ORDER, {"ProcessPayment": CrashAfter("PaymentDeclined")})
    result = caught.value.result
    [violation] = result.contract_violations
    assert (violation.step, violation.attempt, violation.error, violation.tables) == ("ProcessPayment", 1, "PaymentDeclined", ["payments"])
    [change] = violation.changes
    assert (change.table, change.key, change.kind, change.before) == ("payments", {"order_id": "ord-1001"}, "inserted", None)
    assert change.after["status"] == "CHARGED" and change.after["charged_amount"] == Decimal("33.00")
    # the saga treated it as "did not apply": the payment was never refunded
    assert result.error == "PaymentDeclined" and result.compensations == ["CancelOrder"]
    [payment] = order_cloud.items("payments")
    assert payment["status"] == "CHARGED"
    message = str(caught.value)
    assert "ProcessPayment attempt 1 raised its business error PaymentDeclined after changing payments" in message
    assert 'payments row {"order_id": "ord-1001"} inserted: ' in message and '"status": "CHARGED"' in message
    # the timeline and --json say it too
    assert "contract violation: ProcessPayment attempt 1 raised its business error PaymentDeclined" in result.timeline_text(width=400)
    [out] = result.to_json()["contract_violations"]
    assert (out["step"], out["attempt"], out["error"]) == ("ProcessPayment", 1, "PaymentDeclined")
    [row] = out["changes"]
    assert (row["table"], row["key"], row["change"], row["before"], row["after"]["status"]) == ("payments", {"order_id": "ord-1001"}, "inserted", None, "CHARGED")


def test_a_test_can_allow_a_violation_and_assert_it(order_cloud):
    result = order_cloud.run(ORDER, {"ProcessPayment": CrashAfter("PaymentDeclined")}, allow_contract_violations=True)
    assert_contract_violated(result, "ProcessPayment", table="payments")
    assert_failed_with(result, "PaymentDeclined")  # allowed: the other helpers accept it
    assert_compensated(result, "CancelOrder")
    with pytest.raises(AssertionError, match="expected a contract violation by ProcessPayment in table orders"):
        assert_contract_violated(result, "ProcessPayment", table="orders")
    with pytest.raises(AssertionError, match="expected a contract violation by ReserveInventory"):
        assert_contract_violated(result, "ReserveInventory")


def test_every_helper_fails_on_a_violation_the_test_did_not_allow(order_saga):
    # a cloud started directly is not strict: the run returns, and the helpers catch it
    with EmbeddedCloud(order_saga, seed={"inventory": ROOT / "workflows/inputs/inventory_seed.json"}, root=ROOT) as cloud:
        result = cloud.run(ORDER, {"ValidateOrder": CrashAfter("InvalidOrder")})
        assert [(v.step, v.tables) for v in result.contract_violations] == [("ValidateOrder", ["orders"])]
        assert result.contract_violations[0].changes[0].after["status"] == "PENDING"
        for check in (
            lambda: assert_contract_kept(result),
            lambda: assert_failed_with(result, "InvalidOrder"),
            lambda: assert_compensated(result),
            lambda: assert_succeeded(result),
        ):
            with pytest.raises(ContractViolationError, match="ValidateOrder attempt 1 raised its business error InvalidOrder after changing orders"):
                check()
        # stepsaga.testing.run is strict whatever cloud it is given
        with pytest.raises(ContractViolationError) as caught:
            run(order_saga, {**ORDER, "order_id": "ord-2"}, {"ValidateOrder": CrashAfter("InvalidOrder")}, cloud=cloud)
        assert caught.value.result.contract_violations[0].changes[0].key == {"order_id": "ord-2"}


def test_a_real_business_error_without_a_side_effect_is_not_flagged(order_cloud):
    declined = order_cloud.run({**ORDER, "payment": {"card_token": "tok_declined"}})  # the real handler declines
    injected = order_cloud.run({**ORDER, "order_id": "ord-2"}, {"ProcessPayment": Fail("PaymentDeclined")})
    # ReserveInventory's transaction decrements BOOK-001, then fails on LAMP-004 and is rolled back
    out_of_stock = order_cloud.run(json.loads((ROOT / "workflows/inputs/too_many.json").read_text()))
    for result, error in ((declined, "PaymentDeclined"), (injected, "PaymentDeclined"), (out_of_stock, "OutOfStock")):
        assert result.contract_violations == []
        assert_failed_with(result, error)
        with pytest.raises(AssertionError, match="expected a contract violation"):
            assert_contract_violated(result, "ProcessPayment")
    # a crash that is not a business error is compensated, so it is no violation either
    crashed = order_cloud.run({**ORDER, "order_id": "ord-3"}, {"ProcessPayment": CrashAfter()})
    assert crashed.contract_violations == [] and crashed.compensations == ["RefundPayment", "CancelOrder"]


LEDGER_SAGA = Saga(
    "LedgerSaga",
    tables=[Table("ledger", partition_key="id"), Table("audit", partition_key="id")],
    steps=[
        Step(
            "Charge",
            action="contract_tasks.charge.handler",
            compensation=Compensation("Refund", "contract_tasks.refund.handler", tables=["ledger"]),
            business_errors=["Declined"],
            tables=["ledger"],
        ),
    ],
)


@pytest.mark.parametrize(
    ("mode", "flagged"),
    [("write", [("ledger", "inserted")]), ("audit", [("audit", "inserted")]), ("undo", []), ("rewrite", [])],
)
def test_only_a_change_left_behind_is_flagged_in_any_declared_table(saga_cloud, mode, flagged):
    cloud = saga_cloud(LEDGER_SAGA, root=APP, reuse=True)
    if mode == "rewrite":  # the row is already there, as the handler writes it: an idempotent rewrite
        cloud.table("ledger").put_item(Item={"id": "charge-1", "amount": "10.00"})
    result = cloud.run({"mode": mode, "audit_table": cloud.table_name("audit")}, allow_contract_violations=True)
    assert result.error == "Declined"
    found = [(c.table, c.kind) for v in result.contract_violations for c in v.changes]
    assert found == flagged


def test_a_step_that_succeeds_after_writing_is_no_violation(saga_cloud):
    cloud = saga_cloud(LEDGER_SAGA, root=APP, reuse=True)
    result = cloud.run({"mode": "ok"})
    assert_succeeded(result)
    assert result.contract_violations == []
    assert cloud.items("ledger") == [{"id": "charge-1", "amount": "10.00"}]
