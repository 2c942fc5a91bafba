"""Assertions in the reference application's own vocabulary (orders and payments), for its tests.

They live with the application, not in ``stepsaga.testing``: the library's helpers speak of sagas,
states and tables (``assert_no_items``, ``assert_items``), and these are built on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepsaga.testing import EmbeddedCloud, assert_no_items


def assert_nothing_charged(
    cloud: EmbeddedCloud,
    table: str = "payments",
    charged: Callable[[dict[str, Any]], bool] = lambda item: item.get("status") == "CHARGED",
) -> None:
    """No payment is left charged (none taken, or every one refunded): a compensated order's promise."""
    assert_no_items(cloud, table, charged)
