"""The handler harness (``stepsaga.testing.HandlerEnvironment``) sends exactly what the compiled ASL sends.

Proved against real runs: for every step and compensation of the order saga (standard and EXPRESS),
the harness's payload equals the event the handler received in an ``EmbeddedCloud`` run. And a drift
between the compiler's payload and a handler's model fails a test that calls the handler through it.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from stepsaga import Saga, Step
from stepsaga.errors import EvaluationError
from stepsaga.local import EmbeddedCloud, default_seed
from stepsaga.orchestration import to_asl
from stepsaga.testing import CrashAfter, HandlerEnvironment, assert_items
from tests.functional.test_express import express_order_saga

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
ORDER = json.loads((INPUTS / "order.json").read_text())


def scheduled_states(result: Any, saga: Saga) -> list[tuple[str, dict[str, Any], dict[str, str] | None]]:
    """For each Lambda attempt of a run, from its history alone: (state, step outputs so far, error so far).

    The outputs are the handlers' returns as the history records them (TaskSucceeded's Payload), the
    error is the last failure of a step (TaskFailed's error and cause): never the events themselves.
    """
    steps = {s.name for s in saga.steps}
    state, outputs, error, out = "", {}, None, []
    for event in result.history:
        kind = event["type"]
        if kind == "TaskStateEntered":
            state = event["stateEnteredEventDetails"]["name"]
        elif kind == "TaskScheduled" and event["taskScheduledEventDetails"]["resourceType"] == "lambda":
            out.append((state, dict(outputs), error))
        elif kind == "TaskSucceeded" and state in steps:
            outputs[state] = json.loads(event["taskSucceededEventDetails"]["output"])["Payload"]
        elif kind == "TaskFailed" and state in steps:
            details = event["taskFailedEventDetails"]
            error = {"Error": details["error"], "Cause": details["cause"]}
    return out


def _reference() -> Saga:
    return __import__("workflows.order_saga", fromlist=["saga"]).saga


@pytest.mark.parametrize("make_saga", [_reference, express_order_saga, lambda: _reference().replace(query_language="JSONata"),
                                       lambda: express_order_saga().replace(query_language="JSONata")],
                         ids=["standard", "express", "jsonata", "express-jsonata"])
def test_the_harness_payload_is_the_event_of_a_real_run_for_every_handler(make_saga):
    saga = make_saga()
    seen: set[str] = set()
    with EmbeddedCloud(saga, seed=default_seed(saga, INPUTS), root=ROOT) as cloud:
        env = HandlerEnvironment(saga, cloud)
        for order, faults in ((ORDER, {}), ({**ORDER, "order_id": "ord-2"}, {"ReserveInventory": CrashAfter()})):
            result = cloud.run(order, faults)
            states = scheduled_states(result, saga)
            listed = cloud.client("stepfunctions").list_executions(stateMachineArn=cloud.state_machine_arn)["executions"]
            [arn] = [e["executionArn"] for e in listed if e["name"] == result.execution]
            assert [s for s, _, _ in states] == [c.state for c in result.calls]
            for call, (state, outputs, error) in zip(result.calls, states):
                payload = env.payload(state, order, results=outputs, error=error, execution=result.execution, execution_id=arn)
                assert payload == call.event, state
                if saga.workflow_type == "STANDARD":  # the ARN as the harness derives it
                    assert env.execution_id(result.execution) == arn
                seen.add(state)
    assert seen == set(saga.handlers())  # every step and every compensation


def test_call_runs_the_real_handler_against_the_clouds_tables(order_saga, order_cloud):
    env = HandlerEnvironment(order_saga, order_cloud)
    validated = env.call("ValidateOrder", ORDER, execution="unit-1")
    assert validated["status"] == "PENDING"
    charged = env.call("ProcessPayment", ORDER, results={"ValidateOrder": validated}, execution="unit-1")
    assert charged["status"] == "CHARGED"
    [payment] = assert_items(order_cloud, "payments", lambda item: item["order_id"] == ORDER["order_id"], count=1)
    assert payment["status"] == "CHARGED"
    refunded = env.call("RefundPayment", ORDER, results={"ValidateOrder": validated, "ProcessPayment": charged},
                        error={"Error": "OutOfStock", "Cause": "no stock"}, execution="unit-1")
    assert refunded["status"] == "REFUNDED"
    assert_items(order_cloud, "payments", lambda item: item["status"] == "REFUNDED", count=1)


def test_a_payload_key_renamed_by_the_compiler_fails_the_handlers_call(order_saga, order_cloud):
    asl = json.loads(to_asl(order_saga))
    payload = asl["States"]["ValidateOrder"]["Parameters"]["Payload"]
    payload["order.$"] = payload.pop("input.$")  # the compiler's model drifts from the handlers'
    drifted = HandlerEnvironment(order_saga, order_cloud, asl=json.dumps(asl))
    assert "input" not in drifted.payload("ValidateOrder", ORDER)
    with pytest.raises(Exception, match="InvalidOrder|order") as raised:
        drifted.call("ValidateOrder", ORDER)
    assert type(raised.value).__name__ == "InvalidOrder"
    assert order_cloud.items("orders") == []
    # the same call through the real compiled ASL succeeds: the failure above is the drift's
    assert HandlerEnvironment(order_saga, order_cloud).call("ValidateOrder", ORDER)["status"] == "PENDING"


def test_a_handler_requiring_a_field_the_compiler_does_not_send_fails(tmp_path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "strict.py").write_text(textwrap.dedent('''
        def handler(event, context):
            return {"tenant": event["tenant"], "key": event["idempotency_key"], "left_ms": context.get_remaining_time_in_millis()}
    '''))
    (tmp_path / "tasks" / "lenient.py").write_text(textwrap.dedent('''
        def handler(event, context):
            return {"key": event["idempotency_key"], "function": context.function_name}
    '''))
    saga = Saga("TenantSaga", steps=[Step("Lenient", action="tasks.lenient.handler"), Step("Strict", action="tasks.strict.handler")])
    env = HandlerEnvironment(saga, root=tmp_path)
    assert env.call("Lenient", {"trip": "t-1"}, execution="run-7") == {"key": "run-7:Lenient", "function": "TenantSaga-Lenient"}
    with pytest.raises(KeyError, match="tenant"):
        env.call("Strict", {"trip": "t-1"}, results={"Lenient": {"key": "run-7:Lenient"}}, execution="run-7")


def test_a_compensation_without_the_error_it_undoes_is_refused_loudly(order_saga):
    env = HandlerEnvironment(order_saga)
    with pytest.raises(EvaluationError, match=r"state RefundPayment.*'\$\.error'.*pass error="):
        env.payload("RefundPayment", ORDER)
    with pytest.raises(KeyError, match="no step or compensation 'Refund'"):
        env.payload("Refund", ORDER)
    with pytest.raises(KeyError, match="results: saga OrderSaga has no step 'RefundPayment'"):
        env.payload("CancelOrder", ORDER, results={"RefundPayment": {}}, error={"Error": "E", "Cause": "C"})
