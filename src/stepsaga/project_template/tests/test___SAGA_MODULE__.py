"""The __SAGA_NAME__ saga, run locally with its real handlers: the happy path and each way it can fail.

Each test runs the compiled state machine on stepsaga's embedded cloud (moto's Step Functions interpreter,
moto DynamoDB); retry waits cost no wall time. The helpers come from stepsaga.testing.
"""

from __future__ import annotations

import pytest
from stepsaga.local import default_seed
from stepsaga.testing import (
    CrashAfter,
    Fail,
    HandlerEnvironment,
    assert_compensated,
    assert_compensation_failed,
    assert_contract_violated,
    assert_failed_with,
    assert_items,
    assert_no_items,
    assert_succeeded,
)
from trips import INPUTS, booked, rooms_left, seats_left, trip


def test_a_trip_books_its_seats_and_its_room(cloud):
    result = cloud.run(trip())
    assert_succeeded(result)
    assert result.steps == ["BookFlight", "BookHotel"]
    assert_compensated(result)  # nothing was undone
    assert seats_left(cloud, "LH100") == 3 and rooms_left(cloud, "berlin-central") == 2
    [hotel] = assert_items(cloud, "hotels", booked, count=1)
    # BookHotel read BookFlight's result from the payload's `results`.
    assert hotel["flight_booking"] == result.output["results"]["BookFlight"]["output"]["booking_id"]


def test_a_full_flight_books_nothing_and_undoes_nothing(cloud):
    result = cloud.run(trip("full_flight.json"))  # the real handler finds BA200 with no seats left
    assert_failed_with(result, "NoSeatsLeft")
    assert_compensated(result)  # a business error: BookFlight did not apply, and it is the first step
    assert_no_items(cloud, "flights", booked)
    assert_no_items(cloud, "hotels", booked)


def test_a_full_hotel_cancels_the_flight(cloud):
    result = cloud.run(trip("full_hotel.json"))
    assert_failed_with(result, "NoRoomsLeft")
    assert_compensated(result, "CancelFlight")  # not CancelHotel: BookHotel raised its business error
    assert seats_left(cloud, "LH100") == 5  # the seat came back
    assert_items(cloud, "flights", lambda item: item.get("status") == "CANCELLED", count=1)


def test_a_crash_after_booking_the_room_cancels_both_bookings(cloud):
    # CrashAfter runs the real handler (the room is booked), then the Lambda dies: not a business error,
    # so the step's own compensation runs too, then the flight's.
    result = cloud.run(trip(), {"BookHotel": CrashAfter()})
    assert_failed_with(result, "Runtime.ExitError")
    assert_compensated(result, "CancelHotel", "CancelFlight")
    assert seats_left(cloud, "LH100") == 5 and rooms_left(cloud, "berlin-central") == 3
    assert_no_items(cloud, "flights", booked)
    assert_no_items(cloud, "hotels", booked)


def test_a_throttled_lambda_is_retried_and_the_trip_still_books_once(cloud):
    result = cloud.run(trip(), {"BookFlight": Fail("Lambda.TooManyRequestsException", attempts=2)})
    assert_succeeded(result)
    assert len(result.state("BookFlight").attempts) == 3  # stepsaga's default retrier for Lambda's transient errors
    assert seats_left(cloud, "LH100") == 3


def test_a_cancellation_that_fails_for_good_is_dead_lettered(cloud):
    result = cloud.run(trip("full_hotel.json"), {"CancelFlight": Fail("AirlineDown")})
    assert_failed_with(result, "SagaCompensationFailed")
    assert_compensation_failed(result, "CancelFlight")
    [record] = result.dlq  # the repair record: enough to finish the cancellation by hand
    assert record["failed_compensation"] == "CancelFlight" and record["input"]["trip_id"] == "trip-1003"


def test_a_malformed_trip_fails_before_any_booking(cloud):
    result = cloud.run(trip(hotel={"hotel_id": "berlin-central", "rooms": 0}))
    assert_failed_with(result, "InvalidTrip")
    assert "hotel.rooms" in result.cause
    assert_no_items(cloud, "flights", booked)


def test_a_business_error_after_a_write_breaks_the_contract(cloud):
    # The runtime checks that a declared business error changed no table: this one is raised after the booking.
    result = cloud.run(trip(), {"BookFlight": CrashAfter("NoSeatsLeft")}, allow_contract_violations=True)
    assert_contract_violated(result, "BookFlight", table="flights")


@pytest.mark.parametrize("mode", ["orchestration", "choreography"])
def test_both_modes_cancel_the_flight_when_the_hotel_is_full(saga, saga_cloud, mode):
    # The same handlers as domain events on a local EventBridge bus: the same outcome.
    cloud = saga_cloud(saga, seed=default_seed(saga, INPUTS), mode=mode, reuse=True)
    result = cloud.run(trip("full_hotel.json"))
    assert_failed_with(result, "NoRoomsLeft")
    assert_compensated(result, "CancelFlight")
    assert seats_left(cloud, "LH100") == 5


def test_book_flight_called_twice_with_one_key_books_once(saga, cloud):
    # HandlerEnvironment sends one handler exactly the payload the compiled state machine would.
    env = HandlerEnvironment(saga, cloud)
    first = env.call("BookFlight", trip(), execution="trip-retried")
    again = env.call("BookFlight", trip(), execution="trip-retried")  # the same execution: the same idempotency key
    assert again == first
    assert seats_left(cloud, "LH100") == 3


def test_cancel_flight_with_nothing_booked_is_a_no_op(saga, cloud):
    env = HandlerEnvironment(saga, cloud)
    out = env.call("CancelFlight", trip(), error={"Error": "NoRoomsLeft", "Cause": "no room"})
    assert out == {"cancelled": False, "reason": "nothing to undo"}
    assert seats_left(cloud, "LH100") == 5
