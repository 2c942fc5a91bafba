"""Unit tests for the order-saga Lambda handlers, against moto's DynamoDB."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from moto import mock_aws

import compensations._common
import tasks._common
from compensations import cancel_order, refund_payment, release_inventory
from tasks import process_payment, reserve_inventory, send_notification, validate_order

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
SAGA_ID = "order-123"


def load(name: str) -> Any:
    """Load a sample input from workflows/inputs."""
    return json.loads((INPUTS / name).read_text())


SEED = {row["sku"]: row["available"] for row in load("inventory_seed.json")}


@dataclass
class FakeLambdaContext:
    """The attributes of the real Lambda context that handlers and powertools read."""

    function_name: str = "order-saga-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:order-saga-test"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    log_group_name: str = "/aws/lambda/order-saga-test"
    log_stream_name: str = "2024/01/01/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


CTX = FakeLambdaContext()


def event(step: str, order: dict[str, Any], *, saga_id: str = SAGA_ID, error: dict | None = None) -> dict:
    """Build the payload the compiled state machine sends."""
    payload = {
        "saga_id": saga_id,
        "step": step,
        "idempotency_key": f"{saga_id}:{step}",
        "input": order,
        "results": {},
    }
    if error is not None:
        payload["error"] = error
    return payload


def run(module: Any, step: str, order: dict[str, Any], **kw: Any) -> dict:
    """Invoke a handler and check its output is JSON-serialisable, as Lambda requires."""
    out = module.handler(event(step, order, **kw), CTX)
    json.dumps(out)
    return out


@pytest.fixture
def order() -> dict[str, Any]:
    return load("order.json")


TABLES = {"orders": "order_id", "payments": "order_id", "inventory": "pk"}


@pytest.fixture(scope="module")
def _aws() -> Iterator[Any]:
    """One moto DynamoDB per module: building boto3 resources is what makes tests slow."""
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
            mp.delenv(var, raising=False)
        env = {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "ORDERS_TABLE": "orders",
            "PAYMENTS_TABLE": "payments",
            "INVENTORY_TABLE": "inventory",
        }
        for key, value in env.items():
            mp.setenv(key, value)
        with mock_aws():
            resource = boto3.resource("dynamodb")
            for name, key in TABLES.items():
                resource.create_table(
                    TableName=name,
                    KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST",
                )
            # Hand the handlers this mocked resource, so none of them ever holds a real-AWS client.
            mp.setattr(tasks._common, "_resource", resource)
            mp.setattr(compensations._common, "_resource", resource)
            mp.setattr(tasks._common, "_tables", {})  # and no Table of another resource
            mp.setattr(compensations._common, "_tables", {})
            yield resource


@pytest.fixture
def ddb(_aws: Any) -> Any:
    """Empty tables plus the seeded inventory, fresh for each test."""
    for name, key in TABLES.items():
        table = _aws.Table(name)
        with table.batch_writer() as batch:
            for row in table.scan(ProjectionExpression="#k", ExpressionAttributeNames={"#k": key})["Items"]:
                batch.delete_item(Key=row)
    with _aws.Table("inventory").batch_writer() as batch:
        for row in load("inventory_seed.json"):
            batch.put_item(Item=row)
    return _aws


def rows(ddb: Any, table: str) -> list[dict[str, Any]]:
    return ddb.Table(table).scan(ConsistentRead=True)["Items"]


def get(ddb: Any, table: str, **key: str) -> dict[str, Any] | None:
    return ddb.Table(table).get_item(Key=key, ConsistentRead=True).get("Item")


def stock(ddb: Any) -> dict[str, int]:
    return {r["sku"]: int(r["available"]) for r in rows(ddb, "inventory") if r["pk"].startswith("SKU#")}


def ticking_clock(monkeypatch: pytest.MonkeyPatch, *modules: Any) -> None:
    """Make every now_iso() call distinct, so a second write would be visible."""
    ticks = itertools.count()
    for module in modules:
        monkeypatch.setattr(module, "now_iso", lambda: f"2024-01-01T00:00:{next(ticks):02d}+00:00")


# --------------------------------------------------------------------------- ValidateOrder


def test_validate_order_records_pending_order(ddb: Any, order: dict, monkeypatch) -> None:
    # Exercise the cold-start path: the handler builds its own resource, inside the mock.
    monkeypatch.setattr(tasks._common, "_resource", None)
    out = run(validate_order, "ValidateOrder", order)
    assert out == {"order_id": "ord-1001", "amount": "33.00", "currency": "EUR", "status": "PENDING"}
    row = get(ddb, "orders", order_id="ord-1001")
    assert row["status"] == "PENDING"
    assert row["amount"] == Decimal("33.00")
    assert row["saga_id"] == SAGA_ID
    assert row["customer_id"] == "cust-42"
    assert [(i["sku"], i["quantity"], i["unit_price"]) for i in row["items"]] == [
        ("BOOK-001", 2, Decimal("12.50")),
        ("MUG-002", 1, Decimal("8.00")),
    ]


def test_validate_order_rejects_invalid_sample_without_side_effect(ddb: Any) -> None:
    with pytest.raises(validate_order.InvalidOrder) as info:
        run(validate_order, "ValidateOrder", load("invalid_order.json"))
    message = str(info.value)
    assert "currency" in message and "items.0.quantity" in message
    assert type(info.value).__name__ == "InvalidOrder"
    assert rows(ddb, "orders") == []


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"order_id": ""}, "order_id"),
        ({"customer_id": "  "}, "customer_id"),
        ({"currency": "EURO"}, "currency"),
        ({"items": []}, "items"),
        ({"items": [{"sku": f"S-{n}", "quantity": 1, "unit_price": "1.00"} for n in range(51)]}, "items"),
        ({"items": [{"sku": "BOOK-001", "quantity": 1001, "unit_price": "1.00"}]}, "items.0.quantity"),
        ({"items": [{"sku": "BOOK-001", "quantity": 1.5, "unit_price": "1.00"}]}, "items.0.quantity"),
        ({"items": [{"sku": "BOOK-001", "quantity": 1, "unit_price": "1.001"}]}, "items.0.unit_price"),
        ({"items": [{"sku": "BOOK-001", "quantity": 1, "unit_price": "0"}]}, "items.0.unit_price"),
        ({"payment": {"card_token": ""}}, "payment.card_token"),
        ({"payment": {}}, "payment.card_token"),
    ],
)
def test_validate_order_names_each_bad_field(ddb: Any, order: dict, patch: dict, field: str) -> None:
    with pytest.raises(validate_order.InvalidOrder, match=rf"\b{field}:"):
        run(validate_order, "ValidateOrder", {**order, **patch})
    assert rows(ddb, "orders") == []


def test_validate_order_duplicate_call_returns_same_result(ddb: Any, order: dict, monkeypatch) -> None:
    ticking_clock(monkeypatch, validate_order)
    first = run(validate_order, "ValidateOrder", order)
    before = get(ddb, "orders", order_id="ord-1001")
    assert run(validate_order, "ValidateOrder", order) == first
    assert rows(ddb, "orders") == [before]


def test_validate_order_refuses_order_id_of_another_saga(ddb: Any, order: dict) -> None:
    run(validate_order, "ValidateOrder", order)
    with pytest.raises(validate_order.InvalidOrder, match="already exists"):
        run(validate_order, "ValidateOrder", order, saga_id="order-999")
    assert get(ddb, "orders", order_id="ord-1001")["saga_id"] == SAGA_ID


# --------------------------------------------------------------------------- ProcessPayment


def test_process_payment_charges_once(ddb: Any, order: dict) -> None:
    out = run(process_payment, "ProcessPayment", order)
    payment_id = "pay-" + hashlib.sha256(f"{SAGA_ID}:ProcessPayment".encode()).hexdigest()[:16]
    assert out == {"payment_id": payment_id, "amount": "33.00", "currency": "EUR", "status": "CHARGED"}
    row = get(ddb, "payments", order_id="ord-1001")
    assert row["status"] == "CHARGED"
    assert row["charged_amount"] == row["amount"] == Decimal("33.00")
    assert row["refunded_amount"] == 0
    assert row["idempotency_key"] == f"{SAGA_ID}:ProcessPayment"


def test_process_payment_ignores_amounts_in_results(ddb: Any, order: dict) -> None:
    payload = event("ProcessPayment", order)
    payload["results"] = {"ValidateOrder": {"output": {"amount": "0.01"}}}
    assert process_payment.handler(payload, CTX)["amount"] == "33.00"


@pytest.mark.parametrize(
    ("token", "error", "message"),
    [
        ("tok_declined", process_payment.PaymentDeclined, "declined by the issuer"),
        ("tok_insufficient", process_payment.PaymentDeclined, "insufficient funds"),
        ("tok_gateway_timeout", process_payment.PaymentGatewayTimeout, "did not answer"),
    ],
)
def test_process_payment_failures_leave_no_payment(ddb: Any, order: dict, token, error, message) -> None:
    order["payment"]["card_token"] = token
    with pytest.raises(error, match=message) as info:
        run(process_payment, "ProcessPayment", order)
    assert type(info.value).__name__ == error.__name__
    assert rows(ddb, "payments") == []


def test_process_payment_duplicate_call_does_not_charge_twice(ddb: Any, order: dict, monkeypatch) -> None:
    calls = []
    real_charge = process_payment._charge
    monkeypatch.setattr(process_payment, "_charge", lambda *a: calls.append(a) or real_charge(*a))
    ticking_clock(monkeypatch, process_payment)
    first = run(process_payment, "ProcessPayment", order)
    before = get(ddb, "payments", order_id="ord-1001")
    assert run(process_payment, "ProcessPayment", order) == first
    assert len(calls) == 1
    assert rows(ddb, "payments") == [before]


def test_process_payment_refuses_second_saga_for_same_order(ddb: Any, order: dict) -> None:
    run(process_payment, "ProcessPayment", order)
    with pytest.raises(tasks._common.SagaConflict):
        run(process_payment, "ProcessPayment", order, saga_id="order-999")
    assert len(rows(ddb, "payments")) == 1


# --------------------------------------------------------------------------- ReserveInventory


def test_reserve_inventory_holds_stock(ddb: Any, order: dict) -> None:
    out = run(reserve_inventory, "ReserveInventory", order)
    items = [{"sku": "BOOK-001", "quantity": 2}, {"sku": "MUG-002", "quantity": 1}]
    assert out == {"reservation_id": "RESERVATION#ord-1001", "items": items, "status": "HELD"}
    assert stock(ddb) == {**SEED, "BOOK-001": SEED["BOOK-001"] - 2, "MUG-002": SEED["MUG-002"] - 1}
    row = get(ddb, "inventory", pk="RESERVATION#ord-1001")
    assert row["status"] == "HELD" and row["order_id"] == "ord-1001" and row["items"] == items


def test_reserve_inventory_out_of_stock_changes_nothing(ddb: Any) -> None:
    with pytest.raises(reserve_inventory.OutOfStock, match=r"LAMP-004 \(ordered 5, available 2\)") as info:
        run(reserve_inventory, "ReserveInventory", load("too_many.json"))
    assert "BOOK-001" not in str(info.value)
    assert stock(ddb) == SEED
    assert get(ddb, "inventory", pk="RESERVATION#ord-1003") is None


def test_reserve_inventory_unknown_sku_is_out_of_stock(ddb: Any, order: dict) -> None:
    order["items"].append({"sku": "GHOST-9", "quantity": 1, "unit_price": "1.00"})
    with pytest.raises(reserve_inventory.OutOfStock, match=r"GHOST-9 \(unknown sku\)"):
        run(reserve_inventory, "ReserveInventory", order)
    assert stock(ddb) == SEED
    assert get(ddb, "inventory", pk="SKU#GHOST-9") is None
    assert get(ddb, "inventory", pk="RESERVATION#ord-1001") is None


def test_reserve_inventory_duplicate_call_does_not_decrement_twice(ddb: Any, order: dict) -> None:
    # Taking every MUG makes a naive retry fail with OutOfStock; the retry must see its own reservation.
    order["items"][1]["quantity"] = SEED["MUG-002"]
    first = run(reserve_inventory, "ReserveInventory", order)
    assert run(reserve_inventory, "ReserveInventory", order) == first
    assert stock(ddb) == {**SEED, "BOOK-001": SEED["BOOK-001"] - 2, "MUG-002": 0}
    assert len(rows(ddb, "inventory")) == len(SEED) + 1


# --------------------------------------------------------------------------- SendNotification


def test_send_notification_confirms_and_notifies_once(ddb: Any, order: dict, monkeypatch) -> None:
    ticking_clock(monkeypatch, send_notification)
    run(validate_order, "ValidateOrder", order)
    first = run(send_notification, "SendNotification", order)
    assert first == {"order_id": "ord-1001", "status": "CONFIRMED", "notified": True}
    row = get(ddb, "orders", order_id="ord-1001")
    assert row["status"] == "CONFIRMED"
    assert row["notification_key"] == f"{SAGA_ID}:SendNotification"
    assert run(send_notification, "SendNotification", order) == first
    assert get(ddb, "orders", order_id="ord-1001") == row  # notified_at not rewritten


def test_send_notification_without_order_fails(ddb: Any, order: dict) -> None:
    with pytest.raises(tasks._common.SagaConflict, match="missing"):
        run(send_notification, "SendNotification", order)
    assert rows(ddb, "orders") == []


# --------------------------------------------------------------------------- CancelOrder

DECLINED = {"Error": "PaymentDeclined", "Cause": "card declined by the issuer"}


def test_cancel_order_is_noop_without_order(ddb: Any, order: dict) -> None:
    out = run(cancel_order, "CancelOrder", order, error=DECLINED)
    assert out == {"order_id": "ord-1001", "cancelled": False, "reason": "nothing to undo"}
    assert rows(ddb, "orders") == []


def test_cancel_order_is_noop_for_invalid_input(ddb: Any) -> None:
    out = run(cancel_order, "CancelOrder", {"currency": "euro"}, error={"Error": "InvalidOrder"})
    assert out["cancelled"] is False and rows(ddb, "orders") == []


def test_cancel_order_cancels_and_is_idempotent(ddb: Any, order: dict, monkeypatch) -> None:
    ticking_clock(monkeypatch, cancel_order)
    run(validate_order, "ValidateOrder", order)
    first = run(cancel_order, "CancelOrder", order, error=DECLINED)
    assert first == {
        "order_id": "ord-1001",
        "cancelled": True,
        "status": "CANCELLED",
        "cancel_reason": "PaymentDeclined",
    }
    row = get(ddb, "orders", order_id="ord-1001")
    assert row["status"] == "CANCELLED" and row["customer_id"] == "cust-42"
    assert run(cancel_order, "CancelOrder", order, error=DECLINED) == first
    assert get(ddb, "orders", order_id="ord-1001") == row


def test_cancel_order_never_touches_another_sagas_order(ddb: Any, order: dict) -> None:
    run(validate_order, "ValidateOrder", order)
    out = run(cancel_order, "CancelOrder", order, saga_id="order-999", error={"Error": "InvalidOrder"})
    assert out["cancelled"] is False
    assert get(ddb, "orders", order_id="ord-1001")["status"] == "PENDING"


# --------------------------------------------------------------------------- RefundPayment


def test_refund_payment_is_noop_without_payment(ddb: Any, order: dict) -> None:
    out = run(refund_payment, "RefundPayment", order, error=DECLINED)
    assert out == {"order_id": "ord-1001", "refunded": False, "amount": "0.00", "reason": "nothing to undo"}
    assert rows(ddb, "payments") == []


def test_refund_payment_refunds_charged_amount_once(ddb: Any, order: dict, monkeypatch) -> None:
    ticking_clock(monkeypatch, refund_payment)
    charge = run(process_payment, "ProcessPayment", order)
    first = run(refund_payment, "RefundPayment", order, error={"Error": "OutOfStock"})
    assert first["refunded"] is True and first["amount"] == charge["amount"] == "33.00"
    row = get(ddb, "payments", order_id="ord-1001")
    assert row["status"] == "REFUNDED" and row["refunded_amount"] == row["charged_amount"]
    assert run(refund_payment, "RefundPayment", order, error={"Error": "OutOfStock"}) == first
    assert get(ddb, "payments", order_id="ord-1001") == row


# --------------------------------------------------------------------------- ReleaseInventory


def test_release_inventory_is_noop_without_reservation(ddb: Any, order: dict) -> None:
    out = run(release_inventory, "ReleaseInventory", order)
    assert out["released"] is False and out["reason"] == "nothing to undo"
    assert stock(ddb) == SEED and len(rows(ddb, "inventory")) == len(SEED)


def test_release_inventory_restores_stock_exactly_once(ddb: Any, order: dict) -> None:
    run(reserve_inventory, "ReserveInventory", order)
    first = run(release_inventory, "ReleaseInventory", order, error={"Error": "States.Timeout"})
    assert first["released"] is True and first["status"] == "RELEASED"
    assert stock(ddb) == SEED
    assert get(ddb, "inventory", pk="RESERVATION#ord-1001")["status"] == "RELEASED"
    assert run(release_inventory, "ReleaseInventory", order) == first
    assert stock(ddb) == SEED


# --------------------------------------------------------------------------- sample inputs end to end


def test_order_sample_succeeds_end_to_end(ddb: Any, order: dict) -> None:
    for module, step in (
        (validate_order, "ValidateOrder"),
        (process_payment, "ProcessPayment"),
        (reserve_inventory, "ReserveInventory"),
        (send_notification, "SendNotification"),
    ):
        run(module, step, copy.deepcopy(order))
    assert get(ddb, "orders", order_id="ord-1001")["status"] == "CONFIRMED"


def test_too_many_sample_compensates_cleanly(ddb: Any) -> None:
    too_many = load("too_many.json")
    run(validate_order, "ValidateOrder", too_many)
    run(process_payment, "ProcessPayment", too_many)
    with pytest.raises(reserve_inventory.OutOfStock) as info:
        run(reserve_inventory, "ReserveInventory", too_many)
    error = {"Error": type(info.value).__name__, "Cause": str(info.value)}
    for module, step in (
        (release_inventory, "ReleaseInventory"),
        (refund_payment, "RefundPayment"),
        (cancel_order, "CancelOrder"),
    ):
        run(module, step, too_many, error=error)
    assert stock(ddb) == SEED
    assert get(ddb, "payments", order_id="ord-1003")["status"] == "REFUNDED"
    assert get(ddb, "orders", order_id="ord-1003")["cancel_reason"] == "OutOfStock"


# --------------------------------------------------------------------------- clients


@pytest.mark.parametrize("common", [tasks._common, compensations._common], ids=["tasks", "compensations"])
def test_one_table_per_name_and_resource_for_every_invocation(_aws: Any, common: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    orders = common.table("ORDERS_TABLE")
    assert common.table("ORDERS_TABLE") is orders and orders.name == "orders"
    assert common.table("PAYMENTS_TABLE") is not orders  # another name, another Table
    monkeypatch.setenv("ORDERS_TABLE", "payments")  # the variable is read at every call: its table by name
    assert common.table("ORDERS_TABLE") is common.table("PAYMENTS_TABLE")
    monkeypatch.setattr(common, "_resource", None)  # a cold start: a new resource, and new Tables of it
    monkeypatch.setattr(common, "_tables", dict(common._tables))
    fresh = common.table("PAYMENTS_TABLE")
    assert common._resource is not _aws and fresh.meta.client is common._resource.meta.client


# --------------------------------------------------------------------------- packaging


@pytest.mark.parametrize(
    ("folder", "modules"),
    [
        ("tasks", "validate_order,process_payment,reserve_inventory,send_notification"),
        ("compensations", "cancel_order,refund_payment,release_inventory"),
    ],
)
def test_handlers_import_as_lambda_top_level_modules(folder: str, modules: str) -> None:
    # SAM deploys each folder as its own CodeUri: handlers are "<module>.handler" with no parent package.
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / folder)!r}); "
        f"import _common, {modules}; "
        "assert _common._resource is None, 'boto3 resource created at import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/", timeout=60)
