"""Speed never costs fidelity: the order saga on stock moto and on the inline fast path agree.

Stock here is moto's interpreter driven the documented way (start_execution, then polling
describe_execution, moto's threads and real sleeps), with only the Lambda invokes dispatched to
the same real handlers, since there is no Docker. Scenarios avoid retry waits, which stock
moto would really sleep.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stepsaga.local import CrashAfter, EmbeddedCloud, Fail, Timeout, default_seed

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"

SCENARIOS = {
    "happy": ("order.json", None),
    "declined": ("order.json", {"ProcessPayment": Fail("PaymentDeclined")}),
    "out_of_stock": ("too_many.json", None),
    "invalid": ("invalid_order.json", None),
    "crash_after_reserve": ("order.json", {"ReserveInventory": CrashAfter()}),
}

_TRACE_ID = re.compile(r"root=1-[0-9a-f]{8}-[0-9a-f]{24}")
_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalise(value):
    """Drop what is random per run (request ids, stack traces, timestamps); keep everything else."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k not in ("timestamp", "stackTrace", "Date")}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        if value[:1] in "{[":
            try:
                return normalise(json.loads(value))
            except ValueError:
                pass
        return _TRACE_ID.sub("<trace-id>", _REQUEST_ID.sub("<request-id>", value))
    return value


def run(engine: str, scenario: str):
    return run_with(engine, *SCENARIOS[scenario], name=f"diff-{scenario}")


def run_with(engine: str, file: str, faults, name: str = "diff"):
    order = json.loads((INPUTS / file).read_text())
    with EmbeddedCloud(_saga(), seed=default_seed(_saga(), INPUTS), root=ROOT) as cloud:
        result = cloud.run(order, faults, name=name, engine=engine)
        tables = {t: sorted(map(str, normalise(cloud.items(t)))) for t in ("orders", "payments", "inventory")}
    return result, tables


def _saga():
    from workflows.order_saga import saga

    return saga


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_stock_and_inline_agree(scenario):
    stock, stock_tables = run("stock", scenario)
    fast, fast_tables = run("inline", scenario)
    assert (fast.status, fast.error) == (stock.status, stock.error)
    assert normalise(fast.cause) == normalise(stock.cause)
    assert normalise(fast.raw_output) == normalise(stock.raw_output)
    assert len(fast.history) == len(stock.history) > 5
    for f, s in zip(fast.history, stock.history):
        assert normalise(f) == normalise(s), f"event {s['id']} {s['type']} differs"
    assert fast.entered == stock.entered
    # the handlers left the same business state behind (timestamps aside)
    for table in stock_tables:
        assert [_strip_times(r) for r in fast_tables[table]] == [_strip_times(r) for r in stock_tables[table]]


def _strip_times(row: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(\+00:00|Z)?", "<time>", row)


def test_the_one_intended_difference_a_fail_state_keeps_states_timeout():
    # Stock moto cannot fail with a States.* error from ErrorPath (state_fail.py:45) and ends in
    # States.Runtime; AWS keeps States.Timeout, and so does the inline path (docs/local-runtime.md).
    stock, _ = run_with("stock", "order.json", {"ValidateOrder": Timeout()})
    fast, _ = run_with("inline", "order.json", {"ValidateOrder": Timeout()})
    assert (stock.error, fast.error) == ("States.Runtime", "States.Timeout")
    assert fast.compensations == stock.compensations == ["CancelOrder"]


# Fidelity-only (install(fast=False)) against the fast path: the speed shortcuts change nothing. Retry
# waits are virtual in both modes, so a retried timeout is in.
MODE_SCENARIOS = {**SCENARIOS, "payment_timeout_retried": ("order.json", {"ProcessPayment": Timeout(attempts=1)})}


@pytest.mark.parametrize("scenario", list(MODE_SCENARIOS))
def test_fast_and_fidelity_only_agree(scenario):
    from stepsaga.local import _moto

    file, faults = MODE_SCENARIOS[scenario]
    _moto.install(fast=True)
    fast, fast_tables = run_with("inline", file, faults, name=f"modes-{scenario}")
    _moto.install(fast=False)
    try:
        assert "speed" not in {table for table, _owner, _name in _moto.patches()}
        slow, slow_tables = run_with("inline", file, faults, name=f"modes-{scenario}")
    finally:
        _moto.install(fast=True)
    assert (fast.status, fast.error) == (slow.status, slow.error)
    assert normalise(fast.cause) == normalise(slow.cause)
    assert normalise(fast.raw_output) == normalise(slow.raw_output)
    assert normalise(fast.history) == normalise(slow.history)
    assert fast.entered == slow.entered and fast.virtual_seconds == slow.virtual_seconds
    attempts = lambda r: [(st.name, [(a.number, a.at, a.waited, a.outcome, a.error, a.injected) for a in st.attempts])  # noqa: E731
                          for st in r.states]
    assert attempts(fast) == attempts(slow)
    for table in slow_tables:
        assert [_strip_times(r) for r in fast_tables[table]] == [_strip_times(r) for r in slow_tables[table]]
