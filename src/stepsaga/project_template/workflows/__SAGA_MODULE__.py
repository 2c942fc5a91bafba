"""The __SAGA_NAME__ saga: book a trip's flight, then its hotel; what was booked is cancelled when the trip fails.

    stepsaga compile workflows/__SAGA_MODULE__.py      the ASL Step Functions runs
    make demo                                  run it locally through the happy path and every failure path
    make template                              regenerate asl/ and template.yaml after a change here
"""

from stepsaga import Compensation, Saga, Step, Table

saga = Saga(
    "__SAGA_NAME__",
    comment="Book a trip: seats on a flight, then rooms at a hotel; a trip that cannot be completed is cancelled.",
    # Each table holds the capacity rows (FLIGHT#<number>, HOTEL#<id>) and the bookings (BOOKING#<trip_id>).
    tables=[Table("flights", partition_key="pk"), Table("hotels", partition_key="pk")],
    steps=[
        Step(
            "BookFlight",
            action="tasks.book_flight.handler",
            # InvalidTrip and NoSeatsLeft mean "nothing was booked": the saga neither retries them nor cancels this step.
            business_errors=["InvalidTrip", "NoSeatsLeft"],
            # One transaction: UpdateItem on the flight's seats, PutItem of the booking; GetItem for a repeated call.
            tables={"flights": ["GetItem", "PutItem", "UpdateItem"]},
            compensation=Compensation("CancelFlight", "compensations.cancel_flight.handler",
                                      tables={"flights": ["GetItem", "UpdateItem"]}),
        ),
        Step(
            "BookHotel",
            action="tasks.book_hotel.handler",
            business_errors=["InvalidTrip", "NoRoomsLeft"],
            tables={"hotels": ["GetItem", "PutItem", "UpdateItem"]},
            compensation=Compensation("CancelHotel", "compensations.cancel_hotel.handler",
                                      tables={"hotels": ["GetItem", "UpdateItem"]}),
        ),
    ],
)
