"""RefundPayment: compensation for ProcessPayment; refunds exactly what was charged."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

if __package__:
    from ._common import NOTHING_TO_UNDO, PAYMENT_FIELDS, SagaEvent, logger, money, now_iso, table
else:  # Lambda imports this file as a top-level module from the CodeUri root
    from _common import NOTHING_TO_UNDO, PAYMENT_FIELDS, SagaEvent, logger, money, now_iso, table

__all__ = ["handler"]


def _refunded(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": row["order_id"],
        "payment_id": row["payment_id"],
        "refunded": True,
        "amount": money(row["refunded_amount"]),
        "currency": row["currency"],
        "status": "REFUNDED",
    }


def _noop(order_id: str | None, reason: str) -> dict[str, Any]:
    return {"order_id": order_id, "refunded": False, "amount": money(0), "reason": reason}


@logger.inject_lambda_context(clear_state=True)
def handler(raw: Any, context: LambdaContext) -> dict[str, Any]:
    """Refund this saga's CHARGED payment for this payload in full; a no-op when nothing was charged.

    Succeeds whatever it is given: with no usable saga id or order id there is nothing to undo.
    """
    event = SagaEvent.of(raw)
    logger.append_keys(saga_id=event.saga_id, step=event.step)
    order_id = event.order_id
    payments = table("PAYMENTS_TABLE")
    # Looked up by order id, not results: the charge may have landed just before the step crashed.
    row = payments.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item") if order_id else None
    if row is None:
        return _noop(order_id, NOTHING_TO_UNDO)
    if reason := event.not_ours(row, "payment", PAYMENT_FIELDS):
        logger.warning("payment not refunded", extra={"order_id": order_id, "reason": reason})
        return _noop(order_id, reason)
    if row.get("status") == "REFUNDED":
        return _refunded(row)
    if row.get("status") != "CHARGED":
        return _noop(order_id, f"payment is {row.get('status')}")

    try:
        row = payments.update_item(
            Key={"order_id": order_id},
            # Refund from the stored charge so the amounts match to the cent.
            UpdateExpression=(
                "SET #status = :refunded, refunded_amount = charged_amount, "
                "refunded_at = :now, refund_key = :key"
            ),
            ConditionExpression="#status = :charged AND saga_id = :saga",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":refunded": "REFUNDED",
                ":charged": "CHARGED",
                ":now": now_iso(),
                ":key": event.idempotency_key,
                ":saga": event.saga_id,
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        # A concurrent duplicate refunded first; report the same outcome.
        row = payments.get_item(Key={"order_id": order_id}, ConsistentRead=True)["Item"]
    amount = money(row["refunded_amount"])
    logger.info("payment refunded", extra={"payment_id": row["payment_id"], "amount": amount})
    return _refunded(row)
