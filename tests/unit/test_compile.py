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
from stepsaga.model import DEFAULT_TRANSIENT_RETRY
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
        {"ErrorEquals": ["States.DataLimitExceeded"], "ResultPath": "$.error", "Next": "RefundPayment"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RefundPayment"},
    ]
    assert s["ValidateOrder"]["Catch"][0] == {"ErrorEquals": ["InvalidOrder"], "ResultPath": "$.error", "Next": "SagaFailed"}
    assert s["ReserveInventory"]["Catch"][0]["Next"] == "RefundPayment"
    assert [c["Next"] for c in s["ReserveInventory"]["Catch"][1:]] == ["ReleaseInventory", "ReleaseInventory"]


def test_an_oversized_result_is_caught_by_name_wherever_states_all_is():
    # AWS: "States.ALL ... can't catch the States.DataLimitExceeded terminal error type" (concepts-error-handling).
    s = states(order_saga)
    for name, state in s.items():
        catch = state.get("Catch", [])
        if any(c["ErrorEquals"] == ["States.ALL"] for c in catch):
            [limit] = [c for c in catch if c["ErrorEquals"] == ["States.DataLimitExceeded"]]
            assert (limit["Next"], limit["ResultPath"]) == (catch[-1]["Next"], catch[-1]["ResultPath"]), name


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
    *_, catch = s["RefundPayment"]["Catch"]
    assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.compensation_error", "Next": "RefundPaymentDeadLetter"}
    dlq = s["RefundPaymentDeadLetter"]
    assert dlq["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert dlq["Parameters"]["QueueUrl"] == "${DeadLetterQueueUrl}"
    body = dlq["Parameters"]["MessageBody"]
    assert body["error.$"] == "$.error" and body["compensation_error.$"] == "$.compensation_error"
    assert body["compensations_done.$"] == "$.compensated"
    assert body["compensations_pending.$"] == "$.compensation_order[1:]"
    assert s["BeginSaga"]["Parameters"]["saga"]["compensation_order"] == ["ReleaseInventory", "RefundPayment", "CancelOrder"]
    assert s[dlq["Next"]]["Error"] == "SagaCompensationFailed"


def test_a_repair_record_that_cannot_be_sent_ends_the_execution_with_the_record_as_cause():
    s = states(order_saga)
    for failed, fail_state, error in (("RefundPayment", "CompensationRecordNotSent", "SagaCompensationFailed"),
                                       ("SendNotification", "StepRecordNotSent", "RepairRecordNotSent")):
        send = s[f"{failed}DeadLetter"]
        assert send["Catch"][-1] == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.dead_letter_error", "Next": f"{failed}RepairRecord"}
        keep = s[f"{failed}RepairRecord"]
        assert keep["Type"] == "Pass" and keep["Next"] == fail_state and "ResultPath" not in keep  # replaces the state
        assert keep["Parameters"] == {**send["Parameters"]["MessageBody"], "not_sent_because.$": "$.dead_letter_error"}
        assert (s[fail_state]["Error"], s[fail_state]["CausePath"]) == (error, "States.JsonToString($)")


def test_retriable_step_dead_letters_without_undoing():
    s = states(order_saga)
    assert {c["Next"] for c in s["SendNotification"]["Catch"]} == {"SendNotificationDeadLetter"}
    assert s["SendNotificationDeadLetter"]["Next"] == "SagaSucceeded"
    assert "States.ALL" in s["SendNotification"]["Retry"][-1]["ErrorEquals"]


def test_idempotency_key_comes_from_the_execution_and_differs_per_step():
    s = states(order_saga)
    keys = {n: s[n]["Parameters"]["Payload"]["idempotency_key.$"] for n in order_saga.handlers()}
    assert keys["ProcessPayment"] == "States.Format('{}:ProcessPayment', $$.Execution.Name)"
    assert len(set(keys.values())) == len(keys)


def test_an_express_saga_takes_its_id_and_keys_from_the_execution_arn_not_the_reusable_name():
    # Express execution names may repeat; the ARN ends in a UUID per execution (docs/decisions.md, Issue 7.6).
    comp = Compensation("UndoA", "compensations.a.handler", retry=[Retry(["States.ALL"], max_attempts=1)])
    saga = Saga("Quick", [Step("A", "tasks.a.handler", timeout_seconds=12, compensation=comp), Step("B", "tasks.b.handler", retriable=True, timeout_seconds=12)], workflow_type="EXPRESS", task_timeout_seconds=12)
    text = to_asl(saga)
    assert "$$.Execution.Name" not in text
    s = json.loads(text)["States"]
    for name in ("A", "UndoA", "B"):
        payload = s[name]["Parameters"]["Payload"]
        assert payload["saga_id.$"] == "$$.Execution.Id"
        assert payload["idempotency_key.$"] == f"States.Format('{{}}:{name}', $$.Execution.Id)"
    assert s["UndoADeadLetter"]["Parameters"]["MessageBody"]["saga_id.$"] == "$$.Execution.Id"
    standard = json.loads(to_asl(saga.replace(workflow_type="STANDARD")))["States"]
    assert standard["A"]["Parameters"]["Payload"]["saga_id.$"] == "$$.Execution.Name"


def test_an_input_that_is_not_an_object_is_routed_to_a_fail_before_any_step():
    s = states(order_saga)
    begin, check = s["BeginSaga"], s["CheckSagaInput"]
    assert begin["Parameters"]["input_json.$"] == "States.JsonToString($)" and begin["Next"] == "CheckSagaInput"
    assert begin["Parameters"]["saga"]["input.$"] == "$"
    assert check["Choices"] == [{"Variable": "$.input_json", "StringMatches": "{*", "Next": "ValidateOrder"}]
    assert (check["Default"], check["OutputPath"]) == ("SagaInputRejected", "$.saga")
    assert s["SagaInputRejected"]["Type"] == "Fail" and s["SagaInputRejected"]["Error"] == "InvalidSagaInput"


def test_user_retries_come_first_and_defaults_keep_states_all_last():
    saga = Saga("S", [Step("A", "tasks.a.handler", retry=[Retry(["Lambda.ServiceException", "Boom"]), Retry(["States.ALL"], max_attempts=1)])])
    retry = states(saga)["A"]["Retry"]
    assert [r["ErrorEquals"] for r in retry] == [
        ["States.DataLimitExceeded"],
        ["Lambda.ServiceException", "Boom"],
        ["Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"],
        ["States.ALL"],
    ]


def test_a_business_error_is_never_retried_by_a_wildcard_retrier():
    # The example: States.ALL would retry NoRooms twice before the Catch routed it.
    hotel = Step(
        "BookHotel", "tasks.book_hotel.handler",
        retry=[Retry(["States.ALL"], interval_seconds=1, max_attempts=2)],
        business_errors=["NoRooms"],
        compensation=Compensation("CancelHotel", "compensations.cancel_hotel.handler"),
    )
    flight = Step("BookFlight", "tasks.book_flight.handler", compensation=Compensation("CancelFlight", "compensations.cancel_flight.handler"))
    s = states(Saga("Trip", [flight, hotel]))
    retry = s["BookHotel"]["Retry"]
    assert retry[0] == {"ErrorEquals": ["NoRooms", "States.DataLimitExceeded"], "MaxAttempts": 0}
    assert first_retrier(retry, "NoRooms")["MaxAttempts"] == 0
    assert first_retrier(retry, "SomethingElse") == retry[-1] == {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0}
    assert s["BookHotel"]["Catch"][0] == {"ErrorEquals": ["NoRooms"], "ResultPath": "$.error", "Next": "CancelFlight"}


def test_states_task_failed_is_a_wildcard_too_and_specific_retriers_need_no_guard():
    step = Step("Pay", "tasks.pay.handler", retry=[Retry(["States.TaskFailed"], max_attempts=2)], business_errors=["Declined"])
    assert states(Saga("S", [step]))["Pay"]["Retry"][0] == {"ErrorEquals": ["Declined", "States.DataLimitExceeded"], "MaxAttempts": 0}
    plain = step.replace(retry=[Retry(["GatewayTimeout"])])
    assert [r["ErrorEquals"][0] for r in states(Saga("S", [plain]))["Pay"]["Retry"]] == ["GatewayTimeout", "Lambda.ServiceException"]


def test_a_saga_default_that_names_a_business_error_does_not_retry_it():
    step = Step("Pay", "tasks.pay.handler", business_errors=["Declined"])
    saga = Saga("S", [step], transient_retry=Retry(["Lambda.ServiceException", "Declined"]))
    assert states(saga)["Pay"]["Retry"][0] == {"ErrorEquals": ["Declined"], "MaxAttempts": 0}


def test_compensations_get_the_patient_default_retry_unless_they_declare_one():
    s = states(order_saga)
    assert s["RefundPayment"]["Retry"] == [
        {"ErrorEquals": ["States.DataLimitExceeded"], "MaxAttempts": 0},
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
    assert "SagaCompensationFailed" not in s and not any(n.endswith(("DeadLetter", "RepairRecord")) for n in s)
    assert s["B"]["Catch"] == [
        {"ErrorEquals": ["States.DataLimitExceeded"], "ResultPath": "$.error", "Next": "SagaFailed"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "SagaFailed"},
    ]
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
        retry = draw(st.lists(retriers(st.sampled_from([["Transient"], ["States.TaskFailed"], ["Transient", "States.TaskFailed"]])), max_size=2))
        retry += draw(st.lists(retriers(st.just(["States.ALL"])), max_size=1))  # States.ALL must come last
        steps.append(Step(f"Do{label}", f"tasks.{label.lower()}.handler", compensation=comp, retry=retry, business_errors=errors, retriable=retriable))
    # a saga-level default may name a step's business error, or be a wildcard itself
    transient = draw(st.sampled_from([DEFAULT_TRANSIENT_RETRY, Retry(["Lambda.ServiceException", "Declined"]), Retry(["States.TaskFailed"])]))
    return Saga("Generated", steps, transient_retry=transient)


def retriers(errors):
    return st.builds(
        Retry, errors, st.integers(1, 5), st.integers(0, 5), st.sampled_from([1.0, 1.5, 2.0]),
        st.none() | st.integers(5, 60), st.sampled_from([None, "FULL", "NONE"]),
    )


def first_retrier(retry: list[dict], error: str) -> dict | None:
    """The retrier Step Functions applies to an error a Lambda raised: the first whose ErrorEquals matches it.

    States.ALL matches every error but States.DataLimitExceeded and States.Runtime; States.TaskFailed every
    error but States.Timeout (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
    """
    for r in retry:
        names = r["ErrorEquals"]
        if error in names or "States.ALL" in names or "States.TaskFailed" in names:
            return r
    return None


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
                if set(catch["ErrorEquals"]) <= set(step.business_errors):
                    assert owner < i  # a business error never undoes its own step
    # a declared business error is never retried, whatever the user's retriers and the saga's defaults
    for step in saga.steps:
        for error in step.business_errors:
            applied = first_retrier(s[step.name].get("Retry", []), error)
            assert applied is None or applied["MaxAttempts"] == 0, (step.name, error, s[step.name]["Retry"])
    # the compensation chain is the reverse of the saga order
    assert doc["States"]["BeginSaga"]["Parameters"]["saga"].get("compensation_order", []) == list(reversed(comps))
