"""BookHotel: hold the trip's rooms at its hotel, once per idempotency key."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from _common import BusinessError, book, booking_id, logger, parse_event, parse_trip


class NoRoomsLeft(BusinessError):
    """The hotel has fewer rooms left than the trip asks for."""


@logger.inject_lambda_context(clear_state=True)
def handler(raw: Any, context: LambdaContext) -> dict[str, Any]:
    """Book the rooms. A failure here (declared or not) cancels the flight BookFlight booked."""
    event = parse_event(raw)
    logger.append_keys(saga_id=event.saga_id, step=event.step)
    trip = parse_trip(event.input)
    flight = event.results["BookFlight"]["output"]  # what BookFlight returned
    row = book(
        event, trip.trip_id, env_var="HOTELS_TABLE", capacity_key=f"HOTEL#{trip.hotel.hotel_id}", capacity="rooms_left",
        quantity=trip.hotel.rooms, no_capacity=NoRoomsLeft, what=f"hotel {trip.hotel.hotel_id}",
        booking={"booking_id": booking_id("HT", event.idempotency_key), "hotel_id": trip.hotel.hotel_id,
                 "traveller": trip.traveller, "flight_booking": flight["booking_id"]},
    )
    return {"booking_id": row["booking_id"], "hotel_id": row["hotel_id"], "rooms": int(row["quantity"]), "status": row["status"]}
