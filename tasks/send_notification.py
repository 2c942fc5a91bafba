"""SendNotification: confirm the order and notify the customer exactly once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

if __package__:
    from ._common import (
        ORDER_FIELDS,
        SagaConflict,
        check_replay,
        logger,
        now_iso,
        parse_event,
        parse_order,
        payload_hash,
        table,
    )
else:  # Lambda imports this file as a top-level module from the CodeUri root
    from _common import (
        ORDER_FIELDS,
        SagaConflict,
        check_replay,
        logger,
        now_iso,
        parse_event,
        parse_order,
        payload_hash,
        table,
    )

__all__ = ["handler"]


@logger.inject_lambda_context(clear_state=True)
def handler(raw: Any, context: LambdaContext) -> dict[str, Any]:
    """Mark the order CONFIRMED and record the notification once per idempotency key.

    The same key with another order payload raises IdempotencyValidationError and sends nothing.
    """
    event = parse_event(raw)
    logger.append_keys(saga_id=event.saga_id, step=event.step)
    order_id = parse_order(event.input).order_id
    digest = payload_hash(event.input, ORDER_FIELDS)
    orders = table("ORDERS_TABLE")
    result = {"order_id": order_id, "status": "CONFIRMED", "notified": True}
    try:
        # One conditional write both confirms and "sends": the notification_key guard makes it once-only.
        orders.update_item(
            Key={"order_id": order_id},
            UpdateExpression=(
                "SET #status = :confirmed, notified_at = :now, notification_key = :key, notification_hash = :hash"
            ),
            ConditionExpression=(
                "attribute_exists(order_id) AND saga_id = :saga "
                "AND #status = :pending AND attribute_not_exists(notification_key)"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":confirmed": "CONFIRMED",
                ":pending": "PENDING",
                ":now": now_iso(),
                ":key": event.idempotency_key,
                ":hash": digest,
                ":saga": event.saga_id,
            },
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        row = orders.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")
        if row is not None and row.get("notification_key") == event.idempotency_key:
            check_replay(row, digest, event.idempotency_key, f"the notification of order {order_id}", "notification_hash")
            logger.info("duplicate SendNotification call, already notified")
            return result
        state = "missing" if row is None else f"{row.get('status')} (saga {row.get('saga_id')})"
        raise SagaConflict(f"cannot confirm order {order_id}: order is {state}") from None
    # Stand-in for the e-mail/SNS call; its once-only guarantee is the conditional write above.
    logger.info("order confirmed, customer notified", extra={"order_id": order_id})
    return result
