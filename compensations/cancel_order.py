"""CancelOrder: compensation for ValidateOrder; marks this saga's order CANCELLED."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

if __package__:
    from ._common import NOTHING_TO_UNDO, SagaEvent, logger, now_iso, table
else:  # Lambda imports this file as a top-level module from the CodeUri root
    from _common import NOTHING_TO_UNDO, SagaEvent, logger, now_iso, table

__all__ = ["handler"]


def _cancelled(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": row["order_id"],
        "cancelled": True,
        "status": "CANCELLED",
        "cancel_reason": row.get("cancel_reason"),
    }


@logger.inject_lambda_context(clear_state=True)
@event_parser(model=SagaEvent)
def handler(event: SagaEvent, context: LambdaContext) -> dict[str, Any]:
    """Cancel the order row written by this saga; a no-op when there is none."""
    logger.append_keys(saga_id=event.saga_id, step=event.step)
    order_id = event.order_id
    orders = table("ORDERS_TABLE")
    row = orders.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item") if order_id else None
    if row is None:
        return {"order_id": order_id, "cancelled": False, "reason": NOTHING_TO_UNDO}
    if row.get("saga_id") != event.saga_id:
        # InvalidOrder("already exists") triggers this compensation: never cancel another saga's order.
        return {"order_id": order_id, "cancelled": False, "reason": "order belongs to another saga"}
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
