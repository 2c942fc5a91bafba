"""JSONata on the local runtime: moto's empty bridge backed by jsonata-python (stepsaga.local._moto.jsonata).

Step Functions' own functions as AWS documents them, an expression's null against undefined, the errors a
JSONata state fails with, every JSONata field moto reads (Arguments, Output, Assign, Condition, Catch Assign and
Output, Fail Error and Cause) on a hand-written machine, in both install modes and under ``lambda_only``, and
stock moto left as it is outside a run.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stepsaga.local import _moto as engine
from stepsaga.local._moto import run_inline
from stepsaga.asl.evaluate_jsonata import RANGE_MAX_ITEMS, UNDEFINED, JsonataError, evaluate
from stepsaga.local.engine import Invocation, LambdaContext

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/saga"


# --- the evaluator ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("expression", "value"), [
    ("$partition([1, 2, 3, 4, 5], 2)", [[1, 2], [3, 4], [5]]),
    ("$partition([1, 2], 5)", [[1, 2]]),
    ("$partition([], 3)", []),
    ("$range(0, 10, 2)", [0, 2, 4, 6, 8, 10]),
    ("$range(10, 0, -5)", [10, 5, 0]),
    ("$range(1, 1, 1)", [1]),
    ("$range(0, 999, 1) ~> $count()", RANGE_MAX_ITEMS),
    ("$hash('abc', 'SHA-256')", hashlib.sha256(b"abc").hexdigest()),
    ("$hash('abc', 'MD5')", hashlib.md5(b"abc").hexdigest()),
    ("$hash('é', 'SHA-1')", hashlib.sha1("é".encode()).hexdigest()),
    ("$random(42) = $random(42) and $random(42) != $random(43)", True),
    ("$random() >= 0 and $random() < 1", True),
    ("$parse('{\"a\": [1, null], \"b\": \"x\"}')", {"a": [1, None], "b": "x"}),
    ("$parse('3')", 3),
])
def test_the_functions_step_functions_adds(expression, value):
    # https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html (JSONata functions in Step Functions)
    assert evaluate(expression, {}) == value


def test_uuid_is_a_new_version_4_uuid_each_time():
    first, second = evaluate("$uuid()", {}), evaluate("$uuid()", {})
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first) and first != second


@pytest.mark.parametrize(("expression", "message"), [
    ("$eval('1 + 1')", "$eval is not available in Step Functions; use $parse"),
    ("$hash('abc', 'SHA-999')", "$hash's algorithm is 'SHA-999'; it is one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"),
    ("$hash(3, 'MD5')", "$hash takes a string to hash, not a number"),
    ("$partition([1], 0)", "$partition's chunk size must be a positive whole number, not 0"),
    ("$partition('ab', 1)", "$partition takes an array first, not a string"),
    ("$range(0, 1000, 1)", "$range would build 1001 items; it builds at most 1000"),
    ("$range(0, 5, 0)", "$range takes whole numbers and a step other than 0"),
    ("$random(1.5)", "$random's seed must be a whole number, not 1.5"),
    ("$parse('{nope')", "$parse: the string is not JSON"),
    ("$parse(1)", "$parse takes a JSON string, not a number"),
    ("1 +", "Unexpected end of expression"),
    ("function($x) { $x }", "returned an unsupported result type"),
    ("$string", "returned an unsupported result type"),
])
def test_what_cannot_be_evaluated_says_why(expression, message):
    with pytest.raises(JsonataError) as info:
        evaluate(expression, {})
    assert message in str(info.value)


def test_null_is_a_value_and_nothing_is_undefined():
    assert evaluate("$x", {"x": None}) is None
    assert evaluate("$states.input.a", {}, {"input": {"a": None}}) is None
    assert evaluate("$exists($x)", {"x": None}) is True
    assert evaluate("$nope", {}) is UNDEFINED
    assert evaluate("$states.input.missing", {}, {"input": {}}) is UNDEFINED
    assert evaluate("{'a': $nope, 'b': 1}", {}) == {"b": 1}  # an object drops a key with no value, as JSONata does


def test_values_pass_through_as_written_and_the_result_shares_nothing_with_them():
    # Stock writes a string variable into the expression unescaped (jsonata.py:encode_jsonata_variable_declarations).
    quoted = 'say "hi" \\ and {% no %}'
    assert evaluate("$v & '!'", {"v": quoted}) == quoted + "!"
    results = {"A": {"output": [1, [2, None], {"k": "v"}]}}
    merged = evaluate("$merge([$results, {'B': {'output': $r.Payload}}])", {"results": results, "r": {"Payload": [5]}})
    assert merged == {"A": {"output": [1, [2, None], {"k": "v"}]}, "B": {"output": [5]}}
    merged["A"]["output"][1].append("changed")
    assert results == {"A": {"output": [1, [2, None], {"k": "v"}]}}
    assert type(merged["A"]["output"]) is list and type(merged["B"]["output"]) is list  # not jsonata's list type


# --- a JSONata machine on moto -------------------------------------------------------------------------

LAMBDA = "arn:aws:states:::lambda:invoke"


def jsonata_machine() -> dict[str, Any]:
    """Every JSONata field moto evaluates: Pass Assign/Output, Choice Condition/Output, Task Arguments/Assign/
    Output, Catch Assign/Output, Fail Error/Cause, Succeed Output; Step Functions' functions in each kind."""
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Prepare",
        "States": {
            "Prepare": {
                "Type": "Pass",
                "Assign": {
                    "order": "{% $states.input %}",
                    "batches": "{% $partition($states.input.items, 2) %}",
                    "ids": "{% $range(1, 3, 1) %}",
                    "digest": "{% $hash($states.input.order_id, 'SHA-256') %}",
                    "parsed": "{% $parse($states.input.json) %}",
                    "note": "{% $states.input.note %}",
                },
                "Output": {"count": "{% $count($states.input.items) %}", "run": "{% $states.context.Execution.Name %}"},
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.count > 0 and $order.mode != 'empty' %}",
                             "Output": {"routed": "{% $states.input.run %}"}, "Next": "Charge"}],
                "Default": "Nothing",
                "Output": {"defaulted": "{% $states.input.run %}"},
            },
            "Charge": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Arguments": {
                    "FunctionName": "charge",
                    "Payload": {
                        "order_id": "{% $order.order_id %}",
                        "mode": "{% $order.mode %}",
                        "key": "{% $states.context.Execution.Name & ':' & $states.context.State.Name %}",
                        "note": "{% $note %}",
                        "batches": "{% $batches %}",
                    },
                },
                "Assign": {"charged": "{% $states.result.Payload %}"},
                "Output": "{% {'charged_at': $states.input.routed, 'payload': $states.result.Payload} %}",
                "Catch": [{
                    "ErrorEquals": ["States.ALL"],
                    "Assign": {"failure": "{% $states.errorOutput %}"},
                    "Output": {"error": "{% $states.errorOutput.Error %}"},
                    "Next": "Failed",
                }],
                "Next": "Done",
            },
            "Done": {
                "Type": "Succeed",
                "Output": {"ids": "{% $ids %}", "digest": "{% $digest %}", "parsed": "{% $parsed %}",
                           "charged": "{% $charged %}", "last": "{% $states.input %}", "uuid": "{% $uuid() %}"},
            },
            "Nothing": {"Type": "Succeed", "Output": "{% $states.input %}"},
            "Failed": {
                "Type": "Fail",
                "Error": "{% $failure.Error %}",
                "Cause": "{% $states.input.error & ': ' & $failure.Cause %}",
            },
        },
    }


ORDER = {"order_id": "o-1", "items": ["a", "b", "c"], "json": '{"k": [1, null]}', "note": 'a "quoted" note', "mode": "ok"}


class Charge:
    """The Lambda behind Charge: echoes its event, or fails as the order's mode says."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, invocation: Invocation, context: LambdaContext) -> Any:
        self.events.append(invocation.payload)
        if invocation.payload["mode"] == "declined":
            raise ValueError("card declined")
        return {"charged": True, "event": invocation.payload}


@pytest.fixture(scope="module")
def sfn() -> Iterator[Any]:
    engine.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name=REGION)
    engine.install()


def machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "fidelity-only"])
def test_every_jsonata_field_of_a_machine_runs_in_both_install_modes(sfn, fast):
    arn = machine(sfn, f"every-field-{fast}", jsonata_machine())
    engine.install(fast=fast)
    try:
        charge = Charge()
        raw = run_inline(arn, json.dumps(ORDER), f"run-{fast}", charge)
    finally:
        engine.install()
    assert raw.status == "SUCCEEDED", (raw.error, raw.cause)
    [event] = charge.events
    assert event == {"order_id": "o-1", "mode": "ok", "key": f"run-{fast}:Charge", "note": ORDER["note"], "batches": [["a", "b"], ["c"]]}
    out = json.loads(raw.output)
    assert out["ids"] == [1, 2, 3] and out["digest"] == hashlib.sha256(b"o-1").hexdigest()
    assert out["parsed"] == {"k": [1, None]}
    assert out["charged"] == {"charged": True, "event": event}
    assert out["last"] == {"charged_at": f"run-{fast}", "payload": out["charged"]}
    assert re.fullmatch(r"[0-9a-f-]{36}", out["uuid"])
    exited = {e["stateExitedEventDetails"]["name"]: e["stateExitedEventDetails"] for e in raw.history if "stateExitedEventDetails" in e}
    assert set(exited["Prepare"]["assignedVariables"]) == {"order", "batches", "ids", "digest", "parsed", "note"}


def test_a_choice_condition_routes_on_variables_and_input(sfn):
    arn = machine(sfn, "choice", jsonata_machine())
    raw = run_inline(arn, json.dumps({**ORDER, "mode": "empty"}), "empty-1", Charge())
    assert raw.status == "SUCCEEDED" and json.loads(raw.output) == {"defaulted": "empty-1"}


def test_a_catch_assigns_the_error_and_the_fail_state_reads_it(sfn):
    arn = machine(sfn, "caught", jsonata_machine())
    raw = run_inline(arn, json.dumps({**ORDER, "mode": "declined"}), "declined-1", Charge())
    assert (raw.status, raw.error) == ("FAILED", "ValueError")
    assert raw.cause.startswith("ValueError: {") and json.loads(raw.cause[len("ValueError: "):])["errorMessage"] == "card declined"


def _undefined_machine(caught: bool) -> dict[str, Any]:
    doc = jsonata_machine()
    doc["States"]["Charge"]["Arguments"]["Payload"]["missing"] = "{% $order.no_such_field %}"
    if not caught:
        del doc["States"]["Charge"]["Catch"]
    return doc


def test_a_field_that_returns_nothing_fails_with_states_query_evaluation_error(sfn):
    charge = Charge()
    raw = run_inline(machine(sfn, "undefined", _undefined_machine(caught=False)), json.dumps(ORDER), "undefined-1", charge)
    assert (raw.status, raw.error) == ("FAILED", "States.QueryEvaluationError")
    assert "The JSONata expression '$order.no_such_field' returned nothing (undefined)." in raw.cause
    assert "EvaluationFailed" in [e["type"] for e in raw.history] and charge.events == []  # never called
    # States.ALL catches it: it is no terminal error (only States.DataLimitExceeded and States.Runtime are)
    caught = run_inline(machine(sfn, "undefined-caught", _undefined_machine(caught=True)), json.dumps(ORDER), "undefined-2", Charge())
    assert (caught.status, caught.error) == ("FAILED", "States.QueryEvaluationError")
    assert "States.QueryEvaluationError: " in caught.cause  # the Fail state's Cause: the Catch Output's error, then its cause


def test_stock_moto_outside_a_run_is_left_as_it_is(sfn):
    # Outside run_inline and lambda_only the patches are inert: stock moto's empty bridge fails the execution.
    arn = machine(sfn, "stock", {"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": "{% $states.input.a %}", "End": True}}})
    started = sfn.start_execution(stateMachineArn=arn, name="stock-1", input='{"a": 1}')["executionArn"]
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=started))["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert described["status"] == "FAILED"
    inline = run_inline(arn, '{"a": 1}', "inline-1", Charge())
    assert (inline.status, inline.output) == ("SUCCEEDED", "1")
