"""The in-process EventBridge bus: PutEvents as EventBridge answers it, asynchronous delivery, retries and
dead-lettering, indexed rules, and the delivery faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepsaga.errors import PatternError
from stepsaga.local.bus import EventBus, Scheduler, Target
from stepsaga.local.engine import VirtualClock
from stepsaga.local.faults import Delay, Duplicate, Reorder, Undeliverable


def bus(faults: dict[str, Any] | None = None) -> EventBus:
    return EventBus("saga-bus", "123456789012", "us-east-1", Scheduler(VirtualClock()), 1_767_225_600.0, faults)


def entry(detail_type: str = "PaymentProcessed", detail: Any = None, source: str = "shop.payments", **extra: Any) -> dict[str, Any]:
    return {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail if detail is not None else {"n": 1}),
            "EventBusName": "saga-bus", **extra}


def target(name: str, log: list, fail: int = 0, dead: list | None = None) -> Target:
    state = {"fail": fail}

    def send(body: str) -> None:
        if state["fail"]:
            state["fail"] -= 1
            raise RuntimeError("queue unavailable")
        log.append((name, json.loads(body)))

    return Target(id=name, arn=f"arn:aws:sqs:us-east-1:123456789012:{name}", send=send, consumer=name,
                  dead_letter=(lambda body, attrs: dead.append((json.loads(body), attrs))) if dead is not None else None)


def settle(b: EventBus) -> None:
    while b.scheduler.step() or b.drain_held():
        pass


def test_put_events_answers_per_entry_and_delivers_only_after_it_returns():
    b, got = bus(), []
    b.put_rule("r", {"source": ["shop.payments"]}, [target("q", got)])
    response = b.put_events([entry(), entry(detail="not an object"), {"Source": "shop.payments", "DetailType": "X", "EventBusName": "saga-bus"},
                             entry(source="aws.ec2"), entry(EventBusName="other")])
    assert response["FailedEntryCount"] == 4
    codes = [e.get("ErrorCode") for e in response["Entries"]]
    assert codes == [None, "MalformedDetail", "InvalidArgument", "NotAuthorizedForSourceException", "InvalidArgument"]
    assert "EventId" in response["Entries"][0]
    assert got == []  # accepted, not yet delivered
    settle(b)
    [(name, event)] = got
    assert (name, event["detail-type"], event["source"], event["detail"], event["account"], event["region"]) == (
        "q", "PaymentProcessed", "shop.payments", {"n": 1}, "123456789012", "us-east-1")
    assert event["id"] == response["Entries"][0]["EventId"] and event["version"] == "0" and event["time"] == "2026-01-01T00:00:00Z"


def test_a_request_over_256_kb_is_rejected_whole():
    with pytest.raises(ValueError, match="Total size of the entries in the request is over the limit"):
        bus().put_events([entry(detail={"blob": "x" * 140_000}), entry(detail={"blob": "y" * 140_000})])
    assert bus().put_events([entry(detail={"blob": "x" * 200_000})])["FailedEntryCount"] == 0


def test_only_matching_rules_deliver_and_each_target_gets_its_copy():
    b, got = bus(), []
    b.put_rule("payments", {"source": ["shop.payments"], "detail-type": ["PaymentProcessed"]}, [target("a", got), target("b", got)])
    b.put_rule("numbers", {"detail": {"n": [{"numeric": [">", 5]}]}}, [target("c", got)])
    b.put_rule("other", {"source": ["shop.orders"]}, [target("d", got)])
    b.put_events([entry(detail={"n": 1})])
    settle(b)
    assert sorted(name for name, _ in got) == ["a", "b"]


def test_a_rule_patterns_putrule_rejects_is_refused():
    with pytest.raises(PatternError):
        bus().put_rule("r", {"source": [{"prefx": "shop"}]}, [])


def test_matching_an_event_looks_only_at_the_rules_indexed_on_its_source_and_detail_type():
    b = bus()
    for i in range(1000):
        b.put_rule(f"r{i}", {"source": [f"s{i % 10}"], "detail-type": [f"T{i}"]}, [])
    b.put_rule("prefix", {"source": [{"prefix": "s"}]}, [])
    b.put_rule("by-source", {"source": ["s3"]}, [])
    assert [r.name for r in b.candidates("s3", "T3")] == ["r3", "by-source", "prefix"]
    assert [r.name for r in b.candidates("s4", "T999")] == ["prefix"]


def test_a_failing_target_is_retried_with_backoff_then_dead_lettered_with_eventbridge_s_attributes():
    b, got, dead = bus(), [], []
    b.put_rule("r", {"source": ["shop.payments"]}, [target("q", got, fail=3)])
    b.put_events([entry()])
    settle(b)
    assert len(got) == 1 and [d.outcome for d in b.deliveries] == ["failed", "failed", "failed", "delivered"]
    assert [d.at for d in b.deliveries] == [0.0, 1.0, 3.0, 7.0]

    b2 = bus()
    t = target("q", got, fail=10_000, dead=dead)
    t.max_retry_attempts = 5
    b2.put_rule("r", {"source": ["shop.payments"]}, [t])
    b2.put_events([entry()])
    settle(b2)
    [(event, attrs)] = dead
    assert event["detail-type"] == "PaymentProcessed"
    assert attrs["RULE_ARN"] == "arn:aws:events:us-east-1:123456789012:rule/saga-bus/r"
    assert (attrs["TARGET_ARN"], attrs["ERROR_CODE"]) == ("arn:aws:sqs:us-east-1:123456789012:q", "RuntimeError")
    # the first attempt and MaximumRetryAttempts retries: the last one fails into the dead-letter queue
    assert [d.outcome for d in b2.deliveries] == ["failed"] * 5 + ["dead_lettered"]


def test_an_event_older_than_the_policy_s_age_is_dead_lettered():
    b, dead = bus(), []
    t = target("q", [], fail=10_000, dead=dead)
    t.max_event_age_seconds = 60
    b.put_rule("r", {"source": ["shop.payments"]}, [t])
    b.put_events([entry()])
    settle(b)
    assert len(dead) == 1 and b.scheduler.clock.now <= 60


def test_undeliverable_fails_every_attempt_until_the_dead_letter_queue_then_n_attempts():
    b, got, dead = bus({"q": (Undeliverable(),)}), [], []
    b.put_rule("r", {"source": ["shop.payments"]}, [target("q", got, dead=dead)])
    b.put_events([entry()])
    settle(b)
    assert got == [] and len(dead) == 1 and dead[0][1]["ERROR_CODE"] == "SQS.AccessDenied"
    assert b.scheduler.clock.now <= 86_400

    b = bus({"q": (Undeliverable(attempts=2),)})
    b.put_rule("r", {"source": ["shop.payments"]}, [target("q", got)])
    b.put_events([entry()])
    settle(b)
    assert len(got) == 1 and [d.outcome for d in b.deliveries] == ["failed", "failed", "delivered"]


def test_duplicate_delay_and_reorder_act_on_the_consumer_s_first_deliveries():
    got: list = []
    b = bus({"a": (Duplicate(2, attempts=1),), "b": (Delay(30, attempts=1),), "c": (Reorder(attempts=1),)})
    for name in "abc":
        b.put_rule(name, {"source": ["shop.payments"]}, [target(name, got)])
    b.put_rule("z", {"source": ["shop.payments"]}, [target("z", got)])
    b.put_events([entry(detail={"n": 1})])
    settle(b)
    b.put_events([entry(detail={"n": 2})])
    settle(b)
    first = [name for name, e in got if e["detail"]["n"] == 1]
    assert sorted(first) == ["a", "a", "a", "b", "c", "z"]  # a three times: the event and two copies
    assert first.index("c") > first.index("z")  # held back until another delivery went first
    assert first[-1] == "b"  # 30 s late, after everything else
    [delayed] = [d for d in b.deliveries if d.target == "b" and d.detail_type == "PaymentProcessed"][:1]
    assert delayed.at == 30.0
    assert [d.injected for d in b.deliveries if d.target == "a"][:3] == ["duplicate", "duplicate (copy 1)", "duplicate (copy 2)"]
    # the second event is delivered plainly to every consumer
    assert sorted(name for name, e in got if e["detail"]["n"] == 2) == ["a", "b", "c", "z"]


def test_boto3_clients_reach_the_bus_after_botocore_checked_the_call():
    import boto3
    from botocore.exceptions import ParamValidationError

    b, got = bus(), []
    b.put_rule("r", {"source": ["shop.payments"]}, [target("q", got)])
    client = b.client(lambda: boto3.client("events", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"))
    assert client.put_events(Entries=[entry()])["FailedEntryCount"] == 0
    with pytest.raises(ParamValidationError):
        client.put_events(Entries=[{"Source": 1}])
    with pytest.raises(client.exceptions.ClientError, match="ValidationException"):
        client.put_events(Entries=[entry(detail={"blob": "x" * 300_000})])
    settle(b)
    assert len(got) == 1


def test_a_delivery_fault_without_attempts_acts_on_every_delivery():
    got: list = []
    b = bus({"a": (Duplicate(),)})
    b.put_rule("a", {"source": ["shop.payments"]}, [target("a", got)])
    for n in range(3):
        b.put_events([entry(detail={"n": n})])
        settle(b)
    assert [e["detail"]["n"] for _, e in got] == [0, 0, 1, 1, 2, 2]
