"""The moto-facing engine of the local runtime (stepsaga.local._moto), against moto's own interpreter."""

from __future__ import annotations

import copy
import decimal
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stepsaga.errors import MotoVersionError
from stepsaga.lambda_errors import runtime_json
from stepsaga.local import _moto as engine
from stepsaga.local._moto import history, lambda_invoke, speed, version
from stepsaga.local._moto import run_inline
from stepsaga.local.engine import (
    FunctionError,
    FunctionTimedOut,
    Invocation,
    LambdaContext,
    LambdaServiceError,
    RuntimeExited,
    TaskTimedOut,
)

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/saga"
LAMBDA = "arn:aws:states:::lambda:invoke"


def saga_definition(queue_url: str, interval: int = 2, attempts: int = 3, backoff: float = 2.0) -> str:
    """A small saga: Pass, Wait, a Lambda task with Retry/Catch, sqs:sendMessage, a compensation, Fail states."""
    return json.dumps({
        "StartAt": "BeginSaga",
        "States": {
            "BeginSaga": {
                "Type": "Pass",
                "Parameters": {"input.$": "$", "results": {}, "compensated": {}},
                "Next": "Cooldown",
            },
            "Cooldown": {"Type": "Wait", "SecondsPath": "$.input.wait_seconds", "Next": "ProcessPayment"},
            "ProcessPayment": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Parameters": {
                    "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:process-payment",
                    "Payload": {
                        "saga_id.$": "$$.Execution.Name",
                        "idempotency_key.$": "States.Format('{}:ProcessPayment', $$.Execution.Name)",
                        "input.$": "$.input",
                    },
                },
                "ResultSelector": {"output.$": "$.Payload"},
                "ResultPath": "$.results.ProcessPayment",
                "TimeoutSeconds": 30,
                "Retry": [
                    {"ErrorEquals": ["PaymentGatewayTimeout"], "IntervalSeconds": interval, "MaxAttempts": attempts,
                     "BackoffRate": backoff, "JitterStrategy": "NONE"},
                    {"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 1, "MaxAttempts": 2,
                     "BackoffRate": 2.0},
                ],
                "Catch": [
                    {"ErrorEquals": ["PaymentDeclined"], "ResultPath": "$.error", "Next": "SagaFailed"},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RefundPayment"},
                ],
                "Next": "NotifyCustomer",
            },
            "NotifyCustomer": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {"saga_id.$": "$$.Execution.Name", "payment.$": "$.results.ProcessPayment.output"},
                },
                "ResultSelector": {"MessageId.$": "$.MessageId"},
                "ResultPath": "$.results.NotifyCustomer",
                "End": True,
            },
            "RefundPayment": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Parameters": {
                    "FunctionName": "refund-payment",
                    "Payload": {"saga_id.$": "$$.Execution.Name", "input.$": "$.input", "error.$": "$.error"},
                },
                "ResultSelector": {"output.$": "$.Payload"},
                "ResultPath": "$.compensated.RefundPayment",
                "Next": "SagaCompensated",
            },
            "SagaCompensated": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
            "SagaFailed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
        },
    })


class PaymentDeclined(Exception):
    pass


class PaymentGatewayTimeout(Exception):
    pass


class Payments:
    """Trivial handlers whose behaviour is chosen by the input's ``mode``; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Invocation, LambdaContext]] = []
        self.lock = threading.Lock()

    def attempts(self, function: str, saga_id: str) -> int:
        with self.lock:
            return sum(1 for i, _ in self.calls if i.function_name == function and i.payload["saga_id"] == saga_id)

    def __call__(self, invocation: Invocation, context: LambdaContext) -> Any:
        with self.lock:
            self.calls.append((invocation, context))
        if invocation.function_name == "refund-payment":
            return {"refunded": True, "reason": invocation.payload["error"]["Error"]}
        mode = invocation.payload["input"].get("mode", "ok")
        attempt = self.attempts("process-payment", invocation.payload["saga_id"])
        if mode == "declined":
            raise PaymentDeclined(f"card declined for {invocation.payload['saga_id']}")
        if mode == "flaky" and attempt <= 2:
            raise PaymentGatewayTimeout("gateway timed out")
        if mode == "flaky-once" and attempt <= 1:
            raise PaymentGatewayTimeout("gateway timed out")
        if mode == "boom":
            raise ValueError("unexpected")
        if mode == "timeout":
            raise TaskTimedOut()
        if mode == "throttled" and attempt <= 1:
            raise LambdaServiceError("ServiceException", "Lambda is having a bad day")
        if mode == "down":
            raise LambdaServiceError("ServiceException", "Lambda is down")
        return {"payment_id": "pay-1", "amount": invocation.payload["input"]["amount"],
                "key": invocation.payload["idempotency_key"]}


class Cloud:
    def __init__(self) -> None:
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = self.sqs.create_queue(QueueName="notify")["QueueUrl"]
        self.saga = self.machine("saga", saga_definition(self.queue_url))
        self.count = 0

    def machine(self, name: str, definition: str | dict, type: str = "STANDARD") -> str:
        text = definition if isinstance(definition, str) else json.dumps(definition)
        return self.sfn.create_state_machine(name=name, definition=text, roleArn=ROLE, type=type)["stateMachineArn"]

    def run(self, mode: str = "ok", arn: str | None = None, dispatcher: Any = None, **extra: Any) -> Any:
        self.count += 1
        payload = {"order_id": "o-1", "amount": 42, "mode": mode, "wait_seconds": 0, **extra}
        return run_inline(arn or self.saga, json.dumps(payload), f"{mode}-{self.count}", dispatcher or Payments())


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    engine.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield Cloud()


def events(raw: Any) -> list[str]:
    return [e["type"] for e in raw.history]


# ---------------------------------------------------------------------------------------------------
# Inline runs
# ---------------------------------------------------------------------------------------------------
def test_success_output_and_lambda_context(cloud: Cloud) -> None:
    from aws_lambda_powertools import Logger

    logger = Logger(service="payments")
    seen: dict[str, Any] = {}

    @logger.inject_lambda_context
    def handler(event: dict, context: Any) -> dict:
        seen.update(logger.get_current_keys())
        return {"payment_id": "pay-1", "key": event["idempotency_key"], "amount": decimal.Decimal("42")}

    raw = cloud.run("ok", dispatcher=lambda invocation, context: handler(invocation.payload, context))
    assert raw.status == "SUCCEEDED" and raw.error is None and raw.cause is None
    out = json.loads(raw.output)
    assert out["results"]["ProcessPayment"] == {"output": {"payment_id": "pay-1", "key": f"{raw.name}:ProcessPayment",
                                                           "amount": 42}}
    assert set(out["results"]["NotifyCustomer"]) == {"MessageId"}
    assert raw.clock.waits == [("Cooldown", "wait", 0)] and raw.clock.now == 0
    assert seen["function_name"] == "process-payment" and seen["function_memory_size"] == 128
    assert seen["function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:process-payment"
    assert re.fullmatch(r"[0-9a-f-]{36}", seen["function_request_id"])
    messages = cloud.sqs.receive_message(QueueUrl=cloud.queue_url, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in messages]
    assert {"saga_id": raw.name, "payment": out["results"]["ProcessPayment"]["output"]} in bodies
    # the full lambda:invoke response, as on AWS
    succeeded = [e for e in raw.history if e["type"] == "TaskSucceeded"][0]["taskSucceededEventDetails"]
    response = json.loads(succeeded["output"])
    assert list(response) == ["ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"]
    assert response["SdkResponseMetadata"]["RequestId"] == seen["function_request_id"]
    assert response["SdkHttpMetadata"]["HttpStatusCode"] == 200 and response["StatusCode"] == 200


def test_invocation_fields(cloud: Cloud) -> None:
    payments = Payments()
    cloud.run("ok", dispatcher=payments)
    invocation, context = payments.calls[0]
    assert invocation.function_name == "process-payment" and invocation.state_name == "ProcessPayment"
    assert invocation.timeout_seconds == 30 and invocation.qualifier is None
    assert invocation.payload["input"]["order_id"] == "o-1"
    assert context.log_group_name == "/aws/lambda/process-payment" and context.function_version == "$LATEST"
    assert 0 < context.get_remaining_time_in_millis() <= 30_000


def test_business_error_is_caught_and_reported_like_lambda(cloud: Cloud) -> None:
    payments = Payments()
    raw = cloud.run("declined", dispatcher=payments)
    assert raw.status == "FAILED" and raw.error == "PaymentDeclined" and raw.output is None
    # the AWS Python runtime's text: ", " and ": " separators (awslambdaric to_json)
    assert raw.cause is not None and raw.cause.startswith(f'{{"errorMessage": "card declined for {raw.name}", "errorType": ')
    cause = json.loads(raw.cause)
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert cause["errorType"] == "PaymentDeclined" and cause["errorMessage"] == f"card declined for {raw.name}"
    assert cause["requestId"] == payments.calls[0][1].aws_request_id
    assert any("test_moto_engine.py" in line and "raise PaymentDeclined" in line for line in cause["stackTrace"])
    assert not any("stepsaga/local" in line for line in cause["stackTrace"])
    assert events(raw)[-3:] == ["TaskStateExited", "FailStateEntered", "ExecutionFailed"]
    failed = [e for e in raw.history if e["type"] == "TaskFailed"][0]["taskFailedEventDetails"]
    assert failed["error"] == "PaymentDeclined" and failed["cause"] == raw.cause
    assert failed["resource"] == "invoke" and failed["resourceType"] == "lambda"


def test_function_error_with_explicit_type_and_marshal_error(cloud: Cloud) -> None:
    def custom(invocation: Invocation, context: LambdaContext) -> Any:
        raise FunctionError("Custom.Error", "custom message", ["line 1"])

    raw = cloud.run("custom", dispatcher=custom)
    assert raw.error == "Custom.Error"
    assert json.loads(raw.cause)["stackTrace"] == ["line 1"]
    raw = cloud.run("marshal", dispatcher=lambda invocation, context: {"not": {"json"}})
    assert raw.error == "Runtime.MarshalError"
    assert json.loads(raw.cause)["errorMessage"] == "Unable to marshal response: Object of type set is not JSON serializable"


def test_retries_are_virtual(cloud: Cloud) -> None:
    payments = Payments()
    raw = cloud.run("flaky", dispatcher=payments)
    assert raw.status == "SUCCEEDED"
    assert raw.clock.waits == [("Cooldown", "wait", 0), ("ProcessPayment", "retry", 2.0), ("ProcessPayment", "retry", 4.0)]
    assert len(payments.calls) == 3
    assert events(raw).count("TaskFailed") == 2
    arn = cloud.machine("long-backoff", saga_definition(cloud.queue_url, interval=20, attempts=2))
    started = time.monotonic()
    raw = cloud.run("flaky", arn=arn)
    assert time.monotonic() - started < 1.0
    assert raw.status == "SUCCEEDED" and raw.clock.now == 60.0
    assert [w for w in raw.clock.waits if w[1] == "retry"] == [("ProcessPayment", "retry", 20.0),
                                                             ("ProcessPayment", "retry", 40.0)]


def test_task_timed_out(cloud: Cloud) -> None:
    raw = cloud.run("timeout")
    # caught by States.ALL, compensated, then re-raised by the Fail state's ErrorPath (a States.* name)
    assert raw.status == "FAILED" and raw.error == "States.Timeout"
    assert "TaskTimedOut" in events(raw) and raw.history[-3]["stateExitedEventDetails"]["name"] == "RefundPayment"
    timed_out = [e for e in raw.history if e["type"] == "TaskTimedOut"][0]["taskTimedOutEventDetails"]
    assert timed_out == {"resourceType": "lambda", "resource": "invoke", "error": "States.Timeout"}
    assert raw.clock.waits[-1] == ("ProcessPayment", "timeout", 30)


def test_lambda_service_error(cloud: Cloud) -> None:
    raw = cloud.run("throttled")
    assert raw.status == "SUCCEEDED"
    assert raw.clock.waits[-1] == ("ProcessPayment", "retry", 1.0)
    failed = [e for e in raw.history if e["type"] == "TaskFailed"][0]["taskFailedEventDetails"]
    assert failed["error"] == "Lambda.ServiceException"
    assert failed["cause"].startswith("Lambda is having a bad day (Service: AWSLambda; Status Code: 500; "
                                      "Error Code: ServiceException; Request ID: ")
    raw = cloud.run("down")
    assert raw.error == "Lambda.ServiceException" and events(raw).count("TaskFailed") == 3


def test_wait_state_is_virtual(cloud: Cloud) -> None:
    started = time.monotonic()
    raw = cloud.run("ok", wait_seconds=3600)
    assert time.monotonic() - started < 1.0
    assert raw.status == "SUCCEEDED" and raw.clock.waits == [("Cooldown", "wait", 3600)]


def test_states_all_does_not_catch_states_runtime(cloud: Cloud) -> None:
    arn = cloud.machine("runtime", {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": LAMBDA,
                  "Parameters": {"FunctionName": "f", "Payload": {"x.$": "$.missing"}},
                  "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": True},
            "Caught": {"Type": "Pass", "End": True},
        },
    })
    payments = Payments()
    raw = run_inline(arn, "{}", "runtime-1", payments)
    assert raw.status == "FAILED" and raw.error == "States.Runtime"
    assert "The JSONPath '$.missing'" in (raw.cause or "")
    assert payments.calls == [] and raw.clock.waits == []
    assert "PassStateEntered" not in events(raw)


def test_parallel_and_map_run_with_the_dispatcher(cloud: Cloud) -> None:
    task = {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": "f:live", "Payload.$": "$"},
            "ResultSelector": {"p.$": "$.Payload"}, "End": True}
    arn = cloud.machine("fanout", {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "A", "States": {"A": task}},
            {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "End": True,
                                              "Iterator": {"StartAt": "I", "States": {"I": task}}}}},
        ]}},
    })
    raw = run_inline(arn, json.dumps({"items": [1, 2]}), "fanout-1",
                     lambda invocation, context: [invocation.function_name, invocation.qualifier, invocation.payload])
    assert raw.status == "SUCCEEDED"
    assert json.loads(raw.output or "") == [{"p": ["f", "live", {"items": [1, 2]}]},
                                      [{"p": ["f", "live", 1]}, {"p": ["f", "live", 2]}]]


def test_history_and_describe_match_boto3(cloud: Cloud) -> None:
    for mode in ("ok", "declined", "flaky", "timeout"):
        raw = cloud.run(mode)
        assert raw.history == cloud.sfn.get_execution_history(executionArn=raw.arn)["events"]
        described = cloud.sfn.describe_execution(executionArn=raw.arn)
        assert (described["status"], described.get("error"), described.get("cause")) == (raw.status, raw.error, raw.cause)
        # moto's describe_execution re-serialises the output with ", " separators (responses.py:340); AWS and
        # the ExecutionSucceeded event use compact JSON, as RawExecution.output does
        assert json.loads(described.get("output") or "null") == json.loads(raw.output or "null")
        if raw.status == "SUCCEEDED":
            assert raw.history[-1]["executionSucceededEventDetails"]["output"] == raw.output
        assert described["name"] == raw.name and described["stateMachineArn"] == cloud.saga


def test_execution_names_are_unique(cloud: Cloud) -> None:
    run_inline(cloud.saga, json.dumps({"mode": "declined", "amount": 1, "wait_seconds": 0}), "unique-1", Payments())
    with pytest.raises(Exception, match="Execution Already Exists"):
        run_inline(cloud.saga, "{}", "unique-1", Payments())


def test_threads_do_not_accumulate(cloud: Cloud) -> None:
    from moto.stepfunctions.parser.utils import TMP_THREADS

    cloud.run("ok")
    before = (len(TMP_THREADS), threading.active_count())
    for i in range(200):
        cloud.run(("declined", "boom")[i % 2], dispatcher=Payments())
    assert (len(TMP_THREADS), threading.active_count()) == before


def test_expected_failures_do_not_log_errors(cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="moto.stepfunctions"):
        cloud.run("declined")
    assert not [r for r in caplog.records if "FailureEventException" in r.getMessage()]


def test_check_version(monkeypatch: pytest.MonkeyPatch) -> None:
    version.check_version()
    monkeypatch.setattr(version.importlib.metadata, "version", lambda name: "5.0.0")
    with pytest.raises(MotoVersionError, match="needs moto==5.2.5 exactly, but moto 5.0.0 is installed"):
        version.check_version()


def test_install_is_idempotent_and_uninstall_restores() -> None:
    from moto.stepfunctions.parser.asl.component.program.program import Program

    engine.install()
    patched = Program.eval
    engine.install()
    assert Program.eval is patched
    engine.uninstall()
    assert Program.eval is getattr(patched, "__wrapped__") and not engine.installed()
    engine.install()
    assert engine.installed()


def test_fast_false_applies_no_speed_shortcut(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import json_path

    from stepsaga.local._moto import driver

    parses: list[str] = []
    original = AmazonStateLanguageParser.parse

    def counting_parse(definition: str) -> Any:
        parses.append(definition)
        return original(definition)

    modes = ("ok", "flaky-once", "declined")
    machines = {fast: cloud.machine(f"modes-{fast}", saga_definition(cloud.queue_url)) for fast in (False, True)}

    def runs(fast: bool) -> list[Any]:
        payload = lambda mode: json.dumps({"order_id": "o-1", "amount": 42, "mode": mode, "wait_seconds": 0})  # noqa: E731
        return [run_inline(machines[fast], payload(mode), f"modes-{mode}", Payments()) for mode in modes]

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counting_parse))
    engine.install(fast=False)
    try:
        assert engine.installed()
        assert {table for table, _owner, _name in engine.patches()} == {"driver", "lambda_invoke", "fidelity", "sqs_clock", "jsonata"}
        assert not hasattr(CommonStateField.__dict__["_get_state_entered_event_details"], "__wrapped__")  # stock
        assert not hasattr(json_path.parse, "__wrapped__")
        assert driver._program is not speed._parse_program and driver._copy_stack is not speed._json_copy
        slow = runs(False)
        assert len(parses) >= len(modes)  # stock: the definition is parsed for every execution
    finally:
        engine.install()
    assert {table for table, _owner, _name in engine.patches()} == {"driver", "lambda_invoke", "fidelity", "sqs_clock", "jsonata", "speed", "growth", "inprocess", "expressions", "item_size"}
    parses.clear()
    from stepsaga.local._moto import program_cache

    read_back = program_cache.stats["hits"]
    fast = runs(True)
    # the fast path parses a definition once (reinstalling cleared its memo), or reads that parse back from the
    # disk cache, which the machine's creation wrote
    assert len(parses) + program_cache.stats["hits"] - read_back == 1
    for s, f in zip(slow, fast):
        assert (f.status, f.error, f.clock.waits) == (s.status, s.error, s.clock.waits)
        same = lambda raw: json.dumps(normalise([raw.output, raw.cause, raw.history])).replace(raw.arn.split(":")[-2], "<sm>")  # noqa: E731
        assert same(f) == same(s)


# ---------------------------------------------------------------------------------------------------
# Stock moto, in the same process
# ---------------------------------------------------------------------------------------------------
def start_and_wait(cloud: Cloud, arn: str, name: str, payload: dict) -> dict:
    execution = cloud.sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + 10
    while (described := cloud.sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return described


def test_patches_are_inert_outside_runs(cloud: Cloud, monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parses: list[str] = []
    original = AmazonStateLanguageParser.parse

    def counting_parse(definition: str) -> Any:
        parses.append(definition)
        return original(definition)

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counting_parse))
    arn = cloud.machine("stock", {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "T"},
            "T": {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": "nobody", "Payload.$": "$"},
                  "End": True},
        },
    })
    engine.install()
    payments = Payments()
    run_inline(cloud.saga, json.dumps({"mode": "ok", "amount": 1, "wait_seconds": 0}), "inert-inline", payments)
    parses.clear()
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="moto.stepfunctions"):
        described = start_and_wait(cloud, arn, "stock-1", {})
    assert time.monotonic() - started >= 1.0  # a real wait
    assert len(parses) == 1  # stock parses the definition for every execution
    # no dispatcher: moto's own Lambda backend answered (there is no such function)
    assert described["status"] == "FAILED" and described["error"] == "Lambda.ResourceNotFoundException"
    assert [r for r in caplog.records if "FailureEventException" in r.getMessage()]  # stock logging
    assert len(payments.calls) == 1


def normalise(value: Any) -> Any:
    """Replace what is random or wall-clock in a run: request ids, message ids, dates, trace ids, stack lines."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k != "timestamp"}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        if value.startswith("{") or value.startswith("["):
            try:
                return normalise(json.loads(value))
            except ValueError:
                pass
        value = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", value)
        value = re.sub(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", "<date>", value)
        value = re.sub(r"root=1-[0-9a-f]{8}-[0-9a-f]{24};sampled=0", "<trace>", value)
        value = re.sub(r'File "[^"]*", line \d+', "<frame>", value)
    return value


def test_differential_stock_vs_inline(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    definition = saga_definition(cloud.queue_url, interval=1, attempts=1)
    stock_arn = cloud.machine("diff-stock", definition)
    inline_arn = cloud.machine("diff-inline", definition)
    payments = Payments()
    scenarios = ["ok", "declined", "flaky-once", "boom"]
    with engine.lambda_only(payments):
        stock = {mode: start_and_wait(cloud, stock_arn, f"diff-{mode}", {"mode": mode, "amount": 5, "wait_seconds": 0})
                 for mode in scenarios}
    assert len(payments.calls) == 6  # 4 payments, 1 retry, 1 refund: the dispatcher served stock executions
    inline = {mode: run_inline(inline_arn, json.dumps({"mode": mode, "amount": 5, "wait_seconds": 0}), f"diff-{mode}",
                               Payments())
              for mode in scenarios}
    assert [stock[m]["status"] for m in scenarios] == ["SUCCEEDED", "FAILED", "SUCCEEDED", "FAILED"]
    for mode in scenarios:
        described, raw = stock[mode], inline[mode]
        assert (described["status"], described.get("error")) == (raw.status, raw.error), mode
        assert normalise(described.get("cause")) == normalise(raw.cause), mode
        assert normalise(described.get("output")) == normalise(raw.output), mode
        history = cloud.sfn.get_execution_history(executionArn=described["executionArn"])["events"]
        assert [e["type"] for e in history] == events(raw), mode
        assert [(e["id"], e["previousEventId"]) for e in history] == [(e["id"], e["previousEventId"]) for e in raw.history]
        assert normalise(history) == normalise(raw.history), mode
    assert inline["flaky-once"].clock.waits[-1] == ("ProcessPayment", "retry", 1.0)


def test_lambda_only_is_scoped(cloud: Cloud) -> None:
    payments = Payments()
    with engine.lambda_only(payments):
        pass
    arn = cloud.machine("unrouted", {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": "nobody"}, "End": True}}})
    described = start_and_wait(cloud, arn, "unrouted-1", {})
    assert described["error"] == "Lambda.ResourceNotFoundException" and payments.calls == []


def test_json_copy_equals_deepcopy() -> None:
    import datetime

    value = {"a": [1, 2.5, True, None, {"b": "c"}], "d": {"e": datetime.datetime(2024, 1, 1)}, "f": -0.0}
    assert speed._json_copy(value) == copy.deepcopy(value)
    assert speed._json_copy(value) is not value and speed._json_copy(value)["a"] is not value["a"]
    shared = {"x": 1}
    clone = speed._json_copy({"p": shared, "q": shared})
    assert clone["p"] is clone["q"] and clone["p"] is not shared  # aliasing kept, like deepcopy


# ---------------------------------------------------------------------------------------------------
# The copy/encoding shortcuts are exact
# ---------------------------------------------------------------------------------------------------
def _raw_text(value: Any) -> Any:
    """Like normalise(), but JSON texts stay texts: separators and key order must match byte for byte."""
    if isinstance(value, dict):
        return {k: _raw_text(v) for k, v in value.items() if k != "timestamp"}
    if isinstance(value, list):
        return [_raw_text(v) for v in value]
    if isinstance(value, str):
        value = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", value)
        value = re.sub(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", "<date>", value)
        value = re.sub(r"root=1-[0-9a-f]{8}-[0-9a-f]{24};sampled=0", "<trace>", value)
        value = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", "<entered-time>", value)
    return value


def paths_definition() -> dict[str, Any]:
    """ResultPath/InputPath/OutputPath in their plain and odd forms, Choice, Parallel, Map, size checks."""
    task = {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": "echo", "Payload.$": "$"}}
    return {
        "StartAt": "Size",
        "States": {
            "Size": {"Type": "Choice", "Choices": [{"Variable": "$.big", "IsPresent": True, "Next": "Big"}],
                     "Default": "Begin"},
            "Big": {"Type": "Pass", "Parameters": {"a.$": "$.big", "b.$": "$.big"}, "Next": "BigTask"},
            "BigTask": {**task, "ResultSelector": {"p.$": "$.Payload"}, "End": True},
            "Begin": {"Type": "Pass", "Result": {"r": [1, {"s": "\u2603"}]}, "ResultPath": "$.deep.er", "Next": "Nested"},
            "Nested": {**task, "ResultSelector": {"out.$": "$.Payload.deep"}, "ResultPath": "$.results.Nested",
                       "Next": "Existing"},
            "Existing": {**task, "ResultSelector": {"n": 1}, "ResultPath": "$.deep", "Next": "Index"},
            "Index": {"Type": "Pass", "Result": "x", "ResultPath": "$.list[1]", "Next": "Sampled"},
            "Sampled": {**task, "InputPath": "$.results", "ResultPath": "$.r", "OutputPath": "$.r.Payload",
                        "Next": "Context"},
            "Context": {"Type": "Pass", "OutputPath": "$$.Execution.Input", "Next": "Fan"},
            # one branch, one iteration at a time: stock interleaves concurrent branches' events at random
            "Fan": {"Type": "Parallel", "ResultPath": "$.fan", "Next": "Discard", "Branches": [{"StartAt": "A", "States": {
                "A": {**task, "ResultSelector": {"p.$": "$.Payload.list"}, "ResultPath": "$.a", "Next": "M"},
                "M": {
                    "Type": "Map", "ItemsPath": "$.list", "MaxConcurrency": 1, "ResultPath": "$.m", "End": True,
                    "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {**task, "OutputPath": "$.Payload", "End": True}}},
                },
            }}]},
            "Discard": {**task, "ResultPath": None, "Next": "Clash"},
            "Clash": {"Type": "Pass", "Result": 1, "ResultPath": "$.list.x", "End": True},
        },
    }


@pytest.mark.parametrize("case", ["paths", "commas", "separators", "too_big", "big_task"])
def test_differential_paths_and_size_checks(cloud: Cloud, case: str) -> None:
    payloads = {
        "paths": {"list": [1, 2.5, None], "deep": {"keep": True}},
        # "," and ":" inside strings get no space: under 256 KiB, though the compact length plus every "," and
        # ":" is over, so the size check is made exactly
        "commas": {"big": ",:" * 35000},
        # 180 KB compact, 270 KB with ", " separators: the first state's output fits (stock moto's own measure
        # would fail it), the next one, twice as large, does not
        "separators": {"big": [1] * 90000},
        "too_big": {"big": "x" * 140000},  # a state output over 256 KiB: States.DataLimitExceeded
        "big_task": {"big": "x" * 130800},  # the Pass output fits, the Task output (with the invoke metadata) does not
    }
    definition = json.dumps(paths_definition())
    stock_arn = cloud.machine(f"paths-stock-{case}", definition)
    inline_arn = cloud.machine(f"paths-inline-{case}", definition)
    echo = lambda invocation, context: invocation.payload  # noqa: E731
    with engine.lambda_only(echo):
        described = start_and_wait(cloud, stock_arn, "paths", payloads[case])
    raw = run_inline(inline_arn, json.dumps(payloads[case]), "paths", echo)
    history = cloud.sfn.get_execution_history(executionArn=described["executionArn"], maxResults=1000)["events"]
    assert (raw.status, raw.error, raw.cause) == (described["status"], described.get("error"), described.get("cause"))
    assert _raw_text(history) == _raw_text(raw.history)
    if raw.status == "SUCCEEDED":
        assert json.loads(raw.output or "") == json.loads(described["output"])
    expected = {"paths": "FAILED", "commas": "SUCCEEDED", "separators": "FAILED", "too_big": "FAILED", "big_task": "FAILED"}
    assert raw.status == expected[case]
    if case == "paths":  # every state ran; the last one's ResultPath hits a list: jsonpath_ng's TypeError
        assert events(raw)[-3:] == ["TaskStateExited", "PassStateEntered", "ExecutionFailed"]
        assert raw.error == "States.Runtime" and "TypeError" in (raw.cause or "")
    else:
        assert raw.error in (None, "States.DataLimitExceeded")


def test_result_path_field_chain_matches_jsonpath_ng() -> None:
    import jsonpath_ng

    def apply(expr: Any, data: Any, val: Any) -> Any:
        try:
            return ("ok", json.dumps(expr.update_or_create(data, val)))  # key order included
        except Exception as exc:  # noqa: BLE001
            return ("raised", type(exc))

    datas = [{}, {"a": 1, "b": 2}, {"a": {}}, {"a": {"b": {"c": 1, "d": 2}, "e": 3}}, {"a": {"b": "s"}},
             {"a": {"b": [1]}}, {"a": None}, {"a": {"b": None}}, {"a": {"b": 5}}, {"a": {"b": True}}, {"a": [{"b": 1}]},
             [1, 2], "text", None, 7]
    for path in ("$.a", "$.a.b", "$.a.b.c", "$['a'].b", "$.x.y"):
        fast = speed._result_path_parse(jsonpath_ng.parse, path)
        assert isinstance(fast, speed._FieldChainPath), path
        for data in datas:
            for val in ({"v": [1, {"w": 2}]}, [3], "s", None):
                assert apply(fast, copy.deepcopy(data), val) == apply(jsonpath_ng.parse(path), copy.deepcopy(data), val), (
                    path, data, val)
    for path in ("$", "$.a[0]", "$.a.*", "$..a"):
        assert not isinstance(speed._result_path_parse(jsonpath_ng.parse, path), speed._FieldChainPath), path


def test_history_timestamps_across_a_dst_change(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime
    import types

    from dateutil.tz import tzlocal

    if not hasattr(time, "tzset"):
        pytest.skip("no time.tzset on this platform")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        monkeypatch.setattr(history, "_TZLOCAL", None)
        # 2024-11-03 06:00Z: 01:59:59 EDT is followed by 01:00:00 EST (fold=1)
        start = datetime.datetime(2024, 11, 3, 5, 59, 58, 998000)
        stamps = [(start + datetime.timedelta(milliseconds=250 * i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                  for i in range(20)]
        events = [{"timestamp": s, "type": "PassStateEntered", "id": i + 1, "previousEventId": i}
                  for i, s in enumerate(stamps)]
        manager = types.SimpleNamespace(_mutex=threading.Lock(), _history_event_list=events)
        execution = types.SimpleNamespace(exec_worker=types.SimpleNamespace(env=types.SimpleNamespace(event_manager=manager)))
        got = [e["timestamp"] for e in history._history_as_boto3(execution)]  # type: ignore[arg-type]
        local = tzlocal()
        want = [datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).astimezone(local)
                for s in stamps]
        assert [(repr(g), g.fold, g.utcoffset()) for g in got] == [(repr(w), w.fold, w.utcoffset()) for w in want]
        assert {g.fold for g in got} == {0, 1}
    finally:
        monkeypatch.undo()
        time.tzset()


# ---------------------------------------------------------------------------------------------------
# The 256 KiB quota: UTF-8 bytes of the compact JSON, 262,144 included (both engines)
# ---------------------------------------------------------------------------------------------------
def _padded(total_bytes: int) -> dict[str, str]:
    """{"s": text} whose compact JSON is exactly ``total_bytes`` of UTF-8, mostly 2-byte characters."""
    room = total_bytes - len('{"s":""}')
    return {"s": "é" * (room // 2) + "x" * (room % 2)}


@pytest.mark.parametrize("which", ["inline", "stock"])
@pytest.mark.parametrize(("size", "status"), [(262_144, "SUCCEEDED"), (262_145, "FAILED")])
def test_state_output_quota_at_the_boundary(cloud: Cloud, which: str, size: int, status: str) -> None:
    arn = cloud.machine(f"quota-{which}-{size}", {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"s.$": "$.s"}, "End": True}}})
    payload = _padded(size)
    if which == "inline":
        raw = run_inline(arn, json.dumps(payload, ensure_ascii=False), "quota", Payments())
        outcome = (raw.status, raw.error)
    else:
        with engine.lambda_only(Payments()):
            described = start_and_wait(cloud, arn, "quota", payload)
        outcome = (described["status"], described.get("error"))
    assert outcome == (status, None if status == "SUCCEEDED" else "States.DataLimitExceeded")


def test_patched_quota_is_inert_outside_runs(cloud: Cloud) -> None:
    # stock moto, no run and no lambda_only: its own measure (", " separators, \u escapes) stays
    arn = cloud.machine("quota-stock-moto", {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"s.$": "$.s"}, "End": True}}})
    described = start_and_wait(cloud, arn, "quota", _padded(100_000))  # 100 KB of UTF-8, 300 KB escaped
    assert described["status"] == "FAILED" and described["error"] == "States.DataLimitExceeded"


def test_a_lambda_result_is_measured_compact(cloud: Cloud) -> None:
    # The example: [0] * 100000 is 200 KB compact (300 KB with ", "): it fits on AWS
    raw = cloud.run("ok", dispatcher=lambda invocation, context: [0] * 100_000)
    assert raw.status == "SUCCEEDED", raw.cause
    assert json.loads(raw.output or "")["results"]["ProcessPayment"]["output"] == [0] * 100_000
    raw = cloud.run("ok", dispatcher=lambda invocation, context: ["é" * 140_000])  # 280 KB of UTF-8
    assert raw.error == "States.DataLimitExceeded"


# ---------------------------------------------------------------------------------------------------
# Errors as the Lambda Python runtime and Lambda itself write them
# ---------------------------------------------------------------------------------------------------
def _failed_cause(raw: Any) -> str:
    return [e for e in raw.history if e["type"] == "TaskFailed"][0]["taskFailedEventDetails"]["cause"]


def payment_raising(payments: Payments, error: Exception) -> Any:
    """A dispatcher: ProcessPayment raises ``error``, the refund succeeds; every call is recorded."""

    def dispatch(invocation: Invocation, context: LambdaContext) -> Any:
        result = payments(invocation, context)
        if invocation.function_name == "refund-payment":
            return result
        raise error

    return dispatch


def test_runtime_error_text_is_byte_for_byte_the_python_runtimes(cloud: Cloud) -> None:
    payments = Payments()
    error = FunctionError("Reservé.Échec", "stock épuisé: «3» → 0", ["  File \"/var/task/h.py\", line 1, in h\n"])
    raw = cloud.run("ok", dispatcher=payment_raising(payments, error))
    request_id = payments.calls[0][1].aws_request_id
    assert raw.error == "Reservé.Échec"
    assert raw.cause == _failed_cause(raw) == (
        '{"errorMessage": "stock épuisé: «3» → 0", "errorType": "Reservé.Échec", '
        f'"requestId": "{request_id}", "stackTrace": ["  File \\"/var/task/h.py\\", line 1, in h\\n"]}}'
    )


def test_runtime_json_writes_decimal_as_its_own_text() -> None:
    # awslambdaric: RawJSON(str(d)) for a Decimal, NaN for a NaN one; ", " separators; non-ASCII as is
    value = {"a": decimal.Decimal("1.50"), "b": [decimal.Decimal("42"), decimal.Decimal("1E+2")], "c": "é",
             "d": decimal.Decimal("NaN"), "e": decimal.Decimal("-0.000001")}
    assert runtime_json(value) == '{"a": 1.50, "b": [42, 1E+2], "c": "é", "d": NaN, "e": -0.000001}'
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        runtime_json({"s": {1}})


def test_a_decimal_result_reaches_the_state_as_the_runtime_wrote_it(cloud: Cloud) -> None:
    raw = cloud.run("ok", dispatcher=lambda i, c: {"total": decimal.Decimal("12345678901234567"), "rate": decimal.Decimal("0.10")})
    assert json.loads(raw.output or "")["results"]["ProcessPayment"]["output"] == {"total": 12345678901234567, "rate": 0.1}


def test_the_template_runtime_is_one_whose_errors_are_modelled() -> None:
    # _runtime_json follows python3.12/3.13 (non-ASCII unescaped); older runtimes escape it
    from stepsaga.sam import LAMBDA_RUNTIME

    assert LAMBDA_RUNTIME in ("python3.12", "python3.13")


def test_function_timeout_is_sandbox_timedout(cloud: Cloud) -> None:
    payments = Payments()
    raw = cloud.run("ok", dispatcher=payment_raising(payments, FunctionTimedOut(25)))
    request_id = payments.calls[0][1].aws_request_id
    cause = _failed_cause(raw)
    assert cause == ('{"errorMessage":"RequestId: ' + request_id + ' Error: Task timed out after 25.00 seconds",'
                     '"errorType":"Sandbox.Timedout"}')
    # a function error: the catcher saw it (States.ALL), the refund ran, the Fail state re-raised it
    assert raw.error == "Sandbox.Timedout" and "TaskTimedOut" not in events(raw)
    assert ("ProcessPayment", "function_timeout", 25) in raw.clock.waits
    def default_timeout(invocation: Invocation, context: LambdaContext) -> Any:
        raise FunctionTimedOut()

    raw = cloud.run("ok", dispatcher=default_timeout)
    assert "Task timed out after 30.00 seconds" in _failed_cause(raw)  # the context's: the Task's TimeoutSeconds


def test_process_exit_is_runtime_exit_error_without_stack_trace(cloud: Cloud) -> None:
    payments = Payments()
    raw = cloud.run("ok", dispatcher=payment_raising(payments, RuntimeExited(137)))
    request_id = payments.calls[0][1].aws_request_id
    assert _failed_cause(raw) == ('{"errorMessage":"RequestId: ' + request_id + ' Error: Runtime exited with error: '
                                  'exit status 137","errorType":"Runtime.ExitError"}')
    assert raw.error == "Runtime.ExitError"


# ---------------------------------------------------------------------------------------------------
# Express executions and execution-level limits on the virtual clock
# ---------------------------------------------------------------------------------------------------
def compensating_machine(queue_url: str, timeout_seconds: int | None = None, attempts: int = 10) -> dict:
    """Charge fails; Refund fails on every attempt with a long backoff; then a repair record and a Fail."""
    definition: dict[str, Any] = {
        "StartAt": "Charge",
        "States": {
            "Charge": {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
                       "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Refund"}], "End": True},
            "Refund": {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": "refund", "Payload.$": "$"},
                       "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": attempts,
                                  "BackoffRate": 2.0, "JitterStrategy": "NONE"}],
                       "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.refund_error", "Next": "DeadLetter"}],
                       "End": True},
            "DeadLetter": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                           "Parameters": {"QueueUrl": queue_url, "MessageBody.$": "$"}, "Next": "CompensationFailed"},
            "CompensationFailed": {"Type": "Fail", "Error": "SagaCompensationFailed"},
        },
    }
    if timeout_seconds is not None:
        definition["TimeoutSeconds"] = timeout_seconds
    return definition


def always_failing(invocation: Invocation, context: LambdaContext) -> Any:
    raise ValueError(f"{invocation.function_name} is down")


def test_express_times_out_at_300_virtual_seconds_with_no_repair_record(cloud: Cloud) -> None:
    queue = cloud.sqs.create_queue(QueueName="express-dlq")["QueueUrl"]
    arn = cloud.machine("express-compensation", compensating_machine(queue), type="EXPRESS")
    raw = run_inline(arn, "{}", "express-1", always_failing)
    # 10, 20, 40, 80 s of retries (150), then the 160 s wait reaches 300: the execution ends there
    assert (raw.status, raw.error, raw.clock.now) == ("TIMED_OUT", "States.Timeout", 300)
    assert [w[2] for w in raw.clock.waits] == [10, 20, 40, 80, 150]
    assert events(raw)[-1] == "ExecutionTimedOut" and "FailStateEntered" not in events(raw)
    assert "Messages" not in cloud.sqs.receive_message(QueueUrl=queue)  # no repair record, as on AWS
    # the same machine as STANDARD runs to its end: 310 s of retries, the record, SagaCompensationFailed
    standard = cloud.machine("standard-compensation", compensating_machine(queue))
    raw = run_inline(standard, "{}", "standard-1", always_failing)
    assert (raw.status, raw.error) == ("FAILED", "SagaCompensationFailed") and raw.clock.now > 300
    assert len(cloud.sqs.receive_message(QueueUrl=queue)["Messages"]) == 1


def test_state_machine_timeout_seconds_is_applied_on_the_virtual_clock(cloud: Cloud) -> None:
    queue = cloud.sqs.create_queue(QueueName="timeout-dlq")["QueueUrl"]
    arn = cloud.machine("standard-timeout", compensating_machine(queue, timeout_seconds=45))
    raw = run_inline(arn, "{}", "standard-timeout-1", always_failing)
    assert (raw.status, raw.error, raw.clock.now) == ("TIMED_OUT", "States.Timeout", 45)
    assert raw.history == cloud.sfn.get_execution_history(executionArn=raw.arn)["events"]
    assert cloud.sfn.describe_execution(executionArn=raw.arn)["status"] == "TIMED_OUT"
    # Express: the smaller of TimeoutSeconds and 300
    express = cloud.machine("express-timeout", compensating_machine(queue, timeout_seconds=100), type="EXPRESS")
    assert run_inline(express, "{}", "express-timeout-1", always_failing).clock.now == 100
    # a Task timeout crossing the limit ends the execution too
    raw = run_inline(express, "{}", "express-timeout-2", lambda i, c: (_ for _ in ()).throw(TaskTimedOut()))
    assert (raw.status, raw.clock.now) == ("TIMED_OUT", 100)


def test_an_execution_within_its_limit_is_unaffected(cloud: Cloud) -> None:
    queue = cloud.sqs.create_queue(QueueName="within-dlq")["QueueUrl"]
    arn = cloud.machine("express-short", compensating_machine(queue, attempts=3), type="EXPRESS")
    raw = run_inline(arn, "{}", "express-short-1", always_failing)  # 10 + 20 + 40 s of retries
    assert (raw.status, raw.error, raw.clock.now) == ("FAILED", "SagaCompensationFailed", 70)
    assert len(cloud.sqs.receive_message(QueueUrl=queue)["Messages"]) == 1


def test_express_names_may_be_reused_and_arns_have_the_express_form(cloud: Cloud) -> None:
    arn = cloud.machine("express-names", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, type="EXPRESS")
    first = run_inline(arn, "{}", "same-name", Payments())
    second = run_inline(arn, "{}", "same-name", Payments())
    assert first.status == second.status == "SUCCEEDED" and first.arn != second.arn
    for raw in (first, second):
        assert re.fullmatch(r"arn:aws:states:us-east-1:123456789012:express:express-names:same-name:"
                            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", raw.arn), raw.arn


def test_a_function_timeout_longer_than_the_task_is_a_task_timeout(cloud: Cloud) -> None:
    raw = cloud.run("ok", dispatcher=payment_raising(Payments(), FunctionTimedOut(31)))
    assert "TaskTimedOut" in events(raw) and ("ProcessPayment", "timeout", 30) in raw.clock.waits


# ---------------------------------------------------------------------------------------------------
# A run's cost does not grow with the runs before it
# ---------------------------------------------------------------------------------------------------
def test_runs_do_not_track_moto_model_instances(cloud: Cloud) -> None:
    from moto.dynamodb.models.dynamo_type import Item
    from moto.sqs.models import Message

    cloud.run("ok")
    before = (len(Item.instances_tracked), len(Message.instances_tracked))
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(TableName="tracked", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")

    def writes(invocation: Invocation, context: LambdaContext) -> Any:
        ddb.put_item(TableName="tracked", Item={"pk": {"S": invocation.payload["saga_id"]}})
        return {"ok": True}

    for _ in range(20):
        cloud.run("ok", dispatcher=writes)  # 20 Items and 20 SQS messages, none tracked
    assert (len(Item.instances_tracked), len(Message.instances_tracked)) == before
    ddb.put_item(TableName="tracked", Item={"pk": {"S": "outside"}})  # outside runs: stock moto
    assert len(Item.instances_tracked) == before[0] + 1


TRANSACTIONS: list[list[dict[str, Any]]] = [
    # a put, an update and a delete that all apply
    [{"Put": {"TableName": "T", "Item": {"pk": {"S": "new"}, "sk": {"S": "1"}, "v": {"N": "1"}}}},
     {"Update": {"TableName": "T", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}}, "UpdateExpression": "SET v = v + :one",
                 "ExpressionAttributeValues": {":one": {"N": "1"}}}},
     {"Delete": {"TableName": "T", "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}}}}],
    # the update and the put apply, then a condition fails: both are rolled back
    [{"Update": {"TableName": "T", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}}, "UpdateExpression": "SET v = :x",
                 "ExpressionAttributeValues": {":x": {"N": "99"}}}},
     {"Put": {"TableName": "T", "Item": {"pk": {"S": "c"}, "sk": {"S": "2"}}}},
     {"Delete": {"TableName": "T", "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
     {"ConditionCheck": {"TableName": "T", "Key": {"pk": {"S": "zz"}, "sk": {"S": "9"}},
                         "ConditionExpression": "attribute_exists(pk)"}}],
    # an update that creates an item, then a put into a second table, then a bad update: all rolled back
    [{"Update": {"TableName": "T", "Key": {"pk": {"S": "fresh"}, "sk": {"S": "1"}}, "UpdateExpression": "SET v = :x",
                 "ExpressionAttributeValues": {":x": {"N": "5"}}}},
     {"Put": {"TableName": "H", "Item": {"pk": {"S": "h1"}}}},
     {"Update": {"TableName": "H", "Key": {"pk": {"S": "h0"}}, "UpdateExpression": "SET v = v + :one",
                 "ExpressionAttributeValues": {":one": {"N": "1"}}}}],
    # the same item twice: a ValidationException, nothing applied
    [{"Put": {"TableName": "H", "Item": {"pk": {"S": "h2"}}}},
     {"Delete": {"TableName": "H", "Key": {"pk": {"S": "h2"}}}}],
]


def _transaction_tables(ddb: Any, suffix: str) -> None:
    """Tables T<suffix> (hash and range key) and H<suffix> (hash key) with the rows TRANSACTIONS expect."""
    for name, keys in ((f"T{suffix}", ["pk", "sk"]), (f"H{suffix}", ["pk"])):
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ["HASH", "RANGE"])],
                         AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
                         BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName=f"T{suffix}", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "v": {"N": "1"}})
    ddb.put_item(TableName=f"T{suffix}", Item={"pk": {"S": "b"}, "sk": {"S": "1"}})
    ddb.put_item(TableName=f"H{suffix}", Item={"pk": {"S": "h0"}, "v": {"S": "text"}})


def _transaction_outcomes(ddb: Any, suffix: str) -> list[Any]:
    """Apply TRANSACTIONS to the tables of _transaction_tables; the error and both tables' rows after each."""
    outcomes = []
    for transaction in TRANSACTIONS:
        items = json.loads(json.dumps(transaction).replace('"T"', f'"T{suffix}"').replace('"H"', f'"H{suffix}"'))
        try:
            ddb.transact_write_items(TransactItems=items)
            error = None
        except ddb.exceptions.ClientError as exc:
            error = (exc.response["Error"]["Code"], exc.response.get("CancellationReasons"))
        tables = [sorted(json.dumps(i, sort_keys=True) for i in ddb.scan(TableName=f"{t}{suffix}")["Items"]) for t in "TH"]
        outcomes.append((error, tables))
    return outcomes


def test_transact_write_items_keeps_moto_semantics_without_copying_tables(cloud: Cloud) -> None:
    from moto.dynamodb.models import dynamodb_backends

    ddb = boto3.client("dynamodb", region_name=REGION)
    backend = dynamodb_backends["123456789012"][REGION]
    _transaction_tables(ddb, "stock")
    stock_tables = dict(backend.tables)
    stock = _transaction_outcomes(ddb, "stock")
    _transaction_tables(ddb, "fast")
    fast_tables = dict(backend.tables)
    with engine.lambda_only(Payments()):  # the patch is active during runs and under lambda_only
        fast = _transaction_outcomes(ddb, "fast")
    assert fast == stock
    assert [e[0] if e else None for e, _ in fast] == [None, "TransactionCanceledException", "ValidationException",
                                                      "ValidationException"]
    # stock moto puts whole-table copies back after a failure; the patched one keeps the live tables
    assert backend.tables["Tstock"] is not stock_tables["Tstock"]
    assert backend.tables["Tfast"] is fast_tables["Tfast"] and backend.tables["Hfast"] is fast_tables["Hfast"]


def test_transact_write_items_copies_no_table_while_the_contract_check_watches_it(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    # the contract check's recorder sits in each watched table's stream_shard; it is no stream, so the
    # transaction still saves only its targets (the whole-table copy made a run's cost grow with its rows)
    from moto.dynamodb.models import dynamodb_backends

    from stepsaga.local._moto import TableWatch

    ddb = boto3.client("dynamodb", region_name=REGION)
    backend = dynamodb_backends["123456789012"][REGION]
    _transaction_tables(ddb, "plain")
    plain = _transaction_outcomes(ddb, "plain")
    _transaction_tables(ddb, "watched")
    live = dict(backend.tables)
    watch = TableWatch(["Twatched", "Hwatched"], "123456789012", REGION)
    copies: list[str] = []
    real_deepcopy = copy.deepcopy

    def counting(value: Any, memo: Any = None) -> Any:
        if type(value).__name__ == "Table":
            copies.append(value.name)
        return real_deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting)
    with engine.lambda_only(Payments()):
        watch.start()
        watched = _transaction_outcomes(ddb, "watched")
        changes = watch.changes()
    assert watched == [(error, [[row.replace("plain", "watched") for row in t] for t in tables]) for error, tables in plain]
    assert copies == []
    assert backend.tables["Twatched"] is live["Twatched"] and backend.tables["Hwatched"] is live["Hwatched"]
    # the watch sees the first transaction's three rows and nothing of the rolled back ones
    assert sorted((table, json.dumps(key, sort_keys=True)) for table, key, _, _ in changes) == [
        ("Twatched", '{"pk": "a", "sk": "1"}'), ("Twatched", '{"pk": "b", "sk": "1"}'), ("Twatched", '{"pk": "new", "sk": "1"}')]
