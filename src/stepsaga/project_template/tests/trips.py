"""Sample trips and assertions in this project's own words (seats, rooms, bookings), for its tests.

stepsaga.testing speaks of sagas, states and tables; helpers in the application's vocabulary live here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stepsaga.testing import EmbeddedCloud, assert_items

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ROOT / "workflows" / "inputs"


def trip(name: str = "trip.json", **changes: Any) -> dict[str, Any]:
    """A sample input from workflows/inputs, with top-level fields changed."""
    return {**json.loads((INPUTS / name).read_text(encoding="utf-8")), **changes}


def seats_left(cloud: EmbeddedCloud, number: str) -> int:
    """The seats a flight has left."""
    [row] = assert_items(cloud, "flights", lambda item: item["pk"] == f"FLIGHT#{number}", count=1)
    return int(row["seats_left"])


def rooms_left(cloud: EmbeddedCloud, hotel_id: str) -> int:
    """The rooms a hotel has left."""
    [row] = assert_items(cloud, "hotels", lambda item: item["pk"] == f"HOTEL#{hotel_id}", count=1)
    return int(row["rooms_left"])


def booked(item: dict[str, Any]) -> bool:
    """Whether a row is a booking that holds capacity."""
    return item["pk"].startswith("BOOKING#") and item.get("status") == "BOOKED"
