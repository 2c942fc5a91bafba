"""Test a saga locally: ``run(saga, input, faults=...)`` and assertions that read like the saga.

    from stepsaga.testing import run, Fail, assert_compensated
    result = run(saga, order, faults={"ProcessPayment": Fail("PaymentDeclined")})
    assert_compensated(result, "CancelOrder")

Every helper that reads a result first checks the business-error contract (``stepsaga.local.contract``):
a step that raised a declared business error must not have changed the saga's tables. ``run()`` raises
``ContractViolationError`` for such a run. To test one on purpose, run with
``allow_contract_violations=True`` and check it with ``assert_contract_violated``.

``HandlerEnvironment(saga, cloud)`` calls one handler with the event the compiled ASL would send it
(``stepsaga.local.harness``). The helpers speak of sagas, states and tables only: assertions in an
application's own vocabulary belong to its tests (the reference application's: ``tests/order_helpers.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stepsaga.errors import ContractViolationError, SagaFailedError
from stepsaga.local.faults import CrashAfter, Delay, Duplicate, Exit, Fail, Fault, FunctionTimeout, Reorder, Timeout, Undeliverable
from stepsaga.model import Saga

if TYPE_CHECKING:
    from stepsaga.local import EmbeddedCloud, SagaResult
    from stepsaga.local.harness import HandlerEnvironment

__all__ = [
    "ContractViolationError",
    "CrashAfter",
    "Delay",
    "Duplicate",
    "EmbeddedCloud",
    "Exit",
    "Fail",
    "FunctionTimeout",
    "HandlerEnvironment",
    "Reorder",
    "SagaFailedError",
    "SagaResult",
    "Timeout",
    "Undeliverable",
    "assert_compensated",
    "assert_compensation_failed",
    "assert_contract_kept",
    "assert_contract_violated",
    "assert_failed_with",
    "assert_items",
    "assert_no_items",
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
    allow_contract_violations: bool = False,
    mode: str = "orchestration",
) -> SagaResult:
    """Run a saga once, in-process, with the real handlers: on moto's interpreter, or as a choreography.

    ``mode="choreography"`` runs the saga's domain events on the local EventBridge bus (a fresh cloud only;
    a given ``cloud`` runs in its own mode). Pass ``cloud`` to run many times against one started
    EmbeddedCloud (and to inspect its tables afterwards); otherwise a fresh cloud is started for this run
    and stopped after it.
    Raises ContractViolationError (an AssertionError; ``.result`` holds the run) if a step raised a
    declared business error after changing a table, unless ``allow_contract_violations=True``.
    """
    if cloud is not None:
        if cloud.saga is not saga and cloud.saga != saga:
            raise ValueError(f"the cloud runs saga {cloud.saga.name}, not {saga.name}")
        if mode != "orchestration" and cloud.mode != mode:
            raise ValueError(f"the cloud runs its saga as an {cloud.mode}; start one with EmbeddedCloud(saga, mode={mode!r})")
        result = cloud.run(input, faults, name=name, allow_contract_violations=allow_contract_violations)
    else:
        from stepsaga.local import EmbeddedCloud  # loads boto3 and moto: declaring faults does not

        with EmbeddedCloud(saga, seed=seed, root=root, mode=mode) as fresh:
            result = fresh.run(input, faults, name=name, allow_contract_violations=allow_contract_violations)
    assert_contract_kept(result)
    return result


def __getattr__(name: str) -> Any:
    # EmbeddedCloud, SagaResult and HandlerEnvironment load the engine (boto3, moto) on first use, like stepsaga.local's
    if name in ("EmbeddedCloud", "SagaResult"):
        import stepsaga.local

        return getattr(stepsaga.local, name)
    if name == "HandlerEnvironment":
        from stepsaga.local.harness import HandlerEnvironment

        return HandlerEnvironment
    raise AttributeError(f"module 'stepsaga.testing' has no attribute {name!r}")


def assert_contract_kept(result: SagaResult) -> None:
    """No step raised a declared business error after changing a table (or the run allowed it).

    Every other helper here that reads a result checks this first.
    """
    if result.contract_violations and not result.contract_violations_allowed:
        raise ContractViolationError(result)


def assert_contract_violated(result: SagaResult, step: str, *, table: str | None = None) -> None:
    """The step raised a declared business error after changing the saga's tables (``table``: that one among them)."""
    found = [v for v in result.contract_violations if v.step == step and (table is None or table in v.tables)]
    where = f" in table {table}" if table else ""
    assert found, (
        f"expected a contract violation by {step}{where}, found "
        f"{[(v.step, v.tables) for v in result.contract_violations] or 'none'}\n{result.timeline_text()}"
    )


def assert_succeeded(result: SagaResult) -> None:
    """The run ended SUCCEEDED (the message shows the error, the cause and the timeline)."""
    assert_contract_kept(result)
    assert result.succeeded, f"expected SUCCEEDED, got {result.status} {result.error}: {result.cause}\n{result.timeline_text()}"


def assert_failed_with(result: SagaResult, error: str) -> None:
    """The run ended FAILED with exactly this error name."""
    assert_contract_kept(result)
    assert result.status == "FAILED" and result.error == error, (
        f"expected FAILED with {error}, got {result.status} {result.error}\n{result.timeline_text()}"
    )


def assert_compensated(result: SagaResult, *names: str) -> None:
    """Exactly these compensations succeeded, in this order, and none failed or was left pending.

    None given: nothing was compensated, and nothing was owed. A compensation that ran but failed
    for good is not compensated: see ``assert_compensation_failed``.
    """
    assert_contract_kept(result)
    found = (result.compensations, result.compensations_failed, result.compensations_pending)
    assert found == (list(names), [], []), (
        f"expected compensations {list(names)} done, none failed or pending; got done {found[0]}, "
        f"failed {found[1]}, pending {found[2]}\n{result.timeline_text()}"
    )


def assert_compensation_failed(result: SagaResult, name: str, *, done: Sequence[str] = (), pending: Sequence[str] = ()) -> None:
    """Compensation ``name`` failed for good, after exactly ``done`` succeeded; exactly ``pending`` never ran.

    Its repair record is in ``result.dlq``.
    """
    assert_contract_kept(result)
    found = (result.compensations, result.compensations_failed, result.compensations_pending)
    expected = (list(done), [name], list(pending))
    assert found == expected, (
        f"expected done {expected[0]}, failed {expected[1]}, pending {expected[2]}; got done {found[0]}, "
        f"failed {found[1]}, pending {found[2]}\n{result.timeline_text()}"
    )


def assert_no_items(cloud: EmbeddedCloud, table: str, where: Callable[[dict[str, Any]], bool] = lambda item: True) -> None:
    """No item of a declared table matches ``where`` (for example: no payment left charged)."""
    found = [item for item in cloud.items(table) if where(item)]
    assert not found, f"{len(found)} item(s) in {table} should not exist: {found[:3]}"


def assert_items(
    cloud: EmbeddedCloud, table: str, where: Callable[[dict[str, Any]], bool] = lambda item: True, *, count: int | None = None
) -> list[dict[str, Any]]:
    """Items of a declared table match ``where``: exactly ``count`` of them, or at least one; returns them.

        [payment] = assert_items(cloud, "payments", lambda item: item["status"] == "REFUNDED", count=1)
    """
    found = [item for item in cloud.items(table) if where(item)]
    if count is None:
        assert found, f"no item in {table} matches"
    else:
        assert len(found) == count, f"expected {count} matching item(s) in {table}, found {len(found)}: {found[:3]}"
    return found
