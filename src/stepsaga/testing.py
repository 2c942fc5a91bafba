"""Test a saga locally: ``run(saga, input, faults=...)`` and assertions that read like the saga.

    from stepsaga.testing import run, Fail, assert_compensated
    result = run(saga, order, faults={"ProcessPayment": Fail("PaymentDeclined")})
    assert_compensated(result, "CancelOrder")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stepsaga.local import CrashAfter, EmbeddedCloud, Exit, Fail, Fault, FunctionTimeout, SagaFailedError, SagaResult, Timeout
from stepsaga.model import Saga

__all__ = [
    "CrashAfter",
    "EmbeddedCloud",
    "Exit",
    "Fail",
    "FunctionTimeout",
    "SagaFailedError",
    "SagaResult",
    "Timeout",
    "assert_compensated",
    "assert_failed_with",
    "assert_no_items",
    "assert_nothing_charged",
    "assert_succeeded",
    "run",
]


def run(
    saga: Saga,
    input: Any,
    faults: Mapping[str, Fault | str] | None = None,
    *,
    cloud: EmbeddedCloud | None = None,
    seed: Mapping[str, Any] | None = None,
    root: str | Path | None = None,
    name: str | None = None,
) -> SagaResult:
    """Run a saga once, in-process, on moto's interpreter with the real handlers.

    Pass ``cloud`` to run many times against one started EmbeddedCloud (and to inspect its
    tables afterwards); otherwise a fresh cloud is started for this run and stopped after it.
    """
    if cloud is not None:
        if cloud.saga is not saga and cloud.saga != saga:
            raise ValueError(f"the cloud runs saga {cloud.saga.name}, not {saga.name}")
        return cloud.run(input, faults, name=name)
    with EmbeddedCloud(saga, seed=seed, root=root) as fresh:
        return fresh.run(input, faults, name=name)


def assert_succeeded(result: SagaResult) -> None:
    """The run ended SUCCEEDED (the message shows the error, the cause and the timeline)."""
    assert result.succeeded, f"expected SUCCEEDED, got {result.status} {result.error}: {result.cause}\n{result.timeline_text()}"


def assert_failed_with(result: SagaResult, error: str) -> None:
    """The run ended FAILED with exactly this error name."""
    assert result.status == "FAILED" and result.error == error, (
        f"expected FAILED with {error}, got {result.status} {result.error}\n{result.timeline_text()}"
    )


def assert_compensated(result: SagaResult, *names: str) -> None:
    """Exactly these compensations ran, in this order (none given: nothing was compensated)."""
    assert result.compensations == list(names), (
        f"expected compensations {list(names)}, ran {result.compensations}\n{result.timeline_text()}"
    )


def assert_no_items(cloud: EmbeddedCloud, table: str, where: Callable[[dict[str, Any]], bool] = lambda item: True) -> None:
    """No item of a declared table matches ``where`` (for example: nothing charged)."""
    found = [item for item in cloud.items(table) if where(item)]
    assert not found, f"{len(found)} item(s) in {table} should not exist: {found[:3]}"


def assert_nothing_charged(
    cloud: EmbeddedCloud,
    table: str = "payments",
    charged: Callable[[dict[str, Any]], bool] = lambda item: item.get("status") == "CHARGED",
) -> None:
    """No payment is left charged (none taken, or every one refunded): a compensated order's promise."""
    assert_no_items(cloud, table, charged)
