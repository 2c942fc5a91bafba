# Imported from tests/asl_corpus/travel_booking.asl.json by `stepsaga import`, as stepsaga's low-level ASL
# builder (stepsaga.asl.builder).
# `stepsaga compile` of this file writes ASL semantically equal to tests/asl_corpus/travel_booking.asl.json
# (README, "Bring your existing ASL").
#
# This ASL is a saga: ReserveFlight, ReserveHotel and ReserveCar catch into the compensation chain CancelCar
# -> CancelHotel -> CancelFlight -> BookingFailed.
# The Saga DSL cannot write it as it is, so this is the low-level builder, faithful to the ASL.
# A Saga of these steps compiles to other ASL:
#   - it adds the states BeginSaga, CheckSagaInput, CancelCarDeadLetter, CancelCarRepairRecord,
#     CancelHotelDeadLetter, CancelHotelRepairRecord, CancelFlightDeadLetter, CancelFlightRepairRecord and 5
#     more: its input check, end states and dead-letter states;
#   - it has no states BookingConfirmed and BookingFailed;
#   - it writes ReserveFlight, ReserveHotel, ReserveCar, CancelCar, CancelHotel and CancelFlight with fields
#     of its own (Parameters, ResultSelector, ResultPath, Retry, Catch, Comment, TimeoutSeconds and Next): the
#     saga payload with its idempotency key, its record of results, its retries and its catches.
# To move it to the DSL, write the Saga the way README "Bring your existing ASL" shows, and give its handlers
# the saga payload.

from stepsaga.asl.builder import Catcher, Fail, Retrier, StateMachine, Succeed, Task

state_machine = StateMachine(
    name="TravelBooking",
    comment=(
        "Book a trip as a saga: reserve a flight, a hotel and a car; on any failure cancel what was "
        "reserved, in reverse order."
    ),
    start_at="ReserveFlight",
    states={
        "ReserveFlight": Task(
            resource="arn:aws:states:::lambda:invoke",
            parameters={
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:reserve-flight",
                "Payload.$": "$",
            },
            result_selector={"flight.$": "$.Payload"},
            result_path="$.results.flight",
            retry=[
                Retrier(
                    error_equals=["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
                    interval_seconds=2,
                    max_attempts=3,
                    backoff_rate=2,
                ),
            ],
            catch=[Catcher(error_equals=["States.ALL"], result_path="$.error", next="CancelFlight")],
            next="ReserveHotel",
        ),
        "ReserveHotel": Task(
            resource="arn:aws:states:::lambda:invoke",
            parameters={
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:reserve-hotel",
                "Payload.$": "$",
            },
            result_selector={"hotel.$": "$.Payload"},
            result_path="$.results.hotel",
            catch=[Catcher(error_equals=["States.ALL"], result_path="$.error", next="CancelHotel")],
            next="ReserveCar",
        ),
        "ReserveCar": Task(
            resource="arn:aws:states:::lambda:invoke",
            parameters={
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:reserve-car",
                "Payload.$": "$",
            },
            result_selector={"car.$": "$.Payload"},
            result_path="$.results.car",
            catch=[Catcher(error_equals=["States.ALL"], result_path="$.error", next="CancelCar")],
            next="BookingConfirmed",
        ),
        "BookingConfirmed": Succeed(),
        "CancelCar": Task(
            resource="arn:aws:states:::lambda:invoke",
            parameters={
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:cancel-car",
                "Payload.$": "$",
            },
            result_path=None,
            retry=[
                Retrier(
                    error_equals=["States.ALL"],
                    interval_seconds=5,
                    max_attempts=5,
                    backoff_rate=2,
                    max_delay_seconds=60,
                ),
            ],
            next="CancelHotel",
        ),
        "CancelHotel": Task(
            resource="arn:aws:states:::lambda:invoke",
            parameters={
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:cancel-hotel",
                "Payload.$": "$",
            },
            result_path=None,
            retry=[
                Retrier(
                    error_equals=["States.ALL"],
                    interval_seconds=5,
                    max_attempts=5,
                    backoff_rate=2,
                    max_delay_seconds=60,
                ),
            ],
            next="CancelFlight",
        ),
        "CancelFlight": Task(
            resource="arn:aws:states:::lambda:invoke",
            parameters={
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:cancel-flight",
                "Payload.$": "$",
            },
            result_path=None,
            retry=[
                Retrier(
                    error_equals=["States.ALL"],
                    interval_seconds=5,
                    max_attempts=5,
                    backoff_rate=2,
                    max_delay_seconds=60,
                ),
            ],
            next="BookingFailed",
        ),
        "BookingFailed": Fail(error="BookingFailed", cause_path="$.error.Cause"),
    },
)
