"""The signature property: the same saga with the same faults ends the same as an orchestration and as a choreography.

Hypothesis generates sagas (2 to 8 steps, a random subset compensatable, random business errors and retriers,
one retriable tail step or none), whose generated handlers (``equivalence_app/effects``) record their effects in
moto DynamoDB, and random fault plans: handler faults for both modes, and for the choreography also duplicated,
delayed and reordered deliveries, which must change nothing. Each example runs both modes with the same saga id
and asserts the same final status and error, the same completed steps, the same compensations in the same
order, the same final table (effects, undos, and the number of calls of every handler: no double effect), the
same number of handler calls per state, and the same dead-letter records by saga and step.
"""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepsaga import Compensation, Retry, Saga, Step, Table
from stepsaga.local import CrashAfter, EmbeddedCloud, Exit, Fail, Timeout
from stepsaga.local.faults import Delay, Duplicate, Reorder

APP = Path(__file__).resolve().parent / "equivalence_app"
NAMES = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel"]
EXAMPLES = int(__import__("os").environ.get("STEPSAGA_EQUIVALENCE_EXAMPLES", "200"))

_retrier = st.builds(
    Retry,
    st.sampled_from([["Flaky"], ["Flaky", "Boom"], ["States.TaskFailed"], ["Runtime.ExitError"], ["States.Timeout"]]),
    interval_seconds=st.integers(1, 5),
    max_attempts=st.integers(0, 3),
    backoff_rate=st.sampled_from([1.0, 1.5, 2.0]),
    max_delay_seconds=st.none() | st.integers(1, 10),
    jitter=st.sampled_from([None, "FULL", "NONE"]),
)
_wildcard = st.builds(Retry, st.just(["States.ALL"]), interval_seconds=st.integers(1, 3), max_attempts=st.integers(0, 3), jitter=st.sampled_from([None, "FULL"]))


@st.composite
def sagas(draw: Any) -> Saga:
    """A saga of 2 to 8 steps on the effects app."""
    count = draw(st.integers(2, 8))
    tail = draw(st.booleans())
    steps = []
    for index, name in enumerate(NAMES[:count]):
        retriable = tail and index == count - 1
        retry = draw(st.lists(_retrier, max_size=2)) + draw(st.lists(_wildcard, max_size=1))
        business = [] if retriable or not draw(st.booleans()) else [f"{name}Rejected"]
        if any(e in business for r in retry for e in r.errors):
            business = []
        compensation = None
        if not retriable and draw(st.booleans()):
            own = draw(st.none() | st.lists(st.one_of(_retrier, _wildcard), min_size=1, max_size=1))
            compensation = Compensation(f"Undo{name}", "effects.undo.handler", retry=own, tables=["effects"])
        steps.append(Step(name, "effects.step.handler", compensation=compensation, business_errors=business,
                          retry=retry, retriable=retriable, tables=["effects"]))
    return Saga("EquivalenceSaga", steps, tables=[Table("effects", partition_key="pk")], task_timeout_seconds=30)


def _handler_fault(saga: Saga, state: str) -> Any:
    step = next((s for s in saga.steps if s.name == state), None)
    choices = [
        st.builds(Fail, st.just("Flaky"), attempts=st.integers(1, 4)),
        st.just(Fail("Boom")),
        st.builds(Timeout, attempts=st.none() | st.integers(1, 2)),
        st.just(CrashAfter()),
        st.just(CrashAfter("Flaky")),
        st.just(Exit(attempts=1)),
    ]
    if step is not None and step.business_errors:
        choices.append(st.just(Fail(step.business_errors[0])))
    return st.one_of(choices)


_delivery = st.one_of(st.builds(Duplicate, st.integers(1, 2)), st.builds(Delay, st.integers(1, 600)), st.just(Reorder()))


@st.composite
def examples(draw: Any) -> tuple[Saga, dict[str, Any], dict[str, Any]]:
    """(saga, handler faults, delivery faults): at most three handler faults, some deliveries disturbed."""
    saga = draw(sagas())
    states = list(saga.handlers())
    faulty = draw(st.lists(st.sampled_from(states), max_size=3, unique=True))
    faults = {state: draw(_handler_fault(saga, state)) for state in faulty}
    consumers = states + ["SagaLog"]
    disturbed = draw(st.lists(st.sampled_from(consumers), max_size=3, unique=True))
    return saga, faults, {state: draw(_delivery) for state in disturbed}


def outcome(result: Any, cloud: EmbeddedCloud) -> dict[str, Any]:
    """What must be the same in both modes."""
    rows = sorted(cloud.items("effects"), key=lambda r: r["pk"])
    return {
        "status": result.status,
        "error": result.error,
        "steps done": sorted(s.name for s in result.states if s.kind == "step" and s.succeeded),
        "compensations": result.compensations,
        "compensations failed": result.compensations_failed,
        "compensations pending": result.compensations_pending,
        "table": rows,
        "calls": Counter(c.state for c in result.calls),
        "dead letters": sorted((r["kind"], r["saga"], r["saga_id"], r.get("step") or r.get("failed_compensation")) for r in result.dlq),
    }


def both(saga: Saga, faults: dict[str, Any], delivery: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Any, Any]:
    saga_id = f"equivalence-{uuid.uuid4().hex[:12]}"
    with EmbeddedCloud(saga, root=APP) as orchestration:
        by_state = orchestration.run({"order": 1}, faults, name=saga_id, allow_contract_violations=True)
        first = outcome(by_state, orchestration)
    combined = {state: [f for f in (faults.get(state), delivery.get(state)) if f is not None] for state in {*faults, *delivery}}
    with EmbeddedCloud(saga, root=APP, mode="choreography") as choreography:
        by_event = choreography.run({"order": 1}, combined, name=saga_id, allow_contract_violations=True)
        second = outcome(by_event, choreography)
    return first, second, by_state, by_event


@pytest.fixture(scope="module", autouse=True)
def one_moto() -> Any:
    """One moto for the module: each example's clouds nest in it (as in a user's own ``mock_aws()``), so moto
    does not start, stop and reset boto3's default session for every cloud."""
    from moto import mock_aws

    with mock_aws():
        yield


def _same_outcome(example: tuple[Saga, dict[str, Any], dict[str, Any]]) -> None:
    saga, faults, delivery = example
    first, second, by_state, by_event = both(saga, faults, delivery)
    assert second == first, (
        f"faults {faults}, deliveries {delivery}\n--- orchestration\n{by_state.timeline_text(160)}\n--- choreography\n{by_event.timeline_text(160)}"
    )


# The examples are drawn by PARTS tests of EXAMPLES // PARTS each (each its own random draw), so that a test
# run on several workers (pytest -n) shares them out; together they are EXAMPLES examples per run.
PARTS = 4
_PROPERTY = settings(max_examples=max(1, EXAMPLES // PARTS), deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])(given(examples())(_same_outcome))


def test_both_modes_reach_the_same_outcome_1() -> None:
    _PROPERTY()


def test_both_modes_reach_the_same_outcome_2() -> None:
    _PROPERTY()


def test_both_modes_reach_the_same_outcome_3() -> None:
    _PROPERTY()


def test_both_modes_reach_the_same_outcome_4() -> None:
    _PROPERTY()


def test_a_duplicated_delivery_calls_the_handler_once() -> None:
    # the property above with one fixed example, so that a broken ledger fails here by name
    saga = Saga("EquivalenceSaga", [
        Step("Alpha", "effects.step.handler", compensation=Compensation("UndoAlpha", "effects.undo.handler", tables=["effects"]), tables=["effects"]),
        Step("Bravo", "effects.step.handler", tables=["effects"]),
    ], tables=[Table("effects", partition_key="pk")], task_timeout_seconds=30)
    first, second, _, by_event = both(saga, {}, {"Bravo": Duplicate(2), "Alpha": Reorder(), "SagaLog": Duplicate(1)})
    assert second == first
    assert second["calls"] == Counter({"Alpha": 1, "Bravo": 1})
    assert [row["calls"] for row in second["table"]] == [1, 1]
    # the copies were delivered and skipped: three deliveries to Bravo's queue, one handler call
    assert by_event.status == "SUCCEEDED"


@pytest.mark.parametrize("fault", [Fail("Boom"), Timeout(), CrashAfter(), Exit(attempts=1)], ids=["error", "timeout", "crash", "exit"])
def test_a_failed_step_compensates_itself_in_both_modes(fault: Any) -> None:
    saga = Saga("EquivalenceSaga", [
        Step("Alpha", "effects.step.handler", compensation=Compensation("UndoAlpha", "effects.undo.handler", tables=["effects"]), tables=["effects"]),
        Step("Bravo", "effects.step.handler", compensation=Compensation("UndoBravo", "effects.undo.handler", tables=["effects"]),
             business_errors=["BravoRejected"], tables=["effects"]),
    ], tables=[Table("effects", partition_key="pk")], task_timeout_seconds=30)
    first, second, _, _ = both(saga, {"Bravo": fault}, {})
    assert second == first
    assert first["compensations"] == ["UndoBravo", "UndoAlpha"]
