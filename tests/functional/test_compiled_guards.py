"""What the compiled ASL guarantees, run on the embedded cloud with the real handlers (issue 7: 1, 11, 12).

A business error is attempted once whatever the retriers; an input that is not a JSON object, or too big to
leave room for the results, is rejected before any step; an oversized step result is compensated; and a
repair record that cannot be sent ends the execution with the record as its Cause.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stepsaga import Compensation, Retry, Saga, Step
from stepsaga.local import EmbeddedCloud, Fail, default_seed
from stepsaga.testing import assert_compensated, assert_failed_with, assert_no_items, run
from tests.order_helpers import assert_nothing_charged

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
STATE_QUOTA = 256 * 1024  # https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
SMALL_RESULT = "def handler(event, context):\n    return {'ok': True}\n"


def load(name: str) -> dict:
    return json.loads((INPUTS / name).read_text())


def assert_nothing_happened(cloud: EmbeddedCloud) -> None:
    for table in ("orders", "payments"):
        assert_no_items(cloud, table)
    assert_no_items(cloud, "inventory", lambda item: item["pk"].startswith("RESERVATION#"))


# --- 1. a business error is never retried -----------------------------------------------------------


def test_a_business_error_is_attempted_once_under_a_states_all_retrier_then_routed(order_saga):
    # The issue's example, on the order saga: ReserveInventory retries States.ALL twice, and its real handler
    # raises OutOfStock for too_many.json. One attempt, then the Catch routes it past its own compensation.
    eager = [Retry(["States.ALL"], interval_seconds=1, max_attempts=2)]
    saga = order_saga.replace(steps=[s.replace(retry=eager) if s.name == "ReserveInventory" else s for s in order_saga.steps])
    result = run(saga, load("too_many.json"), seed=default_seed(saga, INPUTS), root=ROOT)
    assert_failed_with(result, "OutOfStock")
    assert len(result.state("ReserveInventory").attempts) == 1
    assert_compensated(result, "RefundPayment", "CancelOrder")


NO_ROOMS = "class NoRooms(Exception):\n    pass\n\n\ndef handler(event, context):\n    raise NoRooms('no rooms left')\n"


def test_the_issues_example_no_rooms_is_attempted_once_then_caught_and_routed(tmp_path):
    (tmp_path / "trip_app").mkdir()
    for module, body in (("flight", SMALL_RESULT), ("hotel", NO_ROOMS), ("undo", SMALL_RESULT)):
        (tmp_path / "trip_app" / f"{module}.py").write_text(body)
    saga = Saga("TripSaga", [
        Step("BookFlight", "trip_app.flight.handler", compensation=Compensation("CancelFlight", "trip_app.undo.handler")),
        Step(
            "BookHotel", "trip_app.hotel.handler",
            retry=[Retry(["States.ALL"], interval_seconds=1, max_attempts=2)],
            business_errors=["NoRooms"],
            compensation=Compensation("CancelHotel", "trip_app.undo.handler"),
        ),
    ])
    result = run(saga, {"trip": "t-1"}, root=tmp_path)
    assert_failed_with(result, "NoRooms")
    assert len(result.state("BookHotel").attempts) == 1
    assert result.virtual_seconds == 0.0  # no retry wait either
    assert_compensated(result, "CancelFlight")  # routed past its own compensation


def test_other_errors_still_get_the_wildcard_retries(order_saga):
    eager = [Retry(["States.TaskFailed"], interval_seconds=1, max_attempts=2)]
    saga = order_saga.replace(steps=[s.replace(retry=eager) if s.name == "ProcessPayment" else s for s in order_saga.steps])
    result = run(saga, load("order.json"), {"ProcessPayment": Fail("GatewayBusy", attempts=2)}, seed=default_seed(saga, INPUTS), root=ROOT)
    assert result.succeeded
    assert len(result.state("ProcessPayment").attempts) == 3
    declined = run(saga, load("order.json"), {"ProcessPayment": "PaymentDeclined"}, seed=default_seed(saga, INPUTS), root=ROOT)
    assert_failed_with(declined, "PaymentDeclined")
    assert len(declined.state("ProcessPayment").attempts) == 1


# --- 12. input that is not a JSON object ------------------------------------------------------------


@pytest.mark.parametrize("value", [[1, 2, 3], [], "ord-1", "{not an object}", None, 42, 1.5, True])
def test_an_input_that_is_not_a_json_object_fails_before_any_step(order_cloud, value):
    result = order_cloud.run(value)
    assert_failed_with(result, "InvalidSagaInput")
    assert result.entered == ["BeginSaga", "CheckSagaInput", "SagaInputRejected"]
    assert result.steps == [] and result.compensations == [] and result.dlq == []
    assert_nothing_happened(order_cloud)


# --- 11. the state document outgrowing the quota ---------------------------------------------------


def test_an_input_too_big_to_leave_room_for_the_results_is_rejected_before_any_side_effect(order_cloud):
    # The issue's example: with this note the run used to end States.DataLimitExceeded after the payment,
    # with the card CHARGED and the stock HELD.
    order = {**load("order.json"), "note": "x" * 261200}
    result = order_cloud.run(order)
    assert_failed_with(result, "States.DataLimitExceeded")
    assert result.entered == ["BeginSaga"]
    assert "'BeginSaga'" in result.cause
    assert_nothing_happened(order_cloud)


def test_an_input_of_half_the_quota_is_the_bound(order_cloud):
    # BeginSaga holds the input and its JSON text: about twice the input, so the bound is half the quota.
    small = {**load("order.json"), "note": ""}
    overhead = len(json.dumps(small, separators=(",", ":")))
    fits = order_cloud.run({**small, "order_id": "ord-fits", "note": "x" * (STATE_QUOTA // 2 - overhead - 400)})
    assert fits.succeeded, fits.cause
    too_big = order_cloud.run({**small, "order_id": "ord-big", "note": "x" * (STATE_QUOTA // 2 - overhead + 200)})
    assert_failed_with(too_big, "States.DataLimitExceeded")
    assert too_big.entered == ["BeginSaga"]


BIG_RESULT = "def handler(event, context):\n    return {'blob': 'x' * 300_000}\n"


@pytest.mark.parametrize("language", ["JSONPath", "JSONata"])
def test_a_step_result_over_the_quota_is_caught_and_compensated_with_its_own_step(tmp_path, language):
    # AWS: a Lambda result over the quota fails the Task with States.DataLimitExceeded, which States.ALL does
    # not catch; the compiler names it, and the step ran, so its own compensation runs too.
    (tmp_path / "big_app").mkdir()
    for module, body in (("reserve", SMALL_RESULT), ("export", BIG_RESULT), ("undo", SMALL_RESULT)):
        (tmp_path / "big_app" / f"{module}.py").write_text(body)
    saga = Saga("ExportSaga", [
        Step("Reserve", "big_app.reserve.handler", compensation=Compensation("Release", "big_app.undo.handler")),
        Step("Export", "big_app.export.handler", compensation=Compensation("Unexport", "big_app.undo.handler")),
    ], query_language=language)
    result = run(saga, {"id": "e-1"}, root=tmp_path)
    assert_failed_with(result, "States.DataLimitExceeded")
    assert_compensated(result, "Unexport", "Release")
    assert len(result.state("Export").attempts) == 1


# --- 11. a repair record that cannot be sent --------------------------------------------------------


def _delete_queue(cloud: EmbeddedCloud) -> None:
    cloud.client("sqs").delete_queue(QueueUrl=cloud.queue_url)


def test_an_unsendable_step_record_fails_the_execution_with_the_record_as_cause(order_saga):
    with EmbeddedCloud(order_saga, seed=default_seed(order_saga, INPUTS), root=ROOT) as cloud:
        _delete_queue(cloud)
        result = cloud.run(load("order.json"), {"SendNotification": "SmtpUnavailable"})
    assert_failed_with(result, "RepairRecordNotSent")
    assert result.entered[-3:] == ["SendNotificationDeadLetter", "SendNotificationRepairRecord", "StepRecordNotSent"]
    record = json.loads(result.cause)
    assert (record["kind"], record["step"], record["saga"]) == ("StepFailed", "SendNotification", "OrderSaga")
    assert record["error"]["Error"] == "SmtpUnavailable"
    assert record["input"] == load("order.json") and "ProcessPayment" in record["results"]
    assert record["not_sent_because"]["Error"].startswith("SQS.")


def test_an_unsendable_compensation_record_ends_in_saga_compensation_failed_with_the_record(order_saga):
    with EmbeddedCloud(order_saga, seed=default_seed(order_saga, INPUTS), root=ROOT) as cloud:
        _delete_queue(cloud)
        result = cloud.run(load("too_many.json"), {"RefundPayment": "RefundGatewayDown"})
        charged = cloud.items("payments")
    assert_failed_with(result, "SagaCompensationFailed")
    assert result.entered[-2:] == ["RefundPaymentRepairRecord", "CompensationRecordNotSent"]
    record = json.loads(result.cause)
    assert (record["kind"], record["failed_compensation"]) == ("CompensationFailed", "RefundPayment")
    assert record["error"]["Error"] == "OutOfStock" and record["compensation_error"]["Error"] == "RefundGatewayDown"
    assert record["compensations_pending"] == ["RefundPayment", "CancelOrder"]
    assert record["results"]["ProcessPayment"]["output"]["amount"] == str(charged[0]["charged_amount"])
    # the history keeps the whole record too: it is the Fail state's input
    [entered] = [e for e in result.history if e.get("stateEnteredEventDetails", {}).get("name") == "CompensationRecordNotSent"]
    assert json.loads(entered["stateEnteredEventDetails"]["input"]) == record


def test_with_the_queue_in_place_the_record_is_sent_and_nothing_else_changes(order_cloud):
    result = order_cloud.run(load("too_many.json"), {"RefundPayment": "RefundGatewayDown"})
    assert_failed_with(result, "SagaCompensationFailed")
    assert result.entered[-2:] == ["RefundPaymentDeadLetter", "SagaCompensationFailed"]
    [record] = result.dlq
    assert record["failed_compensation"] == "RefundPayment" and "not_sent_because" not in record
    with pytest.raises(AssertionError):
        assert_nothing_charged(order_cloud)  # the refund failed: the record says so, and the charge is there
