"""ValidateOrder: validate the order input and record it as PENDING."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

if __package__:
    from ._common import (
        ORDER_FIELDS,
        InvalidOrder,
        check_replay,
        logger,
        money,
        now_iso,
        parse_event,
        parse_order,
        payload_hash,
        table,
    )
else:  # Lambda imports this file as a top-level module from the CodeUri root
    from _common import (
        ORDER_FIELDS,
        InvalidOrder,
        check_replay,
        logger,
        money,
        now_iso,
        parse_event,
        parse_order,
        payload_hash,
        table,
    )

__all__ = ["InvalidOrder", "handler"]


def _result(order_id: str, amount: Any, currency: str) -> dict[str, Any]:
    return {"order_id": order_id, "amount": money(amount), "currency": currency, "status": "PENDING"}


@logger.inject_lambda_context(clear_state=True)
def handler(raw: Any, context: LambdaContext) -> dict[str, Any]:
    """Validate the order and create its PENDING row exactly once per idempotency key.

    Whatever it is given, a payload or saga input it cannot use raises InvalidOrder before any
    side effect, so the saga fails cleanly without compensating. The same key with another order
    payload raises IdempotencyValidationError and changes nothing.
    """
    event = parse_event(raw, invalid=InvalidOrder)
    logger.append_keys(saga_id=event.saga_id, step=event.step)
    order = parse_order(event.input)
    digest = payload_hash(event.input, ORDER_FIELDS)
    orders = table("ORDERS_TABLE")
    try:
        orders.put_item(
            Item={
                "order_id": order.order_id,
                "customer_id": order.customer_id,
                "currency": order.currency,
                "amount": order.amount,
                "items": [
                    {"sku": i.sku, "quantity": i.quantity, "unit_price": i.unit_price} for i in order.items
                ],
                "status": "PENDING",
                "saga_id": event.saga_id,
                "idempotency_key": event.idempotency_key,
                "payload_hash": digest,
                "created_at": now_iso(),
            },
            ConditionExpression="attribute_not_exists(order_id)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        existing = orders.get_item(Key={"order_id": order.order_id}, ConsistentRead=True).get("Item")
        if existing is None or existing.get("idempotency_key") != event.idempotency_key:
            raise InvalidOrder(f"order {order.order_id} already exists") from None
        check_replay(existing, digest, event.idempotency_key, f"order {order.order_id}")
        # A retry of this same saga step with the same order: answer as the first call did.
        logger.info("duplicate ValidateOrder call, returning the stored order")
        return _result(existing["order_id"], existing["amount"], existing["currency"])
    logger.info("order recorded", extra={"order_id": order.order_id, "amount": money(order.amount)})
    return _result(order.order_id, order.amount, order.currency)
