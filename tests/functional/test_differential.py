"""Speed never costs fidelity: the order saga on stock moto and on the inline fast path agree.

Stock here is moto's interpreter driven the documented way (start_execution, then polling
describe_execution, moto's threads and real sleeps), with only the Lambda invokes dispatched to
the same real handlers, since there is no Docker. Scenarios avoid retry waits, which stock
moto would really sleep.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from stepsaga.local import CrashAfter, EmbeddedCloud, Exit, Fail, FunctionTimeout, Timeout, default_seed

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


def run_with(engine: str, file: str, faults, name: str = "diff", saga=None):
    return run_reading_api(engine, file, faults, name, saga)[:2]


def run_reading_api(engine: str, file: str, faults, name: str = "diff", saga=None):
    """The result, the tables, and the execution as boto3 reads it back afterwards (describe, list, history)."""
    saga = saga or _saga()
    order = json.loads((INPUTS / file).read_text())
    with EmbeddedCloud(saga, seed=default_seed(saga, INPUTS), root=ROOT) as cloud:
        random.seed(10)  # moto draws a retrier's FULL jitter from random (jitter_strategy_decl.py:34)
        result = cloud.run(order, faults, name=name, engine=engine)
        tables = {t: sorted(map(str, normalise(cloud.items(t)))) for t in ("orders", "payments", "inventory")}
        sfn = cloud.client("stepfunctions")
        listed = sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"]
        (arn,) = [e["executionArn"] for e in listed if e["name"] == result.execution]
        api = {
            "listed": [{k: v for k, v in e.items() if k not in ("startDate", "stopDate")} for e in listed],
            "described": _answer(lambda: {k: v for k, v in sfn.describe_execution(executionArn=arn).items()
                                          if k not in ("startDate", "stopDate", "ResponseMetadata")}),
            "history": _answer(lambda: sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]),
        }
    return result, tables, api, cloud.id


def _answer(call):
    """What boto3 answers: the response, or the error (moto reads no EXPRESS ARN back, in either mode)."""
    from botocore.exceptions import ClientError

    try:
        return call()
    except ClientError as exc:
        return {"error": exc.response["Error"]}


# what differs between two clouds by design: the handlers' random payment ids and wall-clock times, and hashes
# of texts that hold the cloud's id (a repair record's MD5OfMessageBody, a handler's payload_hash)
_RANDOM = re.compile(r"pay-[0-9a-f]{16}|\b[0-9a-f]{64}\b|\b[0-9a-f]{32}\b")


def plain(value, cloud_id: str):
    """normalise(value) as JSON text, with the cloud's id and the values above replaced."""
    text = json.dumps(normalise(value), default=str, sort_keys=True).replace(cloud_id, "<cloud>")
    return _RANDOM.sub("<random>", _strip_times(text))


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
# waits are virtual in both modes, so retries and timeouts are in, and each run draws the same jitter.
MODE_SCENARIOS = {
    **SCENARIOS,
    "payment_timeout_retried": ("order.json", {"ProcessPayment": Timeout(attempts=1)}),
    "gateway_retried_with_jitter": ("order.json", {"ProcessPayment": Fail("PaymentGatewayTimeout", attempts=2)}),
    "validate_timed_out": ("order.json", {"ValidateOrder": Timeout()}),
    "function_timed_out": ("order.json", {"ReserveInventory": FunctionTimeout(attempts=1)}),
    "process_exited": ("order.json", {"ProcessPayment": Exit(137, attempts=1)}),
    "crash_after_payment": ("order.json", {"ProcessPayment": CrashAfter()}),
    "refund_fails_for_good": ("too_many.json", {"RefundPayment": Fail("RefundGatewayDown")}),
    "notification_dead_lettered": ("order.json", {"SendNotification": Fail("SmtpUnavailable")}),
    "business_error_after_a_write": ("order.json", {"ProcessPayment": CrashAfter("PaymentDeclined")}),
}


def _express():
    from tests.functional.test_express import express_order_saga

    return express_order_saga()


def _express_unchecked():
    from tests.functional.test_express import unchecked_express_order_saga

    return unchecked_express_order_saga()


# (input file, faults, saga): EXPRESS executions, and one that times out at its 300 virtual seconds
EXPRESS_SCENARIOS = {
    "express_happy": ("order.json", None, _express),
    "express_declined": ("order.json", {"ProcessPayment": Fail("PaymentDeclined")}, _express),
    "express_timed_out": ("too_many.json", {"RefundPayment": Timeout()}, _express_unchecked),
}


def both_modes(file: str, faults, name: str, saga=None):
    from stepsaga.local import _moto

    _moto.install(fast=True)
    fast = run_reading_api("inline", file, faults, name, saga)
    _moto.install(fast=False)
    try:
        assert "speed" not in {table for table, _owner, _name in _moto.patches()}
        slow = run_reading_api("inline", file, faults, name, saga)
    finally:
        _moto.install(fast=True)
    return fast, slow


def assert_same(fast_run, slow_run) -> None:
    (fast, fast_tables, fast_api, fast_id), (slow, slow_tables, slow_api, slow_id) = fast_run, slow_run
    same = lambda f, s: plain(f, fast_id) == plain(s, slow_id)  # noqa: E731
    assert (fast.status, fast.error) == (slow.status, slow.error)
    assert same(fast.cause, slow.cause)
    assert same(fast.raw_output, slow.raw_output)
    assert len(fast.history) == len(slow.history)
    for f, s in zip(fast.history, slow.history):
        assert same(f, s), f"event {s['id']} {s['type']} differs"
    assert fast.entered == slow.entered and fast.virtual_seconds == slow.virtual_seconds
    attempts = lambda r: [[st.name, st.kind, st.type, st.at, [[a.number, a.at, a.waited, a.outcome, a.error, a.cause, a.injected]  # noqa: E731
                                                               for a in st.attempts]] for st in r.states]
    assert same(attempts(fast), attempts(slow))
    assert (fast.compensations, fast.compensations_failed, fast.compensations_pending) == (
        slow.compensations, slow.compensations_failed, slow.compensations_pending)
    assert same([v.to_json() for v in fast.contract_violations], [v.to_json() for v in slow.contract_violations])
    assert same(fast.dlq, slow.dlq)
    assert same(fast.to_json(), slow.to_json())
    # what boto3 reads back afterwards: ListExecutions, DescribeExecution, GetExecutionHistory
    for view in ("listed", "described", "history"):
        assert same(fast_api[view], slow_api[view]), view
    for table in slow_tables:
        assert same(fast_tables[table], slow_tables[table]), table


@pytest.mark.parametrize("scenario", list(MODE_SCENARIOS))
def test_fast_and_fidelity_only_agree(scenario):
    file, faults = MODE_SCENARIOS[scenario]
    assert_same(*both_modes(file, faults, f"modes-{scenario}"))


@pytest.mark.parametrize("scenario", list(EXPRESS_SCENARIOS))
def test_fast_and_fidelity_only_agree_on_express(scenario):
    file, faults, saga = EXPRESS_SCENARIOS[scenario]
    fast, slow = both_modes(file, faults, f"modes-{scenario}", saga())
    assert_same(fast, slow)
    assert fast[2]["listed"][0]["executionArn"].split(":")[5] == "express"
