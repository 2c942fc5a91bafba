"""ProcessPayment: charge the order total once per idempotency key (simulated gateway)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

if __package__:
    from ._common import (
        PAYMENT_FIELDS,
        BusinessError,
        SagaConflict,
        SagaEvent,
        check_replay,
        logger,
        money,
        now_iso,
        parse_event,
        parse_order,
        payload_hash,
        short_hash,
        table,
    )
else:  # Lambda imports this file as a top-level module from the CodeUri root
    from _common import (
        PAYMENT_FIELDS,
        BusinessError,
        SagaConflict,
        SagaEvent,
        check_replay,
        logger,
        money,
        now_iso,
        parse_event,
        parse_order,
        payload_hash,
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


def _existing(payments: Any, order_id: str, event: SagaEvent, digest: str) -> dict[str, Any] | None:
    row = payments.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")
    if row is not None and row.get("idempotency_key") != event.idempotency_key:
        raise SagaConflict(f"order {order_id} was already charged by saga {row.get('saga_id')}")
    if row is not None:
        check_replay(row, digest, event.idempotency_key, f"the payment of order {order_id}")
    return row


@logger.inject_lambda_context(clear_state=True)
def handler(raw: Any, context: LambdaContext) -> dict[str, Any]:
    """Charge the order once; a repeated call with the same idempotency key returns the first charge.

    The same key with another amount, currency, card or order raises IdempotencyValidationError
    and charges nothing.
    """
    event = parse_event(raw)
    logger.append_keys(saga_id=event.saga_id, step=event.step)
    # The amount comes from the validated input, never from earlier step results.
    order = parse_order(event.input)
    digest = payload_hash(event.input, PAYMENT_FIELDS)
    payments = table("PAYMENTS_TABLE")
    if (row := _existing(payments, order.order_id, event, digest)) is not None:
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
        "payload_hash": digest,
        "saga_id": event.saga_id,
        "charged_at": now_iso(),
    }
    try:
        payments.put_item(Item=row, ConditionExpression="attribute_not_exists(order_id)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        # A concurrent duplicate won the race; its row is the one true charge.
        row = _existing(payments, order.order_id, event, digest) or row
    logger.info("payment charged", extra={"payment_id": row["payment_id"], "amount": money(row["amount"])})
    return _result(row)
