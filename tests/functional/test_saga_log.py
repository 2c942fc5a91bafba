"""The saga log (the CQRS read side): events out of order and more than once, read back in causal order."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from stepsaga.choreography.plan import plan
from stepsaga.choreography.projection import Projection, read_log
from stepsaga.names import SAGA_LOG_KEYS
from workflows.order_saga import saga as order_saga

KINDS = {e.name: e.kind for e in plan(order_saga).events}


@pytest.fixture
def table(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        ddb = boto3.resource("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        saga_key, entry_key = SAGA_LOG_KEYS
        ddb.create_table(TableName="log", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": saga_key, "KeyType": "HASH"}, {"AttributeName": entry_key, "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": saga_key, "AttributeType": "S"}, {"AttributeName": entry_key, "AttributeType": "S"}])
        yield ddb.Table("log")


def event(seq: int, detail_type: str, producer: str, cause: str | None, error: dict | None = None, comp_error: dict | None = None) -> dict:
    return {"detail-type": detail_type, "source": "stepsaga.order_saga", "detail": {
        "saga": "OrderSaga", "saga_id": "s-1", "seq": seq, "event_id": f"e{seq}", "causation_id": cause, "producer": producer,
        "time_ms": 1000 + seq, "error": error, "compensation_error": comp_error, "input": {}, "results": {}, "compensated": {}}}


HAPPY = [
    event(0, "OrderSagaStarted", "api", None),
    event(1, "OrderValidated", "ValidateOrder", "e0"),
    event(2, "PaymentProcessed", "ProcessPayment", "e1"),
    event(3, "InventoryReserved", "ReserveInventory", "e2"),
    event(4, "NotificationSent", "SendNotification", "e3"),
    event(5, "OrderSagaCompleted", "SendNotification", "e3"),
]


def test_events_out_of_order_and_twice_read_back_in_causal_order(table):
    projection = Projection(table, KINDS)
    for e in [HAPPY[5], HAPPY[2], HAPPY[0], HAPPY[2], HAPPY[4], HAPPY[1], HAPPY[3], HAPPY[5]]:
        projection.project(e)
    log = read_log(table, "s-1")
    assert [e.detail_type for e in log.events] == [e["detail-type"] for e in HAPPY]
    # Completed came first, and the events after it did not put the saga back to RUNNING
    assert (log.status, log.error, log.started_ms, log.ended_ms) == ("SUCCEEDED", None, 1000, 1005)
    assert [e.reacted for e in log.events] == [["ValidateOrder"], ["ProcessPayment"], ["ReserveInventory"], ["SendNotification"], [], []]


def test_a_saga_in_flight_is_running_and_an_unknown_one_has_no_summary(table):
    projection = Projection(table, KINDS)
    for e in HAPPY[:3]:
        projection.project(e)
    assert read_log(table, "s-1").status == "RUNNING"
    assert read_log(table, "nobody").status == "UNKNOWN"


def test_an_aborted_saga_keeps_its_original_error_and_a_failed_compensation_says_so(table):
    projection = Projection(table, KINDS)
    declined = {"Error": "PaymentDeclined", "Cause": "card declined"}
    projection.project(event(3, "OrderSagaAborted", "CancelOrder", "e2", declined))
    log = read_log(table, "s-1")
    assert (log.status, log.error, log.cause) == ("FAILED", "PaymentDeclined", "card declined")

    other = {k: (v.replace("s-1", "s-2") if isinstance(v, str) else v) for k, v in event(4, "OrderSagaCompensationFailed", "RefundPayment", "e3").items()}
    other["detail"] = {**other["detail"], "saga_id": "s-2", "error": {"Error": "OutOfStock", "Cause": "none left"},
                       "compensation_error": {"Error": "RefundGatewayDown", "Cause": "down"}}
    projection.project(other)
    log = read_log(table, "s-2")
    assert (log.status, log.error, log.cause) == ("FAILED", "SagaCompensationFailed", "RefundGatewayDown while compensating OutOfStock: down")


def test_the_projection_s_lambda_reads_its_configuration_and_reports_a_bad_record(table, monkeypatch):
    import json

    import stepsaga.choreography.projection as module
    from stepsaga.choreography.config import service_config
    from stepsaga.names import CONSUMER_CONFIG_ENV, SAGA_LOG_TABLE_ENV

    p = plan(order_saga)
    monkeypatch.setenv(CONSUMER_CONFIG_ENV, json.dumps(service_config(p, p.consumer("SagaLog"))))
    monkeypatch.setenv(SAGA_LOG_TABLE_ENV, "log")
    monkeypatch.setattr(module, "_PROJECTION", None)
    envelope = {"version": "0", "id": "x", "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": []}

    def sqs(message_id, body):
        return {"messageId": message_id, "receiptHandle": "r", "body": body, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:log", "awsRegion": "us-east-1", "messageAttributes": {},
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1", "SenderId": "x", "ApproximateFirstReceiveTimestamp": "1"}}

    started = {**envelope, **event(0, "OrderSagaStarted", "api", None)}
    started["detail"] = {**started["detail"], "correlation_id": "s-1", "step": None, "attempt": None, "attempts": [],
                         "business_error": None}
    out = module.handler({"Records": [sqs("m-1", json.dumps(started)), sqs("m-2", "not json")]}, None)
    assert out == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    log = read_log(table, "s-1")
    assert (log.status, [e.detail_type for e in log.events]) == ("RUNNING", ["OrderSagaStarted"])
