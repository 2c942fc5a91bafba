"""CancelFlight: compensation for BookFlight; gives the seats back and marks the booking CANCELLED, once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from _common import Undo, cancel, logger


@logger.inject_lambda_context(clear_state=True)
def handler(raw: Any, context: LambdaContext) -> dict[str, Any]:
    """Cancel this saga's flight booking; a no-op when BookFlight booked nothing."""
    return cancel(Undo(raw), env_var="FLIGHTS_TABLE", capacity="seats_left")
