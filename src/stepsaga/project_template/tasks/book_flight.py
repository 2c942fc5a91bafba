"""BookFlight: hold the trip's seats on its flight, once per idempotency key."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from _common import BusinessError, book, booking_id, logger, parse_event, parse_trip


class NoSeatsLeft(BusinessError):
    """The flight has fewer seats left than the trip asks for."""


@logger.inject_lambda_context(clear_state=True)
def handler(raw: Any, context: LambdaContext) -> dict[str, Any]:
    """Book the seats; the result is what BookHotel and the compensations find under ``results.BookFlight``.

    The whole trip is validated here, before any booking, so a malformed hotel part books no flight either.
    """
    event = parse_event(raw)
    logger.append_keys(saga_id=event.saga_id, step=event.step)
    trip = parse_trip(event.input)
    row = book(
        event, trip.trip_id, env_var="FLIGHTS_TABLE", capacity_key=f"FLIGHT#{trip.flight.number}", capacity="seats_left",
        quantity=trip.flight.seats, no_capacity=NoSeatsLeft, what=f"flight {trip.flight.number}",
        booking={"booking_id": booking_id("FL", event.idempotency_key), "flight": trip.flight.number, "traveller": trip.traveller},
    )
    return {"booking_id": row["booking_id"], "flight": row["flight"], "seats": int(row["quantity"]), "status": row["status"]}
