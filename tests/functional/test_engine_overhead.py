"""Issue 10, the engine's own overhead: what each cheaper step does, and that it changes nothing observable.

The differential tests (test_differential.py, fast against ``install(fast=False)``) compare whole runs; these
pin each step: a test here fails when its step is undone or is no longer exact.
"""

from __future__ import annotations

import email.utils
import gc
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stepsaga import Saga, Step, Table
from stepsaga.local import _moto as engine
from stepsaga.local._moto import lambda_invoke
from stepsaga.local._moto import run_inline
from stepsaga.local.contract import ContractCheck
from tests.functional.test_moto_engine import REGION, Cloud, Payments


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    engine.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield Cloud()
    engine.install()


def _execution(arn: str) -> Any:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends["123456789012"][REGION]
    return next(e for sm in backend.state_machines for e in sm.executions if e.exec_arn == arn)


def _kept_per_run(run: Any, runs: int = 30) -> float:
    """Objects the garbage collector tracks that each run leaves behind."""
    run()
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(runs):
        run()
    gc.collect()
    return (len(gc.get_objects()) - before) / runs


# ---------------------------------------------------------------------------------------------------
# A finished execution keeps what the API reads (growth._settled)
# ---------------------------------------------------------------------------------------------------
def test_a_finished_execution_keeps_its_output_as_marshal_bytes_and_lets_its_state_go(cloud: Cloud) -> None:
    raw = cloud.run("ok")
    execution = _execution(raw.arn)
    assert type(execution).__name__ == "_SettledExecution"
    assert execution.exec_worker.env.states._states_data["input"] is None
    assert isinstance(execution.__dict__["_output_marshal"], bytes) and "output" not in execution.__dict__
    assert execution.output == json.loads(raw.output) and execution.output is not execution.output
    described = cloud.sfn.describe_execution(executionArn=raw.arn)
    assert json.loads(described["output"]) == json.loads(raw.output)
    assert cloud.sfn.get_execution_history(executionArn=raw.arn)["events"] == raw.history
    execution.output = {"set": "again"}  # moto's own assignment still works
    assert execution.output == {"set": "again"}


def test_a_settled_execution_keeps_far_fewer_objects_than_stock(cloud: Cloud) -> None:
    # Every execution stays readable, so what it keeps is walked again by every full collection. Stock keeps
    # the state document twice (the state's input, the output's copy): 40 rows of 2 containers each, twice.
    def rows(invocation: Any, context: Any) -> Any:
        return {"rows": [{"i": i, "tags": [i]} for i in range(40)]}

    fast = _kept_per_run(lambda: cloud.run("ok", dispatcher=rows))
    engine.install(fast=False)
    try:
        slow = _kept_per_run(lambda: cloud.run("ok", dispatcher=rows))
    finally:
        engine.install()
    assert slow - fast > 150, (fast, slow)


def test_an_output_marshal_refuses_stays_the_object(cloud: Cloud) -> None:
    # $$.Execution.StartTime is a datetime in moto's context object: marshal refuses it, so the execution
    # keeps the object, and describe_execution answers as stock does (moto's response cannot encode it)
    arn = cloud.machine("started-at", {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"started.$": "$$.Execution.StartTime"}, "End": True}}})
    answers = []
    for fast in (True, False):
        engine.install(fast=fast)
        try:
            raw = run_inline(arn, "{}", f"started-{fast}", Payments())
            assert raw.status == "SUCCEEDED"
            assert "started" in _execution(raw.arn).output
            try:
                answers.append(sorted(cloud.sfn.describe_execution(executionArn=raw.arn)))
            except Exception as exc:  # noqa: BLE001 - whatever stock does, both modes must do
                answers.append([type(exc).__name__])
        finally:
            engine.install()
    assert answers[0] == answers[1]


def test_a_finished_execution_keeps_its_events_as_marshal_bytes(cloud: Cloud) -> None:
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext

    raw = cloud.run("flaky-once")
    env = _execution(raw.arn).exec_worker.env
    manager = env.event_manager
    assert type(manager).__name__ == "_SettledEvents" and isinstance(manager._blob, bytes)
    events = manager.get_event_history()
    assert events == manager.get_event_history() and events is not manager.get_event_history()
    assert all(type(e["type"]) is HistoryEventType for e in events)
    assert list(events[0]) == ["executionStartedEventDetails", "id", "previousEventId", "type", "timestamp"]  # moto's order
    assert cloud.sfn.get_execution_history(executionArn=raw.arn)["events"] == raw.history
    # a late event (none is known to come) joins the others, as on stock's list
    manager.add_event(context=EventHistoryContext.of_program_start(), event_type=HistoryEventType.ExecutionAborted,
                      event_details=EventDetails())
    assert manager.get_event_history()[:-1] == events and manager.get_event_history()[-1]["id"] == len(events) + 1


def test_events_are_frozen_exactly_or_not_at_all() -> None:
    from moto.stepfunctions.parser.api import HistoryEventType

    from stepsaga.local._moto import growth

    events = [{"id": 1, "type": HistoryEventType.ExecutionStarted}, {"id": 2, "type": HistoryEventType.PassStateEntered, "odd": object()}]
    assert growth._frozen(events) is None
    assert [e["type"] for e in events] == [HistoryEventType.ExecutionStarted, HistoryEventType.PassStateEntered]
    assert all(type(e["type"]) is HistoryEventType for e in events)
    assert growth._frozen([{"id": 1, "type": "ExecutionStarted"}]) is None  # a type that is no HistoryEventType
    kept = [{"id": 1, "type": HistoryEventType.ExecutionStarted}]
    assert growth._thawed(growth._frozen(kept)) == kept and type(kept[0]["type"]) is HistoryEventType  # put back


def test_failed_executions_settle_too(cloud: Cloud) -> None:
    raw = cloud.run("declined")
    execution = _execution(raw.arn)
    assert execution.output is None and execution.exec_worker.env.states._states_data["input"] is None
    described = cloud.sfn.describe_execution(executionArn=raw.arn)
    assert (described["status"], described["error"], described["cause"]) == ("FAILED", raw.error, raw.cause)


# ---------------------------------------------------------------------------------------------------
# The contract check watches only what it can see change
# ---------------------------------------------------------------------------------------------------
def _saga(tables: bool) -> Saga:
    declared = [Table("payments", partition_key="order_id")] if tables else []
    return Saga("Watched", tables=declared, steps=[
        Step("Pay", action="tasks.pay.handler", business_errors=["PaymentDeclined"],
             tables={"payments": "write"} if tables else None),
    ])


def test_a_saga_without_tables_watches_no_attempt() -> None:
    check = ContractCheck(_saga(tables=False), {"fn-pay": "Pay"}, {}, "123456789012", REGION)
    assert check.observe("fn-pay") is None


def test_one_run_looks_up_the_dynamodb_backend_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto.dynamodb.models as models

    lookups: list[str] = []

    real = models.dynamodb_backends

    class Counting:
        def __getitem__(self, account: str) -> Any:
            lookups.append(account)
            return real[account]
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="pay-table", KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        monkeypatch.setattr(models, "dynamodb_backends", Counting())
        check = ContractCheck(_saga(tables=True), {"fn-pay": "Pay"}, {"pay-table": "payments"}, "123456789012", REGION)
        for _ in range(3):
            ended = check.observe("fn-pay")
            assert ended is not None
            ended(None)
    assert lookups == ["123456789012"]


# ---------------------------------------------------------------------------------------------------
# Lambda's answer
# ---------------------------------------------------------------------------------------------------
def test_the_invoke_response_date_is_formatted_once_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    original = email.utils.formatdate
    calls: list[Any] = []
    monkeypatch.setattr(lambda_invoke.email.utils, "formatdate", lambda *a, **k: calls.append(a) or original(*a, **k))
    monkeypatch.setattr(lambda_invoke, "_DATE", (-1, ""))
    for now in (1700000000.1, 1700000000.9, 1700000001.0, 0.5):
        assert lambda_invoke._http_date(now) == original(now, usegmt=True)
    assert len(calls) == 3
