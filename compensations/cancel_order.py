"""CancelOrder: compensation for ValidateOrder; marks this saga's order CANCELLED."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

if __package__:
    from ._common import NOTHING_TO_UNDO, ORDER_FIELDS, SagaEvent, logger, now_iso, table
else:  # Lambda imports this file as a top-level module from the CodeUri root
    from _common import NOTHING_TO_UNDO, ORDER_FIELDS, SagaEvent, logger, now_iso, table

__all__ = ["handler"]


def _cancelled(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": row["order_id"],
        "cancelled": True,
        "status": "CANCELLED",
        "cancel_reason": row.get("cancel_reason"),
    }


@logger.inject_lambda_context(clear_state=True)
def handler(raw: Any, context: LambdaContext) -> dict[str, Any]:
    """Cancel the order row written by this saga for this payload; a no-op when there is none.

    Succeeds whatever it is given: with no usable saga id or order id there is nothing to undo.
    """
    event = SagaEvent.of(raw)
    logger.append_keys(saga_id=event.saga_id, step=event.step)
    order_id = event.order_id
    orders = table("ORDERS_TABLE")
    row = orders.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item") if order_id else None
    if row is None:
        return {"order_id": order_id, "cancelled": False, "reason": NOTHING_TO_UNDO}
    # Never cancel another saga's order, nor one this saga id recorded for another payload.
    if reason := event.not_ours(row, "order", ORDER_FIELDS):
        logger.warning("order not cancelled", extra={"order_id": order_id, "reason": reason})
        return {"order_id": order_id, "cancelled": False, "reason": reason}
    if row.get("status") == "CANCELLED":
        return _cancelled(row)

    names = {"#status": "status"}
    values: dict[str, Any] = {":cancelled": "CANCELLED", ":now": now_iso(), ":saga": event.saga_id}
    update = "SET #status = :cancelled, cancelled_at = :now"
    if event.error and event.error.Error:
        update += ", cancel_reason = :reason, cancel_cause = :cause"
        values |= {":reason": event.error.Error, ":cause": (event.error.Cause or "")[:1000]}
    try:
        row = orders.update_item(
            Key={"order_id": order_id},
            UpdateExpression=update,
            ConditionExpression="saga_id = :saga AND #status <> :cancelled",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        # A concurrent duplicate cancelled it first; report the same outcome.
        row = orders.get_item(Key={"order_id": order_id}, ConsistentRead=True)["Item"]
    logger.info("order cancelled", extra={"order_id": order_id, "cancel_reason": row.get("cancel_reason")})
    return _cancelled(row)
