"""The reference order saga: validate, pay, reserve, then notify past the point of no return."""

from stepsaga import Compensation, HttpTrigger, Retry, Saga, Step, Table

#: The order a client POSTs to start the saga: JSON Schema draft 4, as API Gateway validates it.
#: The handlers validate again (tasks/_common.py); this rejects malformed requests before they cost an execution.
ORDER_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Order",
    "type": "object",
    "required": ["order_id", "customer_id", "currency", "items", "payment"],
    "properties": {
        "order_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"},
        "customer_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 50,
            "items": {
                "type": "object",
                "required": ["sku", "quantity", "unit_price"],
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "unit_price": {"type": ["string", "number"], "pattern": "^[0-9]{1,10}(\\.[0-9]{1,2})?$", "minimum": 0.01},
                },
            },
        },
        "payment": {
            "type": "object",
            "required": ["card_token"],
            "properties": {"card_token": {"type": "string", "minLength": 1, "maxLength": 256}},
        },
    },
}

saga = Saga(
    "OrderSaga",
    comment="Place an order: validate it, take the payment, reserve the stock, then notify the customer.",
    tables=[
        Table("orders", partition_key="order_id"),
        Table("payments", partition_key="order_id"),
        Table("inventory", partition_key="pk"),
    ],
    steps=[
        Step(
            "ValidateOrder",
            action="tasks.validate_order.handler",
            compensation=Compensation("CancelOrder", "compensations.cancel_order.handler", tables=["orders"]),
            business_errors=["InvalidOrder"],
            tables=["orders"],
        ),
        Step(
            "ProcessPayment",
            action="tasks.process_payment.handler",
            retry=[Retry(["PaymentGatewayTimeout"], interval_seconds=2, max_attempts=3, backoff_rate=2.0, jitter="FULL")],
            compensation=Compensation("RefundPayment", "compensations.refund_payment.handler", tables=["payments"]),
            business_errors=["PaymentDeclined"],
            tables=["payments"],
        ),
        Step(
            "ReserveInventory",
            action="tasks.reserve_inventory.handler",
            compensation=Compensation("ReleaseInventory", "compensations.release_inventory.handler", tables=["inventory"]),
            business_errors=["OutOfStock"],
            tables=["inventory"],
        ),
        Step(
            "SendNotification",
            action="tasks.send_notification.handler",
            retriable=True,
            tables=["orders"],
        ),
    ],
    triggers=[HttpTrigger("/orders", schema=ORDER_SCHEMA)],
)
