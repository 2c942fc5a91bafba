"""The reference order saga: validate, pay, reserve, then notify past the point of no return."""

from stepsaga import Compensation, HttpTrigger, Retry, Saga, Step, Table

#: The order a client POSTs to start the saga: JSON Schema draft 4, as API Gateway validates it.
#: The handlers validate again (tasks/_common.py); this rejects malformed requests before they cost an execution.
#: Every string, array and number is bounded and no object takes unknown keys, so that a request cannot
#: grow the saga's state document towards Step Functions' 256 KiB limit (about 8 KB at most here).
_ID = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"}
ORDER_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Order",
    "type": "object",
    "additionalProperties": False,
    "required": ["order_id", "customer_id", "currency", "items", "payment"],
    "properties": {
        "order_id": _ID,
        "customer_id": _ID,
        "currency": {"type": "string", "minLength": 3, "maxLength": 3, "pattern": "^[A-Z]{3}$"},
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 50,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["sku", "quantity", "unit_price"],
                "properties": {
                    "sku": _ID,
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "unit_price": {
                        "type": ["string", "number"],
                        "maxLength": 13,
                        "pattern": "^[0-9]{1,10}(\\.[0-9]{1,2})?$",
                        "minimum": 0.01,
                        "maximum": 9999999999.99,
                    },
                },
            },
        },
        "payment": {
            "type": "object",
            "additionalProperties": False,
            "required": ["card_token"],
            "properties": {"card_token": {"type": "string", "minLength": 1, "maxLength": 256}},
        },
    },
}

#: What each handler calls (see tasks/ and compensations/), as DynamoDB IAM actions. The transactions
#: of ReserveInventory and ReleaseInventory hold Update and Put items: TransactWriteItems is authorised
#: per item, by UpdateItem and PutItem (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
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
            compensation=Compensation("CancelOrder", "compensations.cancel_order.handler", tables={"orders": ["GetItem", "UpdateItem"]}),
            business_errors=["InvalidOrder"],
            tables={"orders": ["GetItem", "PutItem"]},
        ),
        Step(
            "ProcessPayment",
            action="tasks.process_payment.handler",
            retry=[Retry(["PaymentGatewayTimeout"], interval_seconds=2, max_attempts=3, backoff_rate=2.0, jitter="FULL")],
            compensation=Compensation("RefundPayment", "compensations.refund_payment.handler", tables={"payments": ["GetItem", "UpdateItem"]}),
            business_errors=["PaymentDeclined"],
            tables={"payments": ["GetItem", "PutItem"]},
        ),
        Step(
            "ReserveInventory",
            action="tasks.reserve_inventory.handler",
            compensation=Compensation("ReleaseInventory", "compensations.release_inventory.handler", tables={"inventory": ["GetItem", "UpdateItem"]}),
            business_errors=["OutOfStock"],
            tables={"inventory": ["GetItem", "UpdateItem", "PutItem"]},
        ),
        Step(
            "SendNotification",
            action="tasks.send_notification.handler",
            retriable=True,
            tables={"orders": ["GetItem", "UpdateItem"]},
        ),
    ],
    triggers=[HttpTrigger("/orders", schema=ORDER_SCHEMA)],
    # Deployed both ways: a state machine, and the same saga as domain events on its own bus.
    mode="both",
)
