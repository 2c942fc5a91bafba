"""The choreography plan: event names, routing equal to the compiled ASL's, and the retriers a consumer applies."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepsaga import Compensation, DefinitionError, Retry, Saga, SagaEvents, Step, StepEvents, Table
from stepsaga.choreography import naming
from stepsaga.choreography.config import consumer_config
from stepsaga.choreography.plan import COMPENSATED, STEP_FAILED, STEP_SUCCEEDED, event_names, plan
from stepsaga.choreography.retry import matches, next_wait
from stepsaga.orchestration import compile_saga
from workflows.order_saga import saga as order_saga


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "succeeded", "failed"), [
    ("ValidateOrder", "OrderValidated", "OrderFailed"),
    ("ProcessPayment", "PaymentProcessed", "PaymentFailed"),
    ("ReserveInventory", "InventoryReserved", "InventoryFailed"),
    ("SendNotification", "NotificationSent", "NotificationFailed"),
    ("PayInvoice", "InvoicePaid", "InvoiceFailed"),
    ("ShipParcel", "ParcelShipped", "ParcelFailed"),
    ("NotifyCustomer", "CustomerNotified", "CustomerFailed"),
    ("Charge", "Charged", "ChargeFailed"),
    ("FraudCheck", "FraudCheckSucceeded", "FraudCheckFailed"),
    ("BookHotel2", "Hotel2Booked", "Hotel2Failed"),
    ("Pay2", "Pay2Succeeded", "Pay2Failed"),
])
def test_a_step_names_its_events_in_the_past_tense(step, succeeded, failed):
    assert (naming.succeeded_event(step), naming.failed_event(step)) == (succeeded, failed)


@pytest.mark.parametrize(("compensation", "done"), [
    ("RefundPayment", "PaymentRefunded"), ("CancelOrder", "OrderCancelled"), ("ReleaseInventory", "InventoryReleased"),
    ("UndoAlpha", "AlphaUndone"), ("Rollback", "RollbackDone"), ("Undo1", "Undo1Done"),
])
def test_a_compensation_names_its_done_event_in_the_past_tense(compensation, done):
    assert naming.done_event(compensation) == done


def test_the_reference_saga_has_the_issue_s_event_names():
    names = [e.name for e in plan(order_saga).events]
    for expected in ("OrderValidated", "PaymentProcessed", "PaymentFailed", "PaymentRefunded", "OrderSagaCompleted",
                     "OrderSagaStarted", "OrderSagaAborted", "OrderSagaCompensationFailed"):
        assert expected in names
    assert len(names) == len(set(names)) == 1 + 2 * 4 + 3 + 3


def test_every_event_can_be_renamed_and_its_source_chosen():
    saga = order_saga.replace(
        steps=[s.replace(events=StepEvents(succeeded="PaymentCaptured", failed="PaymentRejected", source="shop.payments"),
                         compensation=s.compensation.replace(done_event="PaymentReturned")) if s.name == "ProcessPayment" else s
               for s in order_saga.steps],
        events=SagaEvents(source="shop.orders", started="OrderPlaced", completed="OrderFulfilled", aborted="OrderAbandoned",
                          compensation_failed="OrderNeedsRepair"),
    )
    p = plan(saga)
    assert (p.event_of(STEP_SUCCEEDED, "ProcessPayment").name, p.event_of(STEP_FAILED, "ProcessPayment").name) == ("PaymentCaptured", "PaymentRejected")
    assert p.event_of(COMPENSATED, "RefundPayment").name == "PaymentReturned"
    assert p.event("PaymentCaptured").source == p.event("PaymentReturned").source == "shop.payments"
    assert p.source == p.event("OrderFulfilled").source == "shop.orders"
    assert [e.name for e in p.events if e.state is None] == ["OrderPlaced", "OrderFulfilled", "OrderAbandoned", "OrderNeedsRepair"]
    # the rule of the step after reacts to the renamed event, from its source
    assert p.pattern(p.consumer("ReserveInventory")) == {"source": ["shop.payments"], "detail-type": ["PaymentCaptured"], "detail": {"saga": ["OrderSaga"]}}


def test_defaults_that_clash_fall_back_to_the_whole_step_name():
    saga = Saga("Pay", [Step("ProcessPayment", "tasks.a.h"), Step("CapturePayment", "tasks.b.h")])
    assert [n for n, *_ in event_names(saga)][1:5] == ["PaymentProcessed", "ProcessPaymentFailed", "PaymentCaptured", "CapturePaymentFailed"]


# --- routing: the plan against the compiled ASL ------------------------------------------------------


def _asl_routes(saga: Saga) -> dict[tuple[str, str], str | None]:
    """(failing step, "business" | "error") -> the first compensation the compiled ASL runs, or None."""
    states = compile_saga(saga).to_json()["States"]
    compensations = {s.compensation.name for s in saga.compensatable}  # type: ignore[union-attr]
    out = {}
    for step in saga.steps:
        if step.retriable:
            continue
        catches = states[step.name]["Catch"]
        target_of = lambda error: next(c["Next"] for c in catches if error in c["ErrorEquals"] or "States.ALL" in c["ErrorEquals"])  # noqa: E731
        for kind, error in (("business", step.business_errors[0] if step.business_errors else None), ("error", "Boom")):
            if error is None:
                continue
            target = target_of(error)
            out[(step.name, kind)] = target if target in compensations else None
    return out


def _plan_routes(saga: Saga) -> dict[tuple[str, str], str | None]:
    p = plan(saga)
    out = {}
    for step in saga.steps:
        if step.retriable:
            continue
        failed = p.event_of(STEP_FAILED, step.name).name
        for kind, flag in (("business", True), ("error", False)):
            if not step.business_errors and kind == "business":
                continue
            takers = [c.name for c in p.consumers if c.kind == "compensation"
                      and any(t.event == failed and t.business_error in (None, flag) for t in c.triggers)]
            assert len(takers) <= 1, f"{failed} ({kind}) starts two compensations: {takers}"
            out[(step.name, kind)] = takers[0] if takers else None
            consumer = p.consumer(step.name)
            # nothing to undo: the failing step ends the saga itself
            assert (takers == []) == (kind in consumer.aborts)
    return out


_names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]


@st.composite
def _sagas(draw):
    count = draw(st.integers(1, 6))
    tail = draw(st.booleans())
    steps = []
    for i, name in enumerate(_names[:count]):
        retriable = tail and i == count - 1 and count > 1
        comp = Compensation(f"Undo{name}", "tasks.undo.h") if not retriable and draw(st.booleans()) else None
        business = [f"{name}Rejected"] if not retriable and draw(st.booleans()) else []
        steps.append(Step(name, "tasks.step.h", compensation=comp, business_errors=business, retriable=retriable))
    return Saga("Generated", steps)


@settings(max_examples=150, deadline=None)
@given(_sagas())
def test_each_failure_starts_the_compensation_the_compiled_asl_starts(saga):
    assert _plan_routes(saga) == _asl_routes(saga)


@settings(max_examples=100, deadline=None)
@given(_sagas())
def test_compensations_follow_each_other_in_the_reverse_order_of_the_steps(saga):
    p = plan(saga)
    chain = [s.compensation.name for s in reversed(saga.compensatable)]
    for earlier, later in zip(chain[1:], chain):
        done = p.event_of(COMPENSATED, later).name
        assert [c.name for c in p.reactions(done) if c.kind == "compensation"] == [earlier]
    if chain:
        assert p.consumer(chain[-1]).on_success[-1] == f"{saga.name}Aborted"
        assert all(c.pending == tuple(chain[chain.index(c.name):]) for c in p.consumers if c.kind == "compensation")
    # the saga log reacts to every event, and only the log filters on no detail-type
    log = p.consumer("SagaLog")
    assert {t.event for t in log.triggers} == {e.name for e in p.events}
    assert "detail-type" not in p.pattern(log)


def test_the_order_saga_s_routing_pattern_filters_on_the_kind_of_error():
    p = plan(order_saga)
    assert p.pattern(p.consumer("RefundPayment")) == {
        "source": ["stepsaga.order_saga"],
        "detail": {"saga": ["OrderSaga"]},
        "$or": [
            {"detail-type": ["InventoryReleased"]},
            {"detail-type": ["PaymentFailed"], "detail": {"business_error": [False]}},
            {"detail-type": ["InventoryFailed"], "detail": {"business_error": [True]}},
        ],
    }


def test_every_generated_pattern_is_one_putrule_accepts():
    from stepsaga.choreography.pattern import validate

    p = plan(order_saga)
    for consumer in p.consumers:
        assert validate(p.pattern(consumer)) == [], consumer.name


# --- the retriers a consumer applies ----------------------------------------------------------------


def test_the_consumer_applies_the_orchestration_s_own_retriers():
    p = plan(order_saga)
    config = consumer_config(p, p.consumer("ProcessPayment"))
    compiled = compile_saga(order_saga).to_json()["States"]["ProcessPayment"]["Retry"]
    assert config["retry"] == compiled
    assert json.loads(json.dumps(config)) == config  # the environment variable holds it as JSON


@pytest.mark.parametrize(("errors", "error", "expected"), [
    (["States.ALL"], "Boom", True),
    (["States.ALL"], "States.Timeout", True),
    (["States.ALL"], "States.DataLimitExceeded", False),
    (["States.ALL"], "States.Runtime", False),
    (["States.DataLimitExceeded"], "States.DataLimitExceeded", True),
    (["States.TaskFailed"], "Sandbox.Timedout", True),
    (["States.TaskFailed"], "States.Timeout", False),
    (["States.Timeout"], "States.Timeout", True),
    (["Flaky"], "Flakey", False),
])
def test_an_error_meets_a_retrier_as_in_step_functions(errors, error, expected):
    assert matches(errors, error) is expected


def test_the_first_matching_retrier_decides_and_counts_its_own_retries():
    retriers = [
        {"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 3.0},
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0, "MaxDelaySeconds": 3},
    ]
    counts = [0, 0]
    assert [next_wait(retriers, counts, "Flaky"), next_wait(retriers, counts, "Flaky")] == [2.0, 6.0]
    # spent: the step fails, though States.ALL below would still retry
    assert next_wait(retriers, counts, "Flaky") is None
    assert [next_wait(retriers, counts, "Boom") for _ in range(3)] == [1.0, 2.0, 3.0]  # capped by MaxDelaySeconds
    assert counts == [2, 3]


def test_full_jitter_waits_at_most_the_backoff():
    rng = random.Random(7)
    waits = [next_wait([{"ErrorEquals": ["X"], "IntervalSeconds": 10, "MaxAttempts": 1, "JitterStrategy": "FULL"}], [0], "X", rng) for _ in range(50)]
    assert all(0 <= w <= 10 for w in waits) and len(set(waits)) > 40


def test_a_business_error_is_never_retried_by_a_wildcard():
    saga = order_saga.replace(steps=[s.replace(retry=[Retry(["States.ALL"])]) if s.name == "ProcessPayment" else s for s in order_saga.steps])
    config = consumer_config(plan(saga), plan(saga).consumer("ProcessPayment"))
    assert next_wait(config["retry"], [0] * len(config["retry"]), "PaymentDeclined") is None
    assert next_wait(config["retry"], [0] * len(config["retry"]), "Boom") is not None


# --- definitions a choreography rejects ------------------------------------------------------------

V = Step("ValidateOrder", "tasks.validate_order.handler", compensation=Compensation("CancelOrder", "compensations.cancel_order.handler"), business_errors=["InvalidOrder"])
P = Step("ProcessPayment", "tasks.process_payment.handler", compensation=Compensation("RefundPayment", "compensations.refund_payment.handler"))
N = Step("SendNotification", "tasks.send_notification.handler", retriable=True)

CHOREOGRAPHY_DEFINITIONS = [
    pytest.param(
        lambda: Saga("OrderSaga", [V, P.replace(events=StepEvents(succeeded="Payment processed")), N]),
        "saga OrderSaga, step ProcessPayment: events.succeeded is 'Payment processed', but an event name is letters and digits starting with a letter, at most 64 characters (it is the EventBridge detail-type, the schema's name and part of resource names); write a past-tense PascalCase name such as 'PaymentProcessed'",
        id="event_name",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, P.replace(events=StepEvents(failed="OrderValidated")), N]),
        "saga OrderSaga, step ProcessPayment: events.failed is 'OrderValidated', already the name of the success event of ValidateOrder; give every event of the saga its own name",
        id="event_clash",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, P.replace(compensation=Compensation("RefundPayment", "compensations.refund_payment.handler", done_event="OrderSagaCompleted")), N]),
        "saga OrderSaga, step ProcessPayment: compensation.done_event is 'OrderSagaCompleted', already the name of the saga's completed event; give every event of the saga its own name",
        id="done_event_clash",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, P.replace(events=StepEvents(source="aws.payments")), N]),
        "saga OrderSaga, step ProcessPayment: events.source is 'aws.payments', but sources starting with 'aws.' are AWS's own; write a source of your own, such as 'payments'",
        id="aws_source",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, P, N], events=SagaEvents(source="shop orders")),
        "saga OrderSaga: events.source is 'shop orders', but an EventBridge source is 1 to 256 printable characters without spaces, naming the bounded context that emits the event; write a source such as 'shop.payments'",
        id="bad_source",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, P.replace(name="SagaLog"), N]),
        "saga OrderSaga, step SagaLog: name is 'SagaLog', the name of a consumer the choreography adds itself; write another name, such as 'SagaLogStep'",
        id="reserved_consumer",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, P.replace(retry=[Retry(["X"], interval_seconds=3600, max_attempts=5)]), N], mode="choreography"),
        "saga OrderSaga, step ProcessPayment: retry waits up to 57,600 s before a retry of X, but in a choreography a retry waits in SQS as the message's visibility timeout, at most 43200 s (12 hours); write max_delay_seconds=43200 or less, or fewer max_attempts",
        id="visibility_limit",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, P.replace(retry=[Retry(["X"], max_attempts=995, max_delay_seconds=60)]), N], mode="both"),
        "saga OrderSaga, step ProcessPayment: retry allows 999 attempts, but a choreography's queue dead-letters a message after at most 1000 receives (10 kept for deliveries that are not attempts); lower max_attempts to 989 in all",
        id="receive_count",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, P.replace(timeout_seconds=1000), N], mode="choreography"),
        "saga OrderSaga, step ProcessPayment: timeout_seconds gives the handler 900 s, but in a choreography it runs inside its consumer Lambda with 10 s more to record the attempt, and a Lambda runs at most 900 s; write timeout_seconds=901 or less (set task_timeout_seconds on the saga for every step)",
        id="lambda_limit",
    ),
]


@pytest.mark.parametrize(("build", "message"), CHOREOGRAPHY_DEFINITIONS)
def test_a_definition_a_choreography_cannot_hold_is_rejected(build, message):
    with pytest.raises(DefinitionError) as caught:
        build()
    assert str(caught.value) == message


def test_the_deploy_limits_apply_only_where_a_choreography_deploys():
    long = P.replace(timeout_seconds=1000)
    Saga("OrderSaga", [V, long, N])  # an orchestration may wait longer than a Lambda runs
    with pytest.raises(DefinitionError):
        Saga("OrderSaga", [V, long, N], mode="both")
    Saga("OrderSaga", [V, P.replace(timeout_seconds=901), N], mode="choreography")  # the largest that fits


def test_the_table_reaches_every_problem_the_choreography_reports():
    import ast
    import inspect

    from stepsaga.choreography import validate

    source = inspect.getsource(validate)
    sites = {node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Problem"}
    messages = [p.values[1] for p in CHOREOGRAPHY_DEFINITIONS]
    reached = set()
    for line in sites:
        text = source.splitlines()[line - 1 : line + 4]
        fragment = next((t for t in ("an event name is", "already the name of", "AWS's own", "printable characters",
                                     "a consumer the choreography adds", "visibility timeout", "receives",
                                     "a Lambda runs at most", "environment variables") if any(t in x for x in text)), None)
        assert fragment is not None, f"validate.py line {line}: a Problem this test does not know; add a row and a fragment"
        if any(fragment in m for m in messages):
            reached.add(line)
    # the environment-size rule needs a saga too large to write here by hand: it is checked below
    missed = {line for line in sites - reached if "environment variables" not in "".join(source.splitlines()[line - 1 : line + 4])}
    assert not missed, f"no row reaches validate.py lines {sorted(missed)}"


def test_a_consumer_configuration_past_lambda_s_environment_is_rejected():
    errors = [f"Error{i:04d}WithAVeryLongNameIndeed" for i in range(120)]
    big = P.replace(retry=[Retry(errors[i * 10 : i * 10 + 10], max_attempts=1) for i in range(12)])
    with pytest.raises(DefinitionError, match=r"gives the consumer ProcessPayment a configuration of \d+ bytes, more than the 3072 bytes"):
        Saga("OrderSaga", [V, big, N], mode="choreography", tables=[Table("orders", "order_id")])


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[A-Z][a-z]{0,8}([A-Z][a-z0-9]{0,8}){0,4}", fullmatch=True), st.from_regex(r"[A-Z][A-Za-z0-9]{0,63}", fullmatch=True))
def test_every_default_name_is_a_detail_type_eventbridge_takes(step, saga_name):
    import re as _re

    from stepsaga.choreography.limits import MAX_DETAIL_TYPE_LENGTH

    for name in (naming.succeeded_event(step), naming.failed_event(step), naming.done_event(step), naming.saga_event(saga_name, "CompensationFailed")):
        assert _re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name) and len(name) <= MAX_DETAIL_TYPE_LENGTH, name
