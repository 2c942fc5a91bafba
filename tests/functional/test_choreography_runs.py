"""The reference saga as a choreography on the embedded runtime: the result's fields, the saga log, the
delivery faults, starting from an EventTrigger, and ``stepsaga run --mode choreography|both``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stepsaga import EventTrigger, Retry
from stepsaga.local import EmbeddedCloud, Fail, default_seed
from stepsaga.local.faults import Delay, Duplicate, Reorder, Undeliverable

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
ORDER = json.loads((INPUTS / "order.json").read_text())


@pytest.fixture
def choreography(order_saga, saga_cloud):
    return saga_cloud(order_saga, seed=default_seed(order_saga, INPUTS), mode="choreography", reuse=True)


def test_json_attempts_pin_every_field(order_saga):
    # as the orchestration's test of the same name: no jitter, so the waits are 4, 8, 16, 32 s
    patient = Retry(["PaymentGatewayTimeout"], interval_seconds=4, max_attempts=4, backoff_rate=2.0, jitter="NONE")
    saga = order_saga.replace(steps=[s.replace(retry=[patient]) if s.name == "ProcessPayment" else s for s in order_saga.steps])
    with EmbeddedCloud(saga, seed=default_seed(saga, INPUTS), root=ROOT, mode="choreography") as cloud:
        result = cloud.run(ORDER, {"ProcessPayment": Fail("PaymentGatewayTimeout", attempts=4)})
    out = json.loads(json.dumps(result.to_json(), default=str))
    assert (out["mode"], out["status"], out["error"], out["undelivered"], out["dlq"]) == ("choreography", "SUCCEEDED", None, [], [])
    assert out["virtual_seconds"] == 60.0
    [payment] = [s for s in out["states"] if s["name"] == "ProcessPayment"]
    failed = {"outcome": "error", "error": "PaymentGatewayTimeout", "injected": "fail"}
    assert payment["attempts"] == [
        {"number": 1, "at": 0.0, "waited": 0.0, **failed},
        {"number": 2, "at": 4.0, "waited": 4.0, **failed},
        {"number": 3, "at": 12.0, "waited": 8.0, **failed},
        {"number": 4, "at": 28.0, "waited": 16.0, **failed},
        {"number": 5, "at": 60.0, "waited": 32.0, "outcome": "ok", "error": None, "injected": None},
    ]
    # each event is a state of kind "event", in causal order, and says who emitted it and who reacted
    events = [(s["name"], s["at"]) for s in out["states"] if s["kind"] == "event"]
    assert events == [("OrderSagaStarted", 0.0), ("OrderValidated", 0.0), ("PaymentProcessed", 60.0), ("InventoryReserved", 60.0),
                      ("NotificationSent", 60.0), ("OrderSagaCompleted", 60.0)]
    assert [s.note for s in result.states if s.kind == "event"][:3] == [
        "from api -> ValidateOrder", "from ValidateOrder -> ProcessPayment", "from ProcessPayment -> ReserveInventory"]
    assert out["output"]["results"]["ProcessPayment"]["output"]["amount"] == "33.00"
    # the history is the saga log: every event's detail, in seq order, with its cause
    assert [h["seq"] for h in result.history] == list(range(6))
    ids = [h["event_id"] for h in result.history]
    assert [ids.index(h["causation_id"]) for h in result.history[1:]] == [0, 1, 2, 3, 3]  # Completed: the same reaction as NotificationSent
    lines = result.timeline_text(width=400).splitlines()
    assert any(line.split()[:3] == ["28.0s", "4", "after"] and "16.0s" in line for line in lines)


def test_a_compensation_failing_for_good_stops_the_chain_and_its_record_lists_what_is_left(choreography):
    too_many = json.loads((INPUTS / "too_many.json").read_text())
    result = choreography.run(too_many, {"RefundPayment": "RefundGatewayDown"})
    assert (result.status, result.error) == ("FAILED", "SagaCompensationFailed")
    assert result.cause.startswith("RefundGatewayDown while compensating OutOfStock: ")
    assert (result.compensations, result.compensations_failed, result.compensations_pending) == ([], ["RefundPayment"], ["CancelOrder"])
    [record] = result.dlq
    assert (record["kind"], record["failed_compensation"], record["saga_id"]) == ("CompensationFailed", "RefundPayment", result.execution)
    assert record["compensations_pending"] == ["RefundPayment", "CancelOrder"] and record["compensations_done"] == {}
    assert "RefundPaymentDeadLetter" in result.entered and "CancelOrder" not in result.entered


def test_disturbed_deliveries_change_nothing_but_time(choreography):
    calm = choreography.run({**ORDER, "order_id": "ord-calm"})
    rough = choreography.run({**ORDER, "order_id": "ord-rough"}, {
        "ProcessPayment": Duplicate(2), "ReserveInventory": Delay(90), "SendNotification": Reorder(), "SagaLog": [Duplicate(), Reorder()],
    })
    assert (rough.status, rough.steps, rough.compensations) == (calm.status, calm.steps, calm.compensations)
    assert [c.state for c in rough.calls] == [c.state for c in calm.calls]  # the copies were skipped, not run
    assert rough.virtual_seconds == 90.0
    assert [h["detail-type"] for h in rough.history] == [h["detail-type"] for h in calm.history]  # the log put them in order


def test_an_undeliverable_event_stalls_the_saga_and_waits_in_the_event_dead_letter_queue(choreography):
    result = choreography.run(ORDER, {"ReserveInventory": Undeliverable()})
    assert (result.status, result.steps) == ("STALLED", ["ValidateOrder", "ProcessPayment"])
    [message] = result.undelivered
    assert json.loads(message["body"])["detail-type"] == "PaymentProcessed"
    assert message["attributes"]["RULE_ARN"].endswith("/OrderSaga-ReserveInventory") and message["attributes"]["ERROR_CODE"]
    assert 86_000 < result.virtual_seconds <= 86_400  # EventBridge retried it for a day first
    assert "event dead-letter queue: PaymentProcessed not delivered by rule OrderSaga-ReserveInventory" in result.timeline_text(300)
    # a target that fails only a few times is retried into delivering: nothing is lost
    later = choreography.run({**ORDER, "order_id": "ord-later"}, {"ReserveInventory": Undeliverable(attempts=3)})
    assert later.status == "SUCCEEDED" and later.undelivered == []


def test_a_non_object_input_is_rejected_before_any_event(choreography):
    result = choreography.run([ORDER])
    assert (result.status, result.error, result.states, result.calls) == ("FAILED", "InvalidSagaInput", [], [])


@pytest.mark.parametrize("mode", ["orchestration", "choreography"])
def test_an_event_trigger_starts_the_saga_with_the_event_s_detail_in_both_modes(order_saga, mode):
    saga = order_saga.replace(triggers=[EventTrigger("shop.web", "OrderPlaced", pattern={"detail": {"currency": ["EUR"]}})])
    with EmbeddedCloud(saga, seed=default_seed(saga, INPUTS), root=ROOT, mode=mode) as cloud:
        result = cloud.trigger(ORDER)
        assert (result.status, result.steps[-1]) == ("SUCCEEDED", "SendNotification")
        assert result.calls[0].event["input"] == ORDER and result.calls[0].event["saga_id"] == result.execution
        with pytest.raises(ValueError, match="does not match the pattern of triggers\\[0\\]"):
            cloud.trigger({**ORDER, "currency": "USD"})
    if mode == "choreography":
        assert result.history[0]["producer"] == "trigger"


def test_stepsaga_run_both_prints_the_two_timelines_and_whether_they_agree(capsys, monkeypatch):
    from stepsaga.cli import main

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["run", "workflows/order_saga.py", "--mode", "both", "--input", "@workflows/inputs/order.json",
                 "--fail", "ProcessPayment=PaymentDeclined", "--fail", "ProcessPayment=duplicate"]) == 0
    out = capsys.readouterr().out
    assert "orchestration" in out and "choreography" in out and "BeginSaga" in out and "OrderSagaAborted" in out
    assert out.rstrip().endswith("same outcome in both modes: FAILED with PaymentDeclined; compensated CancelOrder")
    assert main(["run", "workflows/order_saga.py", "--mode", "choreography", "--json", "--input", "@workflows/inputs/order.json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["mode"], printed["status"]) == ("choreography", "SUCCEEDED")
    # a delivery fault in an orchestration is a bad call, said so
    assert main(["run", "workflows/order_saga.py", "--input", "@workflows/inputs/order.json", "--fail", "ProcessPayment=duplicate"]) == 2
    assert "only a choreography has" in capsys.readouterr().err


def test_a_choreography_run_takes_the_runtime_shortcuts_of_an_inline_run(choreography):
    # growth.py: a transaction saves only the items it targets and moto's models are not tracked, during a
    # choreography run as during an inline one (a stock transaction deep-copies every table it touches, and
    # puts the copies in the tables' place when it is cancelled: a cost that grows with the rows)
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import Item
    from moto.sqs.models import Message

    from stepsaga.local.cloud import ACCOUNT, REGION

    unknown = dict(ORDER, items=[*ORDER["items"], {"sku": "GONE-999", "quantity": 1, "unit_price": "1.00"}])
    choreography.run(dict(ORDER, order_id="shortcut-0"))
    tables = dict(dynamodb_backends[ACCOUNT][REGION].tables)
    tracked = (len(Item.instances_tracked), len(Message.instances_tracked))
    results = [choreography.run(dict(unknown, order_id=f"shortcut-{i}")) for i in range(1, 3)]
    assert [(r.status, r.error, r.compensations) for r in results] == [("FAILED", "OutOfStock", ["RefundPayment", "CancelOrder"])] * 2
    assert all(dynamodb_backends[ACCOUNT][REGION].tables[name] is table for name, table in tables.items())
    assert (len(Item.instances_tracked), len(Message.instances_tracked)) == tracked


def test_one_events_client_serves_every_run_of_a_cloud_and_only_during_a_run(choreography):
    from stepsaga.local.choreography import ChoreographyError

    deployment = choreography._choreography
    first = choreography.run(dict(ORDER, order_id="client-1"))
    client = deployment.events_client()
    second = choreography.run(dict(ORDER, order_id="client-2"))
    assert first.status == second.status == "SUCCEEDED"
    assert deployment.events_client() is client  # a boto3 client costs about 5 ms to make
    with pytest.raises(ChoreographyError, match="outside one of its runs"):  # never moto's own EventBridge
        client.put_events(Entries=[{"Source": "x", "DetailType": "y", "Detail": "{}", "EventBusName": deployment.bus_name}])
