"""ReleaseInventory: compensation for ReserveInventory; puts held stock back exactly once."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

if __package__:
    from ._common import NOTHING_TO_UNDO, RESERVATION_FIELDS, SagaEvent, dynamodb, logger, now_iso, table
else:  # Lambda imports this file as a top-level module from the CodeUri root
    from _common import NOTHING_TO_UNDO, RESERVATION_FIELDS, SagaEvent, dynamodb, logger, now_iso, table

__all__ = ["handler"]


def _released(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "reservation_id": row["pk"],
        "released": True,
        "items": [{"sku": i["sku"], "quantity": int(i["quantity"])} for i in row["items"]],
        "status": "RELEASED",
    }


def _noop(pk: str | None, reason: str) -> dict[str, Any]:
    return {"reservation_id": pk, "released": False, "items": [], "reason": reason}


def _restock(table_name: str, sku: str, quantity: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table_name,
            "Key": {"pk": f"SKU#{sku}"},
            # ADD (not SET a = a + q) so a stock row deleted meanwhile cannot wedge the compensation.
            "UpdateExpression": "SET sku = if_not_exists(sku, :sku) ADD #available :q",
            "ExpressionAttributeNames": {"#available": "available"},
            "ExpressionAttributeValues": {":q": quantity, ":sku": sku},
        }
    }


@logger.inject_lambda_context(clear_state=True)
def handler(raw: Any, context: LambdaContext) -> dict[str, Any]:
    """Return this saga's HELD reservation for this payload to stock; a no-op when nothing is held.

    Succeeds whatever it is given: with no usable saga id or order id there is nothing to undo.
    """
    event = SagaEvent.of(raw)
    logger.append_keys(saga_id=event.saga_id, step=event.step)
    pk = f"RESERVATION#{event.order_id}" if event.order_id else None
    inventory = table("INVENTORY_TABLE")
    # Looked up by order id, not results: the reservation may exist although the step reported a failure.
    row = inventory.get_item(Key={"pk": pk}, ConsistentRead=True).get("Item") if pk else None
    if row is None:
        return _noop(pk, NOTHING_TO_UNDO)
    if reason := event.not_ours(row, "reservation", RESERVATION_FIELDS):
        logger.warning("reservation not released", extra={"reservation_id": pk, "reason": reason})
        return _noop(pk, reason)
    if row.get("status") == "RELEASED":
        return _released(row)

    table_name = os.environ["INVENTORY_TABLE"]
    transact = [_restock(table_name, i["sku"], int(i["quantity"])) for i in row["items"]]
    transact.append(
        {
            "Update": {
                "TableName": table_name,
                "Key": {"pk": pk},
                "UpdateExpression": "SET #status = :released, released_at = :now",
                # The HELD guard is what makes stock come back once, even under concurrent duplicates.
                "ConditionExpression": "#status = :held AND saga_id = :saga",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":released": "RELEASED",
                    ":held": "HELD",
                    ":now": now_iso(),
                    ":saga": event.saga_id,
                },
            }
        }
    )
    try:
        # The resource's client (de)serialises attribute values, so plain Python values go in.
        dynamodb().meta.client.transact_write_items(TransactItems=transact)
    except ClientError as exc:
        reasons = exc.response.get("CancellationReasons") or [{}]
        if reasons[-1].get("Code") != "ConditionalCheckFailed":
            raise
        row = inventory.get_item(Key={"pk": pk}, ConsistentRead=True)["Item"]
        if row.get("status") != "RELEASED":
            raise
        return _released(row)
    logger.info("inventory released", extra={"reservation_id": pk, "lines": len(row["items"])})
    return _released(row)
