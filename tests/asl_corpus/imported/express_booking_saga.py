# Imported from tests/asl_corpus/express_booking_saga.asl.json by `stepsaga import`: stepsaga's compiled ASL
# of saga ExpressBookingSaga, read back as a Saga.
# `stepsaga compile` of this file writes ASL byte-identical to tests/asl_corpus/express_booking_saga.asl.json.
# ASL does not hold the saga's tables, triggers, mode and events, nor each step's tables: declare them here
# (README, "Define a saga").
# The ASL names no handler for HoldSeat, ReleaseRoom (their Comments are their own), so each of their action=
# is named after its state: write the real one.

from stepsaga import Compensation, Retry, Saga, Step

saga = Saga(
    "ExpressBookingSaga",
    comment="Hold a seat and a room within five minutes, or release both.",
    workflow_type="EXPRESS",
    timeout_seconds=290,
    task_timeout_seconds=15,
    transient_retry=Retry(
        ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
        max_attempts=1,
        jitter="FULL",
    ),
    compensation_retry=[Retry(["States.ALL"], max_attempts=2, max_delay_seconds=4)],
    steps=[
        Step(
            "HoldSeat",
            action="tasks.hold_seat.handler",
            compensation=Compensation("ReleaseSeat", "booking.release_seat.handler"),
            timeout_seconds=20,
            heartbeat_seconds=12,
            comment="Holds a seat on the flight; the hold lapses by itself after an hour.",
        ),
        Step(
            "HoldRoom",
            action="booking.hold_room.handler",
            compensation=Compensation(
                "ReleaseRoom",
                "compensations.release_room.handler",
                comment="Gives the room back.",
            ),
            retry=[Retry(["RoomServiceBusy"], max_attempts=2, backoff_rate=1.5)],
            business_errors=["NoRoomLeft"],
        ),
    ],
)
