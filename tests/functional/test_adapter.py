"""The handler adapter against moto DynamoDB and SQS: deduplication, retries across deliveries, emission."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stepsaga.choreography.adapter import Adapter, AttemptFailed, ProcessExited
from stepsaga.choreography.config import consumer_config
from stepsaga.choreography.events import SagaEventBridgeEvent, event_id
from stepsaga.choreography.plan import plan
from stepsaga.choreography.start import started_entry
from stepsaga.names import LEDGER_KEY
from workflows.order_saga import saga as order_saga

REGION = "us-east-1"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:ProcessPayment"


class Events:
    """An events client that records PutEvents, and fails the first ``fail`` calls."""

    def __init__(self, fail: int = 0) -> None:
        self.entries: list[dict[str, Any]] = []
        self.fail = fail

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        if self.fail:
            self.fail -= 1
            return {"FailedEntryCount": len(Entries), "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}] * len(Entries)}
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i in range(len(Entries))]}


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def aws(monkeypatch):
    for key, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        ddb = boto3.resource("dynamodb", region_name=REGION)
        ddb.create_table(TableName="ledger", KeySchema=[{"AttributeName": LEDGER_KEY, "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": LEDGER_KEY, "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        sqs = boto3.client("sqs", region_name=REGION)
        sqs.create_queue(QueueName="ProcessPayment")
        dlq = sqs.create_queue(QueueName="repairs")["QueueUrl"]
        yield {"ledger": ddb.Table("ledger"), "sqs": sqs, "dlq": dlq}


PLAN = plan(order_saga)


def body(detail_type: str = "OrderValidated", results: dict[str, Any] | None = None, saga_id: str = "saga-1") -> str:
    """An EventBridge event as the adapter's queue delivers it: ValidateOrder's success, by default."""
    start = started_entry({"saga": "OrderSaga", "on_success": ["OrderSagaStarted"], "sources": {"OrderSagaStarted": "stepsaga.order_saga"}},
                          saga_id, {"order_id": "o-1"}, "api", "bus", 1_767_225_600_000)
    detail = json.loads(start["Detail"])
    detail.update({"causation_id": detail["event_id"], "event_id": event_id("OrderSaga", saga_id, detail_type), "seq": 1,
                   "producer": "ValidateOrder", "step": "ValidateOrder", "results": results or {"ValidateOrder": {"output": {"ok": True}}}})
    return json.dumps({"version": "0", "id": "e-1", "detail-type": detail_type, "source": "stepsaga.order_saga", "account": "123456789012",
                       "time": "2026-01-01T00:00:00Z", "region": REGION, "resources": [], "detail": detail})


def adapter(aws: dict[str, Any], call: Any, events: Events | None = None, clock: Clock | None = None, consumer: str = "ProcessPayment") -> Adapter:
    config = consumer_config(PLAN, PLAN.consumer(consumer))
    return Adapter(config, call, events=events or Events(), sqs=aws["sqs"], ledger_table=aws["ledger"], bus="bus",
                   dead_letter_queue_url=aws["dlq"], now=clock or Clock())


class Context:
    aws_request_id = "req-1"


def emitted(events: Events) -> list[tuple[str, dict[str, Any]]]:
    return [(e["DetailType"], json.loads(e["Detail"])) for e in events.entries]


def receipt(aws: dict[str, Any]) -> str:
    url = aws["sqs"].get_queue_url(QueueName="ProcessPayment")["QueueUrl"]
    aws["sqs"].send_message(QueueUrl=url, MessageBody="x")
    return aws["sqs"].receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]


def test_the_handler_gets_the_orchestration_s_payload_and_its_result_travels_on(aws):
    seen = []
    events = Events()
    a = adapter(aws, lambda payload, context: seen.append(payload) or {"payment_id": "p-1"}, events)
    assert a.process("m-1", "r", body(), QUEUE_ARN, Context()) is True
    assert seen == [{"saga_id": "saga-1", "step": "ProcessPayment", "idempotency_key": "saga-1:ProcessPayment",
                     "input": {"order_id": "o-1"}, "results": {"ValidateOrder": {"output": {"ok": True}}}}]
    [(name, detail)] = emitted(events)
    assert name == "PaymentProcessed"
    assert detail["results"] == {"ValidateOrder": {"output": {"ok": True}}, "ProcessPayment": {"output": {"payment_id": "p-1"}}}
    assert (detail["seq"], detail["producer"], detail["causation_id"]) == (2, "ProcessPayment", event_id("OrderSaga", "saga-1", "OrderValidated"))
    assert detail["event_id"] == event_id("OrderSaga", "saga-1", "PaymentProcessed")
    assert [a["outcome"] for a in detail["attempts"]] == ["ok"]
    SagaEventBridgeEvent.model_validate({**json.loads(body()), "detail-type": name, "detail": detail})


def test_the_same_event_twice_calls_the_handler_once(aws):
    calls, events = [], Events()
    a = adapter(aws, lambda payload, context: calls.append(1) or {}, events)
    assert a.process("m-1", "r", body(), QUEUE_ARN, Context()) is True
    assert a.process("m-2", "r", body(), QUEUE_ARN, Context()) is True  # another message, the same event: skipped
    assert (len(calls), len(events.entries)) == (1, 1)


def test_a_copy_is_dropped_while_the_first_message_holds_the_event(aws):
    calls, clock = [], Clock()

    def flaky(payload, context):
        calls.append(1)
        raise AttemptFailed("PaymentGatewayTimeout", "slow")

    a = adapter(aws, flaky, clock=clock)
    assert a.process("m-1", receipt(aws), body(), QUEUE_ARN, Context()) is False  # retried later
    assert a.process("m-2", "r", body(), QUEUE_ARN, Context()) is True  # the copy: the first message holds it
    assert len(calls) == 1


def test_retries_count_across_deliveries_and_wait_in_the_queue(aws):
    attempts, events, clock = [], Events(), Clock()
    visibility = []
    aws["sqs"].change_message_visibility = lambda **kw: visibility.append(kw["VisibilityTimeout"])

    def flaky(payload, context):
        attempts.append(1)
        raise AttemptFailed("PaymentGatewayTimeout", "the gateway did not answer")

    a = adapter(aws, flaky, events, clock)
    a.config = {**a.config, "retry": [{"ErrorEquals": ["PaymentGatewayTimeout"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0}]}
    for _ in range(3):
        assert a.process("m-1", "r", body(), QUEUE_ARN, Context()) is False
        clock.now += 100
    assert a.process("m-1", "r", body(), QUEUE_ARN, Context()) is True  # the fourth attempt fails for good
    assert visibility == [2, 4, 8]
    [(name, detail)] = emitted(events)
    assert (name, detail["error"]["Error"], detail["business_error"], detail["attempt"]) == ("PaymentFailed", "PaymentGatewayTimeout", False, 4)
    assert [(a["number"], a["waited"]) for a in detail["attempts"]] == [(1, 2.0), (2, 4.0), (3, 8.0), (4, 0.0)]


def test_a_business_error_fails_at_once_and_says_so(aws):
    events = Events()

    class PaymentDeclined(Exception):
        pass

    def declined(payload, context):
        raise PaymentDeclined("card declined")

    assert adapter(aws, declined, events).process("m-1", "r", body(), QUEUE_ARN, Context()) is True
    [(name, detail)] = emitted(events)
    assert (name, detail["error"]["Error"], detail["business_error"]) == ("PaymentFailed", "PaymentDeclined", True)
    cause = json.loads(detail["error"]["Cause"])
    assert (cause["errorType"], cause["errorMessage"], cause["requestId"]) == ("PaymentDeclined", "card declined", "req-1")


def test_a_failed_put_events_hands_the_message_back_and_emits_the_same_events_without_calling_again(aws):
    calls, events = [], Events(fail=1)
    a = adapter(aws, lambda payload, context: calls.append(1) or {"n": len(calls)}, events)
    assert a.handle({"Records": [record("m-1")]}, Context()) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert a.handle({"Records": [record("m-1")]}, Context()) == {"batchItemFailures": []}
    assert len(calls) == 1
    [(name, detail)] = emitted(events)
    assert detail["results"]["ProcessPayment"] == {"output": {"n": 1}}


def test_an_attempt_that_never_reported_is_a_runtime_exit_on_the_next_delivery(aws):
    calls, events = [], Events()

    def dies(payload, context):
        calls.append(1)
        raise ProcessExited()

    a = adapter(aws, dies, events)
    with pytest.raises(ProcessExited):
        a.process("m-1", "r", body(), QUEUE_ARN, Context())
    a.call = lambda payload, context: calls.append(2) or {}
    assert a.process("m-1", "r", body(), QUEUE_ARN, Context()) is True  # Runtime.ExitError is not retried by ProcessPayment
    assert calls == [1]
    [(name, detail)] = emitted(events)
    assert (name, detail["error"]["Error"], detail["business_error"]) == ("PaymentFailed", "Runtime.ExitError", False)
    assert json.loads(detail["error"]["Cause"])["errorType"] == "Runtime.ExitError"


def test_a_result_too_large_for_an_event_fails_the_step_with_data_limit_exceeded(aws):
    events = Events()
    a = adapter(aws, lambda payload, context: {"blob": "x" * 300_000}, events)
    assert a.process("m-1", "r", body(), QUEUE_ARN, Context()) is True
    [(name, detail)] = emitted(events)
    assert (name, detail["error"]["Error"]) == ("PaymentFailed", "States.DataLimitExceeded")
    assert "ProcessPayment" not in detail["results"]


def test_a_message_that_is_not_a_saga_event_comes_back(aws):
    a = adapter(aws, lambda payload, context: {})
    bad = record("m-1", "{\"hello\": 1}")
    other = record("m-2", body("PaymentProcessed"))  # an event ProcessPayment does not react to
    assert a.handle({"Records": [bad, other]}, Context()) == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}


def test_a_retriable_step_failing_for_good_sends_its_repair_record(aws):
    events = Events()
    a = adapter(aws, lambda p, c: (_ for _ in ()).throw(AttemptFailed("SmtpUnavailable", "down")), events, consumer="SendNotification")
    a.config = {**a.config, "retry": []}
    assert a.process("m-1", "r", body("InventoryReserved"), QUEUE_ARN, Context()) is True
    assert [name for name, _ in emitted(events)] == ["NotificationFailed", "OrderSagaCompleted"]
    [message] = aws["sqs"].receive_message(QueueUrl=aws["dlq"])["Messages"]
    record_ = json.loads(message["Body"])
    assert (record_["kind"], record_["step"], record_["saga_id"], record_["error"]["Error"]) == ("StepFailed", "SendNotification", "saga-1", "SmtpUnavailable")


def test_the_watchdog_reports_sandbox_timedout_for_a_handler_past_its_timeout():
    from stepsaga.choreography.adapter import _Watchdog

    started = time.monotonic()
    with pytest.raises(AttemptFailed) as caught:
        _Watchdog(0.2).call(lambda payload, context: time.sleep(5), {}, Context())
    assert time.monotonic() - started < 2
    assert caught.value.error == "Sandbox.Timedout"
    assert json.loads(caught.value.cause) == {"errorMessage": "RequestId: req-1 Error: Task timed out after 0.20 seconds", "errorType": "Sandbox.Timedout"}
    # a handler that catches Exception cannot swallow it
    def stubborn(payload, context):
        try:
            time.sleep(5)
        except Exception:  # noqa: BLE001
            return "swallowed"

    with pytest.raises(AttemptFailed):
        _Watchdog(0.2).call(stubborn, {}, Context())


def record(message_id: str, text: str | None = None) -> dict[str, Any]:
    return {
        "messageId": message_id, "receiptHandle": "r", "body": text if text is not None else body(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000", "SenderId": "x",
                       "ApproximateFirstReceiveTimestamp": "1767225600000"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": QUEUE_ARN, "awsRegion": REGION,
    }


def test_the_lambda_entry_point_builds_its_consumer_from_the_environment(aws, monkeypatch, tmp_path):
    import stepsaga.choreography.adapter as module
    from stepsaga.names import CONSUMER_CONFIG_ENV, CONSUMER_HANDLER_ENV, DEAD_LETTER_QUEUE_ENV, EVENT_BUS_ENV, LEDGER_TABLE_ENV

    (tmp_path / "charge.py").write_text("def handler(event, context):\n    return {'charged': event['idempotency_key']}\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # the code folder is Lambda's import root
    config = consumer_config(PLAN, PLAN.consumer("ProcessPayment"))
    for key, value in {CONSUMER_CONFIG_ENV: json.dumps(config), CONSUMER_HANDLER_ENV: "charge.handler", EVENT_BUS_ENV: "bus",
                       LEDGER_TABLE_ENV: "ledger", DEAD_LETTER_QUEUE_ENV: aws["dlq"]}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(module, "_ADAPTER", None)
    sent = []
    import boto3 as real_boto3

    class Client:
        def put_events(self, Entries):  # noqa: N803
            sent.extend(Entries)
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}

    monkeypatch.setattr(real_boto3, "client", lambda service, **kw: Client() if service == "events" else aws["sqs"])
    assert module.handler({"Records": [record("m-1")]}, Context()) == {"batchItemFailures": []}
    [entry] = sent
    assert entry["EventBusName"] == "bus" and json.loads(entry["Detail"])["results"]["ProcessPayment"] == {"output": {"charged": "saga-1:ProcessPayment"}}
    from stepsaga.choreography import delivery

    assert module._ADAPTER.lease_seconds == delivery.visibility_timeout(config) + 60
