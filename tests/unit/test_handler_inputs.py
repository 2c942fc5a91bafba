"""Bad input that reaches the handlers (issue 7.12): any event, fullmatch validators, reused keys.

The real handlers run against moto's DynamoDB, with the fixtures of test_handlers.py.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_handlers import CTX, SAGA_ID, SEED, _aws, ddb, event, get, load, order, rows, run, stock  # noqa: F401

import tasks._common
from compensations import cancel_order, refund_payment, release_inventory
from tasks import process_payment, reserve_inventory, send_notification, validate_order

ROOT = Path(__file__).resolve().parents[2]
TASKS = (
    (validate_order, "ValidateOrder"),
    (process_payment, "ProcessPayment"),
    (reserve_inventory, "ReserveInventory"),
    (send_notification, "SendNotification"),
)
COMPENSATIONS = ((cancel_order, "CancelOrder"), (refund_payment, "RefundPayment"), (release_inventory, "ReleaseInventory"))
NOT_OBJECTS = {"array": [1, 2, 3], "string": "ord-1001", "null": None, "number": 42, "float": 4.5, "boolean": True}
JSON_KIND = {"array": "an array", "string": "a string", "null": "null", "number": "a number", "float": "a number", "boolean": "a boolean"}


def snapshot(ddb: Any) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, sorted, to show that a call changed nothing."""
    return {t: sorted(rows(ddb, t), key=lambda r: json.dumps(r, sort_keys=True, default=str)) for t in ("orders", "payments", "inventory")}


def effects_of_a_whole_saga(order: dict[str, Any]) -> None:
    """The rows a saga leaves when every task ran: an order, a charge and a HELD reservation."""
    for module, step in TASKS[:3]:
        run(module, step, copy.deepcopy(order))


# --------------------------------------------------------------------------- 1. input that is not an order


@pytest.mark.parametrize(("module", "step"), TASKS)
def test_a_saga_input_that_is_not_an_object_is_invalid_order(ddb: Any, module: Any, step: str) -> None:
    before = snapshot(ddb)
    for kind, value in NOT_OBJECTS.items():
        with pytest.raises(tasks._common.InvalidOrder) as info:
            run(module, step, value)
        assert type(info.value).__name__ == "InvalidOrder"  # the error name Step Functions sees
        assert str(info.value) == f"invalid order: the saga input must be a JSON object, got {JSON_KIND[kind]}"
    assert snapshot(ddb) == before


@pytest.mark.parametrize(
    "raw",
    [[1, 2, 3], "ord-1001", None, 7, {}, {"saga_id": SAGA_ID, "step": "ValidateOrder"}, '{"saga_id": "s", "step": "x", "idempotency_key": "k"}'],
    ids=["array", "string", "null", "number", "empty", "no-key", "json-text"],
)
def test_validate_order_refuses_any_malformed_event_with_invalid_order(ddb: Any, order: dict, raw: Any) -> None:
    # InvalidOrder is ValidateOrder's declared business error: the saga fails at once, nothing to undo.
    with pytest.raises(validate_order.InvalidOrder, match="invalid saga event"):
        validate_order.handler(raw, CTX)
    assert rows(ddb, "orders") == []


@pytest.mark.parametrize(("module", "step"), TASKS[1:])
def test_other_tasks_refuse_a_malformed_event_without_effect(ddb: Any, order: dict, module: Any, step: str) -> None:
    before = snapshot(ddb)
    for raw in ([1, 2, 3], None, {"step": step, "input": order}):
        with pytest.raises(tasks._common.InvalidSagaEvent, match="invalid saga event"):
            module.handler(raw, CTX)
    assert snapshot(ddb) == before


# Everything a compensation may be handed: the whole event, or its input, or any field, malformed.
GARBAGE_EVENTS = {
    "event-array": [1, 2, 3],
    "event-string": "CancelOrder",
    "event-null": None,
    "event-number": 3,
    "event-empty": {},
    **{f"input-{k}": {"saga_id": SAGA_ID, "idempotency_key": "k", "input": v} for k, v in NOT_OBJECTS.items()},
    "input-missing": {"saga_id": SAGA_ID, "idempotency_key": "k"},
    "input-no-order-id": {"saga_id": SAGA_ID, "input": {"currency": "EUR"}},
    "order-id-number": {"saga_id": SAGA_ID, "input": {"order_id": 1001}},
    "order-id-list": {"saga_id": SAGA_ID, "input": {"order_id": ["ord-1001"]}},
    "order-id-newline": {"saga_id": SAGA_ID, "input": {"order_id": "ord-1001\n"}},
    "error-not-object": {"saga_id": SAGA_ID, "input": [1], "error": "States.TaskFailed"},
    "results-not-object": {"saga_id": SAGA_ID, "input": "x", "results": [1], "error": {"Error": 5, "Cause": None}},
}


@pytest.mark.parametrize(("module", "step"), COMPENSATIONS)
def test_a_compensation_with_nothing_to_undo_succeeds_whatever_it_is_given(ddb: Any, module: Any, step: str) -> None:
    for name, raw in GARBAGE_EVENTS.items():
        out = module.handler(copy.deepcopy(raw), CTX)
        json.dumps(out)  # Lambda must be able to return it
        assert out["reason"] == "nothing to undo", name
        assert not (out.get("cancelled") or out.get("refunded") or out.get("released")), name
    assert rows(ddb, "orders") == rows(ddb, "payments") == [] and stock(ddb) == SEED


@pytest.mark.parametrize(("module", "step"), COMPENSATIONS)
def test_a_malformed_event_never_undoes_a_real_effect(ddb: Any, order: dict, module: Any, step: str) -> None:
    effects_of_a_whole_saga(order)
    before = snapshot(ddb)
    for name, raw in GARBAGE_EVENTS.items():
        module.handler(copy.deepcopy(raw), CTX)
        assert snapshot(ddb) == before, name
    # A usable order id without a usable saga id is no proof of ownership: left alone.
    for saga_id in (None, "", 5, SAGA_ID + "\n"):
        out = module.handler({"saga_id": saga_id, "step": step, "idempotency_key": "k", "input": order}, CTX)
        assert "another saga" in out["reason"]
        assert snapshot(ddb) == before


def test_a_malformed_error_still_lets_the_compensation_undo(ddb: Any, order: dict) -> None:
    effects_of_a_whole_saga(order)
    for module, step in COMPENSATIONS:
        payload = event(step, order)
        payload["error"] = ["not", "an", "object"]
        out = module.handler(payload, CTX)
        assert out.get("cancelled") or out.get("refunded") or out.get("released"), step
    assert stock(ddb) == SEED
    assert get(ddb, "payments", order_id="ord-1001")["status"] == "REFUNDED"
    row = get(ddb, "orders", order_id="ord-1001")
    assert row["status"] == "CANCELLED" and "cancel_reason" not in row


# --------------------------------------------------------------------------- 2. fullmatch in every validator

# Each field with the order sample's value, a path to put a bad value there, and the error location.
FIELDS = {
    "order_id": (("order_id",), "order_id"),
    "customer_id": (("customer_id",), "customer_id"),
    "currency": (("currency",), "currency"),
    "sku": (("items", 0, "sku"), "items.0.sku"),
    "unit_price": (("items", 0, "unit_price"), "items.0.unit_price"),
    "card_token": (("payment", "card_token"), "payment.card_token"),
}


def with_value(order: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    bad = copy.deepcopy(order)
    target = bad
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return bad


def value_at(order: dict[str, Any], path: tuple[Any, ...]) -> Any:
    for part in path:
        order = order[part]
    return order


@pytest.mark.parametrize("field", FIELDS)
def test_every_order_field_refuses_trailing_whitespace(ddb: Any, order: dict, field: str) -> None:
    path, where = FIELDS[field]
    for suffix in ("\n", "\r\n", " ", "\t"):
        bad = with_value(order, path, value_at(order, path) + suffix)
        for module, step in TASKS:
            with pytest.raises(tasks._common.InvalidOrder, match=rf"\b{re.escape(where)}:"):
                run(module, step, bad)
    assert snapshot(ddb)["orders"] == snapshot(ddb)["payments"] == []


@pytest.mark.parametrize("value", [" 12.50", "1_2.50", "\uff11\uff12.50", "1e1", "12.5.0", "+12.50"])
def test_unit_price_text_must_be_plain_digits(ddb: Any, order: dict, value: str) -> None:
    # Decimal() and pydantic accept all of these; ORDER_SCHEMA's pattern does not.
    with pytest.raises(tasks._common.InvalidOrder, match=r"items\.0\.unit_price:"):
        run(validate_order, "ValidateOrder", with_value(order, ("items", 0, "unit_price"), value))


def test_ord_1_and_ord_1_newline_are_not_two_orders_charged_separately(ddb: Any, order: dict) -> None:
    run(process_payment, "ProcessPayment", order)
    with pytest.raises(tasks._common.InvalidOrder, match="order_id:"):
        run(process_payment, "ProcessPayment", {**order, "order_id": "ord-1001\n"}, saga_id="order-124")
    assert [r["order_id"] for r in rows(ddb, "payments")] == ["ord-1001"]


@pytest.mark.parametrize("field", ["saga_id", "step", "idempotency_key"])
def test_saga_ids_steps_and_keys_refuse_whitespace_and_control_characters(ddb: Any, order: dict, field: str) -> None:
    for suffix in ("\n", " x", "\x00"):
        payload = event("ValidateOrder", order)
        payload[field] += suffix
        with pytest.raises(validate_order.InvalidOrder, match=rf"\b{field}:"):
            validate_order.handler(payload, CTX)
        payload = event("ProcessPayment", order)
        payload[field] += suffix
        with pytest.raises(tasks._common.InvalidSagaEvent, match=rf"\b{field}:"):
            process_payment.handler(payload, CTX)
    assert rows(ddb, "orders") == rows(ddb, "payments") == []


def test_no_handler_validates_with_re_match() -> None:
    # re.match / re.search with "$" accept a trailing newline: every pattern must be a fullmatch.
    offenders = []
    for folder in ("tasks", "compensations"):
        for path in sorted((ROOT / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("match", "search"):
                    offenders.append(f"{folder}/{path.name}:{node.lineno}")
    assert offenders == []


# --------------------------------------------------------------------------- 3. same key, different payload


def more_expensive(order: dict[str, Any]) -> dict[str, Any]:
    return with_value(order, ("items", 0, "unit_price"), "99.99")


def more_items(order: dict[str, Any]) -> dict[str, Any]:
    return with_value(order, ("items", 0, "quantity"), 3)


OTHER_PAYLOADS = {
    "amount": more_expensive,
    "items": more_items,
    "currency": lambda o: {**o, "currency": "USD"},
}


@pytest.mark.parametrize(
    ("module", "step", "change"),
    # A reservation does not depend on the currency: that pair is not a different payload for it.
    [(m, s, c) for m, s in TASKS[:3] for c in OTHER_PAYLOADS if (s, c) != ("ReserveInventory", "currency")],
)
def test_a_task_refuses_its_key_with_another_payload(ddb: Any, order: dict, module: Any, step: str, change: str) -> None:
    first = run(module, step, copy.deepcopy(order))
    assert run(module, step, copy.deepcopy(order)) == first  # same key, same payload: same result
    before = snapshot(ddb)
    with pytest.raises(tasks._common.IdempotencyValidationError, match=f"idempotency key {SAGA_ID}:{step} was already used") as info:
        run(module, step, OTHER_PAYLOADS[change](order))
    assert type(info.value).__name__ == "IdempotencyValidationError"
    assert snapshot(ddb) == before  # no second effect, the first record unchanged


def test_process_payment_charges_once_and_refuses_another_card_under_its_key(ddb: Any, order: dict, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(process_payment, "_charge", lambda *a: calls.append(a))
    first = run(process_payment, "ProcessPayment", copy.deepcopy(order))
    assert run(process_payment, "ProcessPayment", copy.deepcopy(order)) == first
    before = snapshot(ddb)
    for other in (with_value(order, ("payment", "card_token"), "tok_other"), more_expensive(order)):
        with pytest.raises(tasks._common.IdempotencyValidationError):
            run(process_payment, "ProcessPayment", other)
    assert len(calls) == 1  # the gateway saw one charge
    assert snapshot(ddb) == before


def test_a_concurrent_duplicate_with_another_payload_is_refused_too(ddb: Any, order: dict, monkeypatch) -> None:
    # The first read saw no payment; the conditional put then loses to a charge of another payload.
    run(process_payment, "ProcessPayment", more_expensive(order))
    before = snapshot(ddb)
    real = process_payment._existing
    seen = []
    monkeypatch.setattr(process_payment, "_existing", lambda *a: real(*a) if seen else seen.append(1))
    with pytest.raises(tasks._common.IdempotencyValidationError):
        run(process_payment, "ProcessPayment", order)
    assert snapshot(ddb) == before


def test_send_notification_refuses_its_key_with_another_payload(ddb: Any, order: dict) -> None:
    run(validate_order, "ValidateOrder", order)
    first = run(send_notification, "SendNotification", order)
    assert run(send_notification, "SendNotification", order) == first
    before = snapshot(ddb)
    others = [change(order) for change in OTHER_PAYLOADS.values()] + [{**order, "customer_id": "cust-43"}]
    for other in others:
        with pytest.raises(tasks._common.IdempotencyValidationError, match="notification of order ord-1001"):
            run(send_notification, "SendNotification", other)
    assert snapshot(ddb) == before


@pytest.mark.parametrize("change", ["amount", "items"])
@pytest.mark.parametrize(("module", "step"), COMPENSATIONS)
def test_a_compensation_leaves_an_effect_made_for_another_payload(ddb: Any, order: dict, module: Any, step: str, change: str) -> None:
    effects_of_a_whole_saga(order)
    before = snapshot(ddb)
    # The task refused the other payload, so its saga has nothing of its own to undo here.
    out = run(module, step, OTHER_PAYLOADS[change](order))
    assert "different payload" in out["reason"]
    assert snapshot(ddb) == before
    # Its own payload is undone, once; the same key with another payload then changes nothing.
    done = run(module, step, copy.deepcopy(order))
    assert done.get("cancelled") or done.get("refunded") or done.get("released")
    after = snapshot(ddb)
    assert after != before
    assert "different payload" in run(module, step, OTHER_PAYLOADS[change](order))["reason"]
    assert run(module, step, copy.deepcopy(order)) == done
    assert snapshot(ddb) == after


def test_rows_without_a_payload_hash_are_matched_by_saga_alone(ddb: Any, order: dict) -> None:
    # Rows written before hashes were stored still replay and compensate as they did.
    effects_of_a_whole_saga(order)
    for table, key in (("orders", {"order_id": "ord-1001"}), ("payments", {"order_id": "ord-1001"}), ("inventory", {"pk": "RESERVATION#ord-1001"})):
        ddb.Table(table).update_item(Key=key, UpdateExpression="REMOVE payload_hash")
    assert run(process_payment, "ProcessPayment", more_expensive(order))["amount"] == "33.00"
    assert run(refund_payment, "RefundPayment", more_expensive(order))["refunded"] is True
