"""The sagas whose compiled ASL is in this corpus: `stepsaga compile tests/asl_corpus/compiled_sagas.py -o tests/asl_corpus/`.

tests/unit/test_import_corpus.py checks the committed files are what this compiles to today.
"""

from stepsaga import Compensation, Retry, Saga, Step

shipment = Saga(
    "ShipmentSaga",
    steps=[
        Step("BookCarrier", "shipping.book.handler",
             compensation=Compensation("CancelCarrier", "shipping.cancel.handler")),
        Step("PrintLabel", "shipping.label.handler", retriable=True),
    ],
)

express_booking = Saga(
    "ExpressBookingSaga",
    comment="Hold a seat and a room within five minutes, or release both.",
    workflow_type="EXPRESS",
    timeout_seconds=290,
    task_timeout_seconds=15,
    transient_retry=Retry(["Lambda.ServiceException", "Lambda.TooManyRequestsException"], max_attempts=1, jitter="FULL"),
    steps=[
        Step("HoldSeat", "booking.hold_seat.handler", timeout_seconds=20, heartbeat_seconds=12,
             comment="Holds a seat on the flight; the hold lapses by itself after an hour.",
             compensation=Compensation("ReleaseSeat", "booking.release_seat.handler", timeout_seconds=15,
                                       retry=[Retry(["States.ALL"], interval_seconds=1, max_attempts=2, max_delay_seconds=4)])),
        Step("HoldRoom", "booking.hold_room.handler", business_errors=["NoRoomLeft"],
             retry=[Retry(["RoomServiceBusy"], interval_seconds=1, max_attempts=2, backoff_rate=1.5)],
             compensation=Compensation("ReleaseRoom", "booking.release_room.handler", comment="Gives the room back.",
                                       retry=[Retry(["States.ALL"], interval_seconds=1, max_attempts=2, max_delay_seconds=4)])),
    ],
)

ledger = Saga(
    "LedgerSaga",
    steps=[
        Step("Charge", "contract_tasks.charge.handler", business_errors=["Declined"],
             compensation=Compensation("Refund", "contract_tasks.refund.handler")),
    ],
)

custom_retry = Saga(
    "SubscriptionSaga",
    comment="Start a subscription: reserve the plan, charge the first month, provision the account.",
    timeout_seconds=7200,
    transient_retry=Retry(["Lambda.ServiceException", "Lambda.TooManyRequestsException"], interval_seconds=3, max_attempts=4),
    compensation_retry=[Retry(["States.ALL"], interval_seconds=5, max_attempts=8, backoff_rate=1.5, max_delay_seconds=120, jitter="FULL")],
    steps=[
        Step("ReservePlan", "subscriptions.reserve.handler",
             compensation=Compensation("ReleasePlan", "subscriptions.release.handler")),
        Step("ChargeFirstMonth", "billing.charge.handler", business_errors=["CardDeclined", "CardExpired"],
             retry=[Retry(["GatewayTimeout"], interval_seconds=2, max_attempts=2, jitter="NONE"),
                    Retry(["States.ALL"], interval_seconds=1, max_attempts=1)],
             compensation=Compensation("RefundFirstMonth", "billing.refund.handler", timeout_seconds=120)),
        Step("ProvisionAccount", "accounts.provision.handler", retry=[Retry(["States.TaskFailed"], max_attempts=2)]),
        Step("SendWelcome", "mail.welcome.handler", retriable=True, retry=[Retry(["States.ALL"], max_attempts=10, max_delay_seconds=300)]),
    ],
)

plain = Saga(
    "ReportSaga",
    steps=[Step("GatherFigures", "reports.gather.handler"), Step("RenderReport", "reports.render.handler")],
)
