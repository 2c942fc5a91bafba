"""ProcessPayment: charge the order total once per idempotency key (simulated gateway)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

if __package__:
    from ._common import (
        BusinessError,
        SagaConflict,
        SagaEvent,
        logger,
        money,
        now_iso,
        parse_order,
        short_hash,
        table,
    )
else:  # Lambda imports this file as a top-level module from the CodeUri root
    from _common import (
        BusinessError,
        SagaConflict,
        SagaEvent,
        logger,
        money,
        now_iso,
        parse_order,
        short_hash,
        table,
    )

__all__ = ["PaymentDeclined", "PaymentGatewayTimeout", "handler"]


class PaymentDeclined(BusinessError):
    """The card issuer refused the charge."""


class PaymentGatewayTimeout(BusinessError):
    """The gateway did not answer in time; the saga retries this error."""


# Test card tokens of the simulated gateway, each mapped to the failure it provokes.
_GATEWAY_FAILURES: dict[str, tuple[type[BusinessError], str]] = {
    "tok_declined": (PaymentDeclined, "card declined by the issuer"),
    "tok_insufficient": (PaymentDeclined, "card declined: insufficient funds"),
    "tok_gateway_timeout": (PaymentGatewayTimeout, "payment gateway did not answer within 10 s"),
}


def _charge(card_token: str, amount: Decimal, currency: str, key: str) -> None:
    """Simulate the gateway call; a real gateway would receive `key` as its idempotency key."""
    if card_token in _GATEWAY_FAILURES:
        error, message = _GATEWAY_FAILURES[card_token]
        raise error(f"{message} ({money(amount)} {currency})")


def _result(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "payment_id": row["payment_id"],
        "amount": money(row["amount"]),
        "currency": row["currency"],
        "status": row["status"],
    }


def _existing(payments: Any, order_id: str, event: SagaEvent) -> dict[str, Any] | None:
    row = payments.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")
    if row is not None and row.get("idempotency_key") != event.idempotency_key:
        raise SagaConflict(f"order {order_id} was already charged by saga {row.get('saga_id')}")
    return row


@logger.inject_lambda_context(clear_state=True)
@event_parser(model=SagaEvent)
def handler(event: SagaEvent, context: LambdaContext) -> dict[str, Any]:
    """Charge the order once; a repeated call with the same idempotency key returns the first charge."""
    logger.append_keys(saga_id=event.saga_id, step=event.step)
    # The amount comes from the validated input, never from earlier step results.
    order = parse_order(event.input)
    payments = table("PAYMENTS_TABLE")
    if (row := _existing(payments, order.order_id, event)) is not None:
        logger.info("duplicate ProcessPayment call, returning the stored payment")
        return _result(row)

    _charge(order.payment.card_token, order.amount, order.currency, event.idempotency_key)
    row = {
        "order_id": order.order_id,
        "payment_id": "pay-" + short_hash(event.idempotency_key),
        "amount": order.amount,
        "currency": order.currency,
        "status": "CHARGED",
        "charged_amount": order.amount,
        "refunded_amount": Decimal("0"),
        "idempotency_key": event.idempotency_key,
        "saga_id": event.saga_id,
        "charged_at": now_iso(),
    }
    try:
        payments.put_item(Item=row, ConditionExpression="attribute_not_exists(order_id)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        # A concurrent duplicate won the race; its row is the one true charge.
        row = _existing(payments, order.order_id, event) or row
    logger.info("payment charged", extra={"payment_id": row["payment_id"], "amount": money(row["amount"])})
    return _result(row)
