"""The reference order saga: validate, pay, reserve, then notify past the point of no return."""

from stepsaga import Compensation, Retry, Saga, Step, Table

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
)
