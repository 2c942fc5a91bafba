"""JSONPath and JSONata compile the same saga: the same scenarios end the same way in both query languages.

A differential test on the embedded cloud with the real handlers: every fault of the failure matrix runs on the
order saga compiled in JSONPath and in JSONata, with one execution name, and must give the same status, error
and cause, the same states and attempts, the same compensations done, failed and pending, the same repair
records, the same rows in every table and the same saga data in the output. Then the JSONata machine on the
other engine paths (fidelity-only, and stock moto's threads under ``lambda_only``), and the choreography, which
has no ASL, unchanged by the query language.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from stepsaga.local import CrashAfter, Fail, Timeout, default_seed
from tests.functional.test_differential import MODE_SCENARIOS, assert_same, both_modes, plain, run_with
from tests.functional.test_failure_matrix import COMPENSATIONS, ORDER, action_faults, business_rows

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
LANGUAGES = ("JSONPath", "JSONata")


def jsonata(saga: Any) -> Any:
    return saga.replace(query_language="JSONata")


def outcome(result: Any, cloud: Any) -> dict[str, Any]:
    """What a run shows, with what differs between two clouds by design (ids, times, request ids) normalised."""
    output = json.loads(result.raw_output) if result.raw_output else None
    observed = {
        "status": result.status,
        "error": result.error,
        "cause": result.cause,
        "entered": result.entered,
        "attempts": [(s.name, [(a.number, a.outcome, a.error, a.injected) for a in s.attempts]) for s in result.states],
        "compensations": (result.compensations, result.compensations_failed, result.compensations_pending),
        # the record's execution ARN names the cloud's state machine, whose name is the cloud's own
        "dlq": [{k: v for k, v in r.items() if k != "execution_arn"} for r in result.dlq],
        "output": output and {k: output[k] for k in ("input", "results", "compensated")},
        "rows": business_rows(cloud),
    }
    return json.loads(plain(observed, cloud.id))


@pytest.fixture
def in_both_languages(order_saga, saga_cloud):
    """Run one scenario on the JSONPath and the JSONata machine with the same execution name; both outcomes."""

    def run(input: Any, faults: dict[str, Any]) -> dict[str, dict[str, Any]]:
        name = f"languages-{uuid.uuid4().hex[:10]}"
        out = {}
        for language in LANGUAGES:
            saga = order_saga.replace(query_language=language)
            cloud = saga_cloud(saga, seed=default_seed(saga, INPUTS), reuse=True)
            out[language] = outcome(cloud.run(input, faults, name=name), cloud)
        return out

    return run


@pytest.mark.parametrize(("step", "kind", "fault"), list(action_faults()), ids=lambda v: v if isinstance(v, str) else "")
def test_an_action_fault_ends_the_same_in_both_query_languages(in_both_languages, step, kind, fault):
    out = in_both_languages(ORDER, {step: fault})
    assert out["JSONata"] == out["JSONPath"]


@pytest.mark.parametrize("compensation", COMPENSATIONS)
@pytest.mark.parametrize("fault", [Fail("RefundGatewayDown"), Timeout(), CrashAfter()], ids=["error", "timeout", "crash"])
def test_a_compensation_fault_ends_the_same_in_both_query_languages(in_both_languages, compensation, fault):
    out = in_both_languages(ORDER, {"ReserveInventory": CrashAfter(), compensation: fault})
    assert out["JSONata"] == out["JSONPath"]
    if not isinstance(fault, CrashAfter):
        [record] = out["JSONata"]["dlq"]
        assert record["failed_compensation"] == compensation and record["compensations_pending"] == COMPENSATIONS[COMPENSATIONS.index(compensation):]


@pytest.mark.parametrize("file", ["order.json", "too_many.json", "invalid_order.json"])
def test_the_reference_inputs_end_the_same_in_both_query_languages(in_both_languages, file):
    out = in_both_languages(json.loads((INPUTS / file).read_text()), {})
    assert out["JSONata"] == out["JSONPath"]


@pytest.mark.parametrize("value", [[1, 2], [], "ord-1", 'a "quoted" string', None, 7, True])
def test_an_input_that_is_not_an_object_is_rejected_the_same_way(in_both_languages, value):
    out = in_both_languages(value, {})
    assert out["JSONata"] == out["JSONPath"]
    assert (out["JSONata"]["error"], out["JSONata"]["entered"]) == ("InvalidSagaInput", ["BeginSaga", "CheckSagaInput", "SagaInputRejected"])


def test_the_half_quota_bound_on_the_input_is_the_same(in_both_languages):
    # BeginSaga's output is the input and its JSON text in both: about twice the input.
    small = {**ORDER, "note": ""}
    overhead = len(json.dumps(small, separators=(",", ":")))
    fits = in_both_languages({**small, "note": "x" * (128 * 1024 - overhead - 400)}, {})
    too_big = in_both_languages({**small, "note": "x" * (128 * 1024 - overhead + 200)}, {})
    assert fits["JSONata"] == fits["JSONPath"] and fits["JSONata"]["status"] == "SUCCEEDED"
    assert too_big["JSONata"] == too_big["JSONPath"]
    assert (too_big["JSONata"]["error"], too_big["JSONata"]["entered"]) == ("States.DataLimitExceeded", ["BeginSaga"])


# --- the JSONata machine on every engine path ------------------------------------------------------


@pytest.mark.parametrize("scenario", ["happy", "declined", "crash_after_payment", "refund_fails_for_good",
                                      "notification_dead_lettered", "gateway_retried_with_jitter", "validate_timed_out"])
def test_jsonata_fast_and_fidelity_only_agree(scenario, order_saga):
    file, faults = MODE_SCENARIOS[scenario]
    assert_same(*both_modes(file, faults, f"jsonata-modes-{scenario}", jsonata(order_saga)))


@pytest.mark.parametrize("scenario", ["happy", "declined", "out_of_stock"])
def test_jsonata_on_stock_moto_threads_agrees_with_the_inline_run(scenario, order_saga):
    # engine="stock": moto's own threads, Lambda invokes dispatched under lambda_only, where the bridge is on too.
    file, faults = {"happy": ("order.json", None), "declined": ("order.json", {"ProcessPayment": Fail("PaymentDeclined")}),
                    "out_of_stock": ("too_many.json", None)}[scenario]
    stock, stock_tables = run_with("stock", file, faults, f"jsonata-stock-{scenario}", jsonata(order_saga))
    inline, inline_tables = run_with("inline", file, faults, f"jsonata-stock-{scenario}", jsonata(order_saga))
    assert (stock.status, stock.error, stock.entered, stock.compensations) == (inline.status, inline.error, inline.entered, inline.compensations)
    assert stock.status == ("SUCCEEDED" if scenario == "happy" else "FAILED")
    assert stock_tables.keys() == inline_tables.keys()


# --- the choreography has no ASL -------------------------------------------------------------------


def test_the_query_language_changes_nothing_in_the_choreography(order_saga):
    from stepsaga.choreography.document import to_choreography_json
    from stepsaga.choreography.schemas import schema_files
    from stepsaga.choreography.graph import mermaid
    from stepsaga.choreography.plan import plan

    assert to_choreography_json(jsonata(order_saga)) == to_choreography_json(order_saga)
    assert mermaid(plan(jsonata(order_saga))) == mermaid(plan(order_saga))
    assert schema_files(jsonata(order_saga)) == schema_files(order_saga)


def test_a_choreography_run_is_the_same_for_a_jsonata_saga(order_saga, saga_cloud):
    name = f"choreo-{uuid.uuid4().hex[:10]}"
    out = {}
    for saga in (order_saga, jsonata(order_saga)):
        cloud = saga_cloud(saga, seed=default_seed(saga, INPUTS), mode="choreography", reuse=True)
        out[saga.query_language] = outcome(cloud.run(ORDER, {"ReserveInventory": CrashAfter()}, name=name), cloud)
    assert out["JSONata"] == out["JSONPath"] and out["JSONata"]["status"] == "FAILED"


# --- the guards of the compiled ASL, in JSONata ----------------------------------------------------


@pytest.mark.parametrize(("file", "faults", "end"), [
    ("order.json", {"SendNotification": "SmtpUnavailable"}, ("RepairRecordNotSent", "StepRecordNotSent")),
    ("too_many.json", {"RefundPayment": "RefundGatewayDown"}, ("SagaCompensationFailed", "CompensationRecordNotSent")),
])
def test_a_repair_record_that_cannot_be_sent_is_the_cause_in_both_query_languages(order_saga, file, faults, end):
    from stepsaga.local import EmbeddedCloud

    name = f"unsent-{uuid.uuid4().hex[:10]}"
    out = {}
    for language in LANGUAGES:
        saga = order_saga.replace(query_language=language)
        with EmbeddedCloud(saga, seed=default_seed(saga, INPUTS), root=ROOT) as cloud:
            cloud.client("sqs").delete_queue(QueueUrl=cloud.queue_url)
            result = cloud.run(json.loads((INPUTS / file).read_text()), faults, name=name)
            out[language] = (outcome(result, cloud), json.loads(plain(json.loads(result.cause), cloud.id)))
    (jsonpath, jsonpath_record), (jsonata_, jsonata_record) = out["JSONPath"], out["JSONata"]
    assert (jsonata_["error"], jsonata_["entered"][-1]) == end
    assert {k: v for k, v in jsonata_.items() if k != "cause"} == {k: v for k, v in jsonpath.items() if k != "cause"}
    # the whole record is the Cause: the same record, but for the execution ARN, which names each cloud's machine
    assert {k: v for k, v in jsonata_record.items() if k != "execution_arn"} == {k: v for k, v in jsonpath_record.items() if k != "execution_arn"}
    assert jsonata_record["not_sent_because"]["Error"].startswith("SQS.")

