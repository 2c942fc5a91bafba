"""The orchestration compiler: golden output, determinism, and the saga semantics in the ASL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from stepsaga import Compensation, Retry, Saga, Step
from stepsaga.asl import lint
from stepsaga.orchestration import compile_saga, placeholders, to_asl
from workflows.order_saga import saga as order_saga

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "asl" / "order_saga.asl.json"


def states(saga: Saga) -> dict:
    return json.loads(to_asl(saga))["States"]


def test_order_saga_matches_the_committed_golden_file():
    assert to_asl(order_saga) == GOLDEN.read_text(encoding="utf-8")


def test_output_is_byte_identical_across_processes_and_hash_seeds():
    code = "import sys; from stepsaga.orchestration import to_asl; from workflows.order_saga import saga; sys.stdout.write(to_asl(saga))"
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        outputs.add(proc.stdout)
    assert outputs == {to_asl(order_saga)}


def test_output_format_is_two_space_json_with_final_newline():
    text = to_asl(order_saga)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.splitlines()[1].startswith('  "Comment"')
    assert json.loads(text) == compile_saga(order_saga).to_json()


def test_one_task_per_step_named_after_it_with_lambda_placeholders():
    s = states(order_saga)
    for step in order_saga.steps:
        task = s[step.name]
        assert task["Type"] == "Task"
        assert task["Resource"] == "arn:aws:states:::lambda:invoke"
        assert task["Parameters"]["FunctionName"] == "${" + step.name + "FunctionArn}"
        assert task["ResultSelector"] == {"output.$": "$.Payload"}
        assert task["ResultPath"] == f"$.results.{step.name}"


def test_business_error_skips_own_compensation_other_errors_include_it():
    s = states(order_saga)
    assert s["ProcessPayment"]["Catch"] == [
        {"ErrorEquals": ["PaymentDeclined"], "ResultPath": "$.error", "Next": "CancelOrder"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RefundPayment"},
    ]
    assert s["ValidateOrder"]["Catch"][0] == {"ErrorEquals": ["InvalidOrder"], "ResultPath": "$.error", "Next": "SagaFailed"}
    assert s["ReserveInventory"]["Catch"][0]["Next"] == "RefundPayment"
    assert s["ReserveInventory"]["Catch"][1]["Next"] == "ReleaseInventory"


def test_compensations_run_in_reverse_order_and_end_in_fail_with_original_error():
    s = states(order_saga)
    chain, name = [], "ReleaseInventory"
    while s[name]["Type"] == "Task":
        chain.append(name)
        name = s[name]["Next"]
    assert chain == ["ReleaseInventory", "RefundPayment", "CancelOrder"]
    assert s[name] == {
        "Type": "Fail",
        "Comment": "The saga was compensated: fail with the original error and cause.",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }


def test_failed_compensation_dead_letters_then_fails_with_saga_compensation_failed():
    s = states(order_saga)
    [catch] = s["RefundPayment"]["Catch"]
    assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.compensation_error", "Next": "RefundPaymentDeadLetter"}
    dlq = s["RefundPaymentDeadLetter"]
    assert dlq["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert dlq["Parameters"]["QueueUrl"] == "${DeadLetterQueueUrl}"
    body = dlq["Parameters"]["MessageBody"]
    assert body["error.$"] == "$.error" and body["compensation_error.$"] == "$.compensation_error"
    assert body["compensations_done.$"] == "$.compensated"
    assert body["compensations_pending.$"] == "$.compensation_order[1:]"
    assert s["BeginSaga"]["Parameters"]["compensation_order"] == ["ReleaseInventory", "RefundPayment", "CancelOrder"]
    assert s[dlq["Next"]]["Error"] == "SagaCompensationFailed"


def test_retriable_step_dead_letters_without_undoing():
    s = states(order_saga)
    [catch] = s["SendNotification"]["Catch"]
    assert catch["Next"] == "SendNotificationDeadLetter"
    assert s["SendNotificationDeadLetter"]["Next"] == "SagaSucceeded"
    assert "States.ALL" in s["SendNotification"]["Retry"][-1]["ErrorEquals"]


def test_idempotency_key_comes_from_the_execution_and_differs_per_step():
    s = states(order_saga)
    keys = {n: s[n]["Parameters"]["Payload"]["idempotency_key.$"] for n in order_saga.handlers()}
    assert keys["ProcessPayment"] == "States.Format('{}:ProcessPayment', $$.Execution.Name)"
    assert len(set(keys.values())) == len(keys)


def test_user_retries_come_first_and_defaults_keep_states_all_last():
    saga = Saga("S", [Step("A", "tasks.a.handler", retry=[Retry(["Lambda.ServiceException", "Boom"]), Retry(["States.ALL"], max_attempts=1)])])
    retry = states(saga)["A"]["Retry"]
    assert [r["ErrorEquals"] for r in retry] == [
        ["Lambda.ServiceException", "Boom"],
        ["Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"],
        ["States.ALL"],
    ]


def test_compensations_get_the_patient_default_retry_unless_they_declare_one():
    s = states(order_saga)
    assert s["RefundPayment"]["Retry"] == [
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0, "MaxDelaySeconds": 60, "JitterStrategy": "FULL"}
    ]


def test_timeouts_and_heartbeats_are_per_step():
    saga = Saga("S", [Step("A", "tasks.a.handler", timeout_seconds=30, heartbeat_seconds=20)], timeout_seconds=600)
    doc = json.loads(to_asl(saga))
    assert doc["TimeoutSeconds"] == 600
    assert (doc["States"]["A"]["TimeoutSeconds"], doc["States"]["A"]["HeartbeatSeconds"]) == (30, 20)


def test_placeholders_are_exactly_those_in_the_asl():
    text = to_asl(order_saga)
    import re

    assert sorted(set(re.findall(r"\$\{(\w+)\}", text))) == sorted(placeholders(order_saga))


def test_a_saga_without_compensations_has_no_dead_letter_queue():
    saga = Saga("Plain", [Step("A", "tasks.a.handler"), Step("B", "tasks.b.handler")])
    s = states(saga)
    assert "SagaCompensationFailed" not in s
    assert s["B"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "SagaFailed"}]
    assert placeholders(saga) == ["AFunctionArn", "BFunctionArn"]


# --- properties over generated sagas --------------------------------------------------------

names = st.from_regex(r"[A-Z][a-z]{2,10}", fullmatch=True)


@st.composite
def sagas(draw):
    count = draw(st.integers(1, 8))
    labels = draw(st.lists(names, min_size=count, max_size=count, unique=True))
    retriable_from = draw(st.integers(0, count))
    steps = []
    for i, label in enumerate(labels):
        retriable = i >= retriable_from
        comp = None if retriable or draw(st.booleans()) else Compensation(f"Undo{label}", f"compensations.undo_{label.lower()}.handler")
        errors = [] if retriable else draw(st.lists(st.sampled_from(["Declined", "Invalid", "Gone"]), unique=True, max_size=2))
        retry = draw(st.lists(st.builds(
            Retry, st.just(["Transient"]), st.integers(1, 5), st.integers(0, 5), st.sampled_from([1.0, 1.5, 2.0]),
            st.none() | st.integers(5, 60), st.sampled_from([None, "FULL", "NONE"]),
        ), max_size=1))
        steps.append(Step(f"Do{label}", f"tasks.{label.lower()}.handler", compensation=comp, retry=retry, business_errors=errors, retriable=retriable))
    return Saga("Generated", steps)


@settings(max_examples=60, deadline=None)
@given(sagas())
def test_every_generated_saga_compiles_to_clean_deterministic_asl(saga):
    first, second = to_asl(saga), to_asl(saga)
    assert first == second
    doc = json.loads(first)
    assert lint(doc) == []
    s = doc["States"]
    comps = [st_.compensation.name for st_ in saga.steps if st_.compensation]
    # every Catch of an action lands on a compensation that undoes only steps at or before it
    for i, step in enumerate(saga.steps):
        for catch in s[step.name].get("Catch", []):
            target = catch["Next"]
            if target in comps:
                owner = next(j for j, x in enumerate(saga.steps) if x.compensation and x.compensation.name == target)
                assert owner <= i
                if catch["ErrorEquals"] != ["States.ALL"]:
                    assert owner < i  # a business error never undoes its own step
    # the compensation chain is the reverse of the saga order
    assert doc["States"]["BeginSaga"]["Parameters"].get("compensation_order", []) == list(reversed(comps))
