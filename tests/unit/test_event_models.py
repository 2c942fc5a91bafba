"""The event models: each kind of event narrows the detail, each event of a saga fixes its names, and
validate_entry lets no malformed PutEvents entry leave."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from stepsaga import Compensation, Saga, Step
from stepsaga.choreography import events
from stepsaga.choreography.events import (
    DETAIL_BY_KIND,
    EventDetail,
    SagaError,
    SagaEventBridgeEvent,
    detail_model,
    event_id,
    event_models,
    put_events_entry,
    validate_entry,
)
from stepsaga.choreography.plan import SAGA_EVENT_KINDS, plan
from stepsaga.errors import EventValidationError, StepsagaError
from stepsaga.loader import load

ORDER = load("workflows/order_saga.py")[0]
PLAN = plan(ORDER)
SOURCE = "stepsaga.order_saga"
ERROR = {"Error": "PaymentDeclined", "Cause": "card declined"}


def detail(kind: str, **changes: object) -> dict:
    """A valid detail of a kind of event of the order saga, as JSON, with some fields changed."""
    base: dict = {"saga": "OrderSaga", "saga_id": "o-1", "correlation_id": "o-1", "causation_id": "e-0", "event_id": "e-1",
                  "seq": 2, "producer": "ProcessPayment", "input": {"order_id": "o-1"}, "time_ms": 1767225600000}
    base.update({
        "started": {"causation_id": None, "seq": 0, "producer": "SagaStart"},
        "step_succeeded": {"step": "ProcessPayment", "attempt": 1},
        "step_failed": {"step": "ProcessPayment", "attempt": 3, "error": ERROR, "business_error": True},
        "compensated": {"step": "RefundPayment", "attempt": 1, "error": ERROR},
        "completed": {},
        "aborted": {"error": ERROR},
        "compensation_failed": {"error": ERROR, "compensation_error": {"Error": "RefundGatewayDown"}},
    }[kind])
    base.update(changes)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()
EVENT_OF_KIND = {"started": "OrderSagaStarted", "step_succeeded": "PaymentProcessed", "step_failed": "PaymentFailed",
                 "compensated": "PaymentRefunded", "completed": "OrderSagaCompleted", "aborted": "OrderSagaAborted",
                 "compensation_failed": "OrderSagaCompensationFailed"}


def entry(name: str, data: dict, **changes: object) -> dict:
    out = {"Source": SOURCE, "DetailType": name, "Detail": json.dumps(data), "EventBusName": "orders-bus"}
    out.update(changes)
    return out


def test_every_kind_of_the_plan_has_a_detail_model_and_each_valid_detail_passes():
    assert set(DETAIL_BY_KIND) == {e.kind for e in PLAN.events} | set(SAGA_EVENT_KINDS)
    for kind, name in EVENT_OF_KIND.items():
        assert PLAN.event(name).kind == kind
        validate_entry(PLAN, entry(name, detail(kind)))
        assert issubclass(detail_model(PLAN, name), DETAIL_BY_KIND[kind]) and issubclass(DETAIL_BY_KIND[kind], EventDetail)


@pytest.mark.parametrize(
    ("kind", "changes", "field"),
    [
        ("started", {"causation_id": "e-0"}, "causation_id"),
        ("started", {"seq": 1}, "seq"),
        ("started", {"step": "ValidateOrder"}, "step"),
        ("started", {"error": ERROR}, "error"),
        ("step_succeeded", {"error": ERROR}, "error"),
        ("step_succeeded", {"business_error": False}, "business_error"),
        ("step_succeeded", {"causation_id": None}, "causation_id"),
        ("step_succeeded", {"seq": 0}, "seq"),
        ("step_succeeded", {"attempt": _DROP}, "attempt"),
        ("step_failed", {"error": _DROP}, "error"),
        ("step_failed", {"business_error": _DROP}, "business_error"),
        ("step_failed", {"business_error": None}, "business_error"),
        ("step_failed", {"compensation_error": ERROR}, "compensation_error"),
        ("compensated", {"error": None}, "error"),
        ("completed", {"compensation_error": ERROR}, "compensation_error"),
        ("aborted", {"error": _DROP}, "error"),
        ("compensation_failed", {"compensation_error": _DROP}, "compensation_error"),
        ("compensation_failed", {"error": None}, "error"),
    ],
)
def test_each_kind_narrows_the_detail(kind, changes, field):
    name = EVENT_OF_KIND[kind]
    with pytest.raises(EventValidationError) as caught:
        validate_entry(PLAN, entry(name, detail(kind, **changes)))
    assert caught.value.event == name
    assert [f for f, _ in caught.value.problems] == [f"detail.{field}"]


def test_a_retriable_last_step_may_complete_the_saga_with_its_error_kept():
    validate_entry(PLAN, entry("OrderSagaCompleted", detail("completed", error={"Error": "SmtpUnavailable"})))


def test_each_event_fixes_its_source_detail_type_saga_and_step():
    models = event_models(PLAN)
    assert list(models) == [e.name for e in PLAN.events]
    model = models["PaymentFailed"]
    assert model.__name__ == "PaymentFailed" and issubclass(model, SagaEventBridgeEvent)
    schema = model.model_json_schema(by_alias=True)
    assert schema["properties"]["source"]["const"] == SOURCE
    assert schema["properties"]["detail-type"]["const"] == "PaymentFailed"
    inner = schema["$defs"]["PaymentFailedDetail"]["properties"]
    assert inner["saga"]["const"] == "OrderSaga" and inner["step"]["const"] == "ProcessPayment"
    completed = models["OrderSagaCompleted"].model_json_schema(by_alias=True)["$defs"]["OrderSagaCompletedDetail"]["properties"]
    assert "const" not in json.dumps(completed["step"])  # the saga's own events are about no one state
    assert event_models(PLAN) is models  # built once per plan: validate_entry runs before every PutEvents
    for _ in range(40):
        event_models(plan(ORDER))
    assert len(events._MODELS) <= 32  # bounded, whatever the number of plans
    with pytest.raises(EventValidationError) as caught:
        validate_entry(PLAN, entry("PaymentFailed", detail("step_failed", step="ReserveInventory")))
    assert str(caught.value) == "saga OrderSaga: event PaymentFailed: detail.step is 'ReserveInventory': input should be 'ProcessPayment'"
    with pytest.raises(EventValidationError, match="detail.saga is 'TripSaga'"):
        validate_entry(PLAN, entry("PaymentFailed", detail("step_failed", saga="TripSaga")))


def test_a_delivered_event_parses_with_its_model_and_with_the_generic_one():
    body = {"version": "0", "id": "x", "source": SOURCE, "account": "123456789012", "time": "2026-01-01T00:00:00Z",
            "region": "eu-west-1", "resources": [], "detail-type": "PaymentFailed", "detail": detail("step_failed")}
    assert event_models(PLAN)["PaymentFailed"].model_validate(body).detail.business_error is True
    assert events.parse_delivery(json.dumps(body)).detail.error == SagaError(**ERROR)
    with pytest.raises(ValidationError):
        event_models(PLAN)["PaymentProcessed"].model_validate(body)


def test_an_entry_the_adapter_builds_passes():
    model = detail_model(PLAN, "PaymentFailed")
    built = model(**{**detail("step_failed"), "event_id": event_id("OrderSaga", "o-1", "PaymentFailed")})
    validate_entry(PLAN, put_events_entry("PaymentFailed", SOURCE, built, "orders-bus"))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (entry("PaymentFaild", detail("step_failed")),
         "saga OrderSaga: PutEvents entry: DetailType is 'PaymentFaild', not an event of the saga; did you mean 'PaymentFailed'?"),
        (entry("Nothing", {}),
         "saga OrderSaga: PutEvents entry: DetailType is 'Nothing', not an event of the saga; its events are OrderSagaStarted, "
         "OrderValidated, OrderFailed, PaymentProcessed, PaymentFailed, InventoryReserved, InventoryFailed, NotificationSent, "
         "NotificationFailed, InventoryReleased, PaymentRefunded, OrderCancelled, OrderSagaCompleted, OrderSagaAborted, OrderSagaCompensationFailed"),
        (entry("PaymentFailed", detail("step_failed"), Source="shop.payments"),
         "saga OrderSaga: event PaymentFailed: Source is 'shop.payments', but PaymentFailed is emitted with source 'stepsaga.order_saga'"),
        (entry("PaymentFailed", detail("step_failed"), Detail="{not json"),
         "saga OrderSaga: event PaymentFailed: Detail is not JSON (Expecting property name enclosed in double quotes at position 1)"),
        (entry("PaymentFailed", detail("step_failed"), Detail="[1]"),
         "saga OrderSaga: event PaymentFailed: Detail is JSON list, not the JSON text of an object"),
        (entry("PaymentFailed", detail("step_failed"), Detail={"saga": "OrderSaga"}),
         "saga OrderSaga: event PaymentFailed: Detail is dict, not the JSON text of an object"),
        (entry("PaymentFailed", detail("step_failed"), EventBusName=""),
         "saga OrderSaga: event PaymentFailed: EventBusName is '', not the name or ARN of an event bus"),
        (entry("PaymentFailed", detail("step_failed"), Bus="x"),
         "saga OrderSaga: event PaymentFailed: 'Bus' is not a key of a PutEvents entry (Time, Source, Resources, DetailType, Detail, EventBusName, TraceHeader)"),
        (entry("PaymentFailed", detail("step_failed", colour="red")),
         "saga OrderSaga: event PaymentFailed: detail.colour is not a field of the event"),
        (entry("PaymentFailed", detail("step_failed", business_error="yes")),
         "saga OrderSaga: event PaymentFailed: detail.business_error is 'yes': input should be a valid boolean"),
        (entry("PaymentFailed", detail("step_failed", error={"Cause": "x"})),
         "saga OrderSaga: event PaymentFailed: detail.error.Error is missing"),
        (["not", "a", "dict"], "saga OrderSaga: PutEvents entry: entry is list, not a PutEvents entry (a dict)"),
    ],
)
def test_a_malformed_entry_is_refused_naming_the_event_and_the_field(bad, message):
    with pytest.raises(EventValidationError) as caught:
        validate_entry(PLAN, bad)
    assert str(caught.value) == message


def test_every_wrong_field_is_listed_in_one_error():
    bad = entry("PaymentFailed", detail("step_failed", business_error=_DROP, seq=0), Source="x")
    with pytest.raises(EventValidationError) as caught:
        validate_entry(PLAN, bad)
    assert [f for f, _ in caught.value.problems] == ["Source", "detail.seq", "detail.business_error"]
    assert len(str(caught.value).splitlines()) == 3


def test_an_entry_past_put_events_256_kb_is_refused():
    big = detail("step_failed", input={"note": "x" * (256 * 1024)})
    with pytest.raises(EventValidationError, match=r"^saga OrderSaga: event PaymentFailed: Detail makes the entry 262\d{3} bytes, more than PutEvents' 262144$"):
        validate_entry(PLAN, entry("PaymentFailed", big))


def test_the_error_is_a_stepsaga_error_and_a_value_error():
    assert issubclass(EventValidationError, StepsagaError) and issubclass(EventValidationError, ValueError)
    assert EventValidationError.__module__ == "stepsaga.errors"
    assert len(EventValidationError.__doc__.strip().splitlines()) == 1


def test_a_saga_with_its_own_event_names_gets_models_of_those_names():
    saga = Saga("Trip", [Step("BookHotel", "tasks.book_hotel.handler",
                              compensation=Compensation("CancelHotel", "compensations.cancel_hotel.handler", done_event="HotelReleased")),
                         Step("ChargeCard", "tasks.charge_card.handler")])
    models = event_models(plan(saga))
    assert "HotelReleased" in models
    validate_entry(plan(saga), {"Source": "stepsaga.trip", "DetailType": "HotelReleased", "EventBusName": "b",
                                "Detail": json.dumps(detail("compensated", saga="Trip", step="CancelHotel"))})
