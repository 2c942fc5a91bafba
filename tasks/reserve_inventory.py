"""ReserveInventory: decrement stock and record a HELD reservation in one transaction."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

if __package__:
    from ._common import (
        RESERVATION_FIELDS,
        BusinessError,
        SagaConflict,
        SagaEvent,
        check_replay,
        dynamodb,
        logger,
        now_iso,
        parse_event,
        parse_order,
        payload_hash,
        table,
    )
else:  # Lambda imports this file as a top-level module from the CodeUri root
    from _common import (
        RESERVATION_FIELDS,
        BusinessError,
        SagaConflict,
        SagaEvent,
        check_replay,
        dynamodb,
        logger,
        now_iso,
        parse_event,
        parse_order,
        payload_hash,
        table,
    )

__all__ = ["OutOfStock", "handler"]

_deserialize = TypeDeserializer().deserialize


class OutOfStock(BusinessError):
    """At least one sku is unknown or has less stock available than ordered."""


def _result(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "reservation_id": row["pk"],
        "items": [{"sku": i["sku"], "quantity": int(i["quantity"])} for i in row["items"]],
        "status": row["status"],
    }


def _existing(inventory: Any, pk: str, event: SagaEvent, digest: str) -> dict[str, Any] | None:
    row = inventory.get_item(Key={"pk": pk}, ConsistentRead=True).get("Item")
    if row is not None and row.get("saga_id") != event.saga_id:
        raise SagaConflict(f"{pk} is held by saga {row.get('saga_id')}")
    if row is not None:
        check_replay(row, digest, event.idempotency_key, pk)
    return row


def _stock_update(table_name: str, sku: str, quantity: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table_name,
            "Key": {"pk": f"SKU#{sku}"},
            "UpdateExpression": "SET #available = #available - :q",
            # attribute_exists keeps an unknown sku from being created with negative stock.
            "ConditionExpression": "attribute_exists(pk) AND #available >= :q",
            "ExpressionAttributeNames": {"#available": "available"},
            "ExpressionAttributeValues": {":q": quantity},
            # The old row tells "unknown sku" from "not enough" without a second read.
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _shortages(reasons: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[str]:
    shortages = []
    for reason, item in zip(reasons, items):
        if reason.get("Code") != "ConditionalCheckFailed":
            continue
        # Error responses bypass the resource's deserialiser: the old row arrives in wire format.
        old = {k: _deserialize(v) for k, v in reason.get("Item", {}).items()}
        if "available" in old:
            shortages.append(f"{item['sku']} (ordered {item['quantity']}, available {int(old['available'])})")
        else:
            shortages.append(f"{item['sku']} (unknown sku)")
    return shortages


@logger.inject_lambda_context(clear_state=True)
def handler(raw: Any, context: LambdaContext) -> dict[str, Any]:
    """Reserve every order line atomically; a repeated call returns the existing reservation.

    The same idempotency key with other items raises IdempotencyValidationError and holds nothing more.
    """
    event = parse_event(raw)
    logger.append_keys(saga_id=event.saga_id, step=event.step)
    order = parse_order(event.input)
    digest = payload_hash(event.input, RESERVATION_FIELDS)
    inventory = table("INVENTORY_TABLE")
    pk = f"RESERVATION#{order.order_id}"
    # Checked first: on a retry the stock may already be too low because our own first call took it.
    if (row := _existing(inventory, pk, event, digest)) is not None:
        logger.info("duplicate ReserveInventory call, returning the stored reservation")
        return _result(row)

    items = [{"sku": i.sku, "quantity": i.quantity} for i in order.items]
    reservation = {
        "pk": pk,
        "order_id": order.order_id,
        "items": items,
        "status": "HELD",
        "saga_id": event.saga_id,
        "idempotency_key": event.idempotency_key,
        "payload_hash": digest,
        "reserved_at": now_iso(),
    }
    table_name = os.environ["INVENTORY_TABLE"]
    transact = [_stock_update(table_name, i["sku"], i["quantity"]) for i in items]
    transact.append(
        {
            "Put": {
                "TableName": table_name,
                "Item": reservation,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
    )
    try:
        # The resource's client (de)serialises attribute values, so plain Python values go in and come out.
        dynamodb().meta.client.transact_write_items(TransactItems=transact)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = exc.response.get("CancellationReasons", [])
        if reasons and reasons[-1].get("Code") == "ConditionalCheckFailed":
            # A concurrent duplicate wrote the reservation between our read and our write.
            if (row := _existing(inventory, pk, event, digest)) is not None:
                return _result(row)
        shortages = _shortages(reasons, items)
        if not shortages:
            raise  # e.g. TransactionConflict: transient, let Lambda/Step Functions retry
        raise OutOfStock(f"out of stock: {'; '.join(shortages)}") from None
    logger.info("inventory reserved", extra={"reservation_id": pk, "lines": len(items)})
    return _result(reservation)
