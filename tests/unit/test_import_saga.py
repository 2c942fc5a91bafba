"""Saga detection in `stepsaga import`: stepsaga's compiled sagas come back as the Saga DSL and recompile byte for
byte; ASL no Saga compiles to, and hand-written sagas, become the builder, saying why (issue 11.4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stepsaga import Compensation, DefinitionError, Retry, Saga, Step
from stepsaga.importer import default_name, import_asl
from stepsaga.importer.hand_written import saga_shape
from stepsaga.loader import load
from stepsaga.model import DEFAULT_TRANSIENT_RETRY
from stepsaga.orchestration import to_asl
from tests.asl_helpers import compiled, run_module, same_asl

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "asl_corpus"


def header(source: str) -> str:
    """The generated file's header comment, as one line of text."""
    return " ".join(line[2:] for line in source.splitlines() if line.startswith("#"))


def round_trip(saga: Saga, tmp_path: Path) -> tuple[object, str]:
    """Import the saga's compiled ASL; (the definition the Python makes, the Python)."""
    text = to_asl(saga)
    imported = import_asl(text, "saga.asl.json")
    return run_module(imported.source, tmp_path / f"imported_{abs(hash(text))}.py"), imported.source


# --- every saga stepsaga compiles comes back ------------------------------------------------------------


def test_the_reference_saga_comes_back_step_for_step(tmp_path):
    [saga] = load(str(ROOT / "workflows" / "order_saga.py"))
    made, source = round_trip(saga, tmp_path)
    assert isinstance(made, Saga) and to_asl(made) == to_asl(saga)
    assert made.name == saga.name and made.comment == saga.comment
    for mine, theirs in zip(made.steps, saga.steps, strict=True):
        assert (mine.name, mine.action, mine.business_errors, mine.retriable) == (theirs.name, theirs.action, theirs.business_errors, theirs.retriable)
        assert made.retries_for(mine) == saga.retries_for(theirs)
        if theirs.compensation:
            assert (mine.compensation.name, mine.compensation.action) == (theirs.compensation.name, theirs.compensation.action)
    assert "from stepsaga import Compensation, Retry, Saga, Step" in source
    assert "writes ASL byte-identical to saga.asl.json" in header(source)


_names = st.lists(st.from_regex(r"[A-Z][a-z]{2,8}", fullmatch=True), min_size=1, max_size=6, unique=True)
_specific = st.builds(
    Retry, st.sampled_from([["Flaky"], ["Busy", "Flaky"], ["States.TaskFailed"], ["States.Timeout"], ["Lambda.ServiceException"]]),
    interval_seconds=st.integers(1, 4), max_attempts=st.integers(0, 4), backoff_rate=st.sampled_from([1.0, 1.5, 2.0]),
    max_delay_seconds=st.none() | st.integers(5, 60), jitter=st.sampled_from([None, "FULL", "NONE"]),
)
_wildcard = st.builds(Retry, st.just(["States.ALL"]), interval_seconds=st.integers(1, 3), max_attempts=st.integers(0, 6),
                      max_delay_seconds=st.none() | st.integers(5, 60), jitter=st.sampled_from([None, "FULL"]))
_comment = st.none() | st.sampled_from(["Charges the card once.", "Undo: a no-op when nothing was done.", "Calls x; but not really."])
_timeout = st.none() | st.sampled_from([30, 45, 90])


@st.composite
def sagas(draw) -> Saga:
    """Sagas over everything the DSL lets a user say that reaches the ASL."""
    names = draw(_names)
    retriable_from = draw(st.integers(0, len(names)))
    steps = []
    for i, name in enumerate(names):
        retriable = i >= retriable_from
        business = [] if retriable else draw(st.lists(st.sampled_from(["Declined", "Invalid"]), max_size=2, unique=True))
        retry = [r for r in draw(st.lists(_specific, max_size=2)) if not set(r.errors) & set(business)]
        retry += draw(st.lists(_wildcard, max_size=1))
        timeout = draw(_timeout)
        heartbeat = draw(st.none() | st.just(15)) if timeout else None
        comp = None
        if not retriable and draw(st.booleans()):
            comp = Compensation(f"Undo{name}", f"compensations.undo_{name.lower()}.handler", comment=draw(_comment), timeout_seconds=draw(_timeout),
                                retry=draw(st.none() | st.lists(st.one_of(_specific, _wildcard), min_size=1, max_size=1)))
        steps.append(Step(f"Do{name}", f"tasks.{name.lower()}.handler", compensation=comp, retry=retry, business_errors=business,
                          retriable=retriable, comment=draw(_comment), timeout_seconds=timeout, heartbeat_seconds=heartbeat))
    transient = draw(st.sampled_from([DEFAULT_TRANSIENT_RETRY, None, Retry(["Lambda.ServiceException", "Declined"]), Retry(["States.TaskFailed"]),
                                      Retry(["Lambda.ServiceException"], interval_seconds=4, max_attempts=0)]))
    options: dict = {}
    if draw(st.booleans()):
        options["compensation_retry"] = [Retry(["States.ALL"], interval_seconds=3, max_attempts=9)]
    try:
        return Saga(draw(st.sampled_from(["Generated", "TripSaga"])), steps, transient_retry=transient,
                    comment=draw(st.none() | st.just("A generated saga.")), workflow_type=draw(st.sampled_from(["STANDARD", "STANDARD", "EXPRESS"])),
                    timeout_seconds=draw(st.none() | st.just(86400)), task_timeout_seconds=draw(st.sampled_from([30, 60, 120])), **options)
    except DefinitionError:
        assume(False)
        raise


@settings(max_examples=80, deadline=None)
@given(sagas())
def test_every_generated_saga_imports_as_the_dsl_and_recompiles_byte_for_byte(tmp_path_factory, saga):
    made, source = round_trip(saga, tmp_path_factory.mktemp("saga"))
    assert isinstance(made, Saga), header(source)
    assert to_asl(made) == to_asl(saga)


def test_a_custom_comment_hides_the_handler_and_the_header_says_so(tmp_path):
    saga = Saga("Notes", [Step("Charge", "billing.charge.handler", comment="Charges once.",
                               compensation=Compensation("Refund", "billing.refund.handler"))])
    made, source = round_trip(saga, tmp_path)
    assert made.steps[0].action == "tasks.charge.handler" and made.steps[0].comment == "Charges once."
    assert made.steps[0].compensation.action == "billing.refund.handler"  # its comment is the compiler's: the action is read
    assert "The ASL names no handler for Charge (their Comments are their own)" in header(source)


def test_a_saga_without_a_dead_letter_queue_takes_its_name_from_the_file_or_name():
    text = to_asl(Saga("Plain", [Step("A", "tasks.a.handler"), Step("B", "tasks.b.handler")]))
    assert import_asl(text, "reports/nightly_report.asl.json").name == "NightlyReport"
    assert import_asl(text, "x.asl.json", name="Plain").name == "Plain"
    assert default_name("asl/order_saga.asl.json") == "OrderSaga" and default_name("2024-export.json") == "Imported2024Export"


def test_builder_forces_the_low_level_builder(tmp_path):
    text = (ROOT / "asl" / "order_saga.asl.json").read_text()
    imported = import_asl(text, "asl/order_saga.asl.json", builder=True)
    assert imported.kind == "builder" and "Written as the builder because --builder was given." in imported.source
    assert compiled(run_module(imported.source, tmp_path / "b.py")) == text  # the builder renders in the compiler's order


# --- compiled ASL that was edited: no Saga compiles to it, so the builder, and why ----------------------------


def _edited(change) -> dict:
    doc = json.loads((ROOT / "asl" / "order_saga.asl.json").read_text())
    change(doc["States"])
    return doc


@pytest.mark.parametrize(
    ("change", "why"),
    [
        pytest.param(lambda s: s["ProcessPayment"].pop("TimeoutSeconds"), "$.States.ProcessPayment.TimeoutSeconds", id="timeout-removed"),
        pytest.param(lambda s: s["ReserveInventory"]["Parameters"]["Payload"].update(priority="high"),
                     "$.States.ReserveInventory.Parameters.Payload.priority", id="payload-field-added"),
        pytest.param(lambda s: s["ValidateOrder"]["Parameters"].update(FunctionName="arn:aws:lambda:us-east-1:1:function:validate"),
                     "state 'ValidateOrder', reached from CheckSagaInput by Next, is not a step", id="function-not-a-placeholder"),
        pytest.param(lambda s: s["RefundPayment"]["Retry"][1].update(Comment="patient"), "a retrier with fields a stepsaga Retry does not write",
                     id="retrier-comment"),
    ],
)
def test_edited_compiled_asl_becomes_the_builder_and_says_why(change, why, tmp_path):
    doc = _edited(change)
    text = json.dumps(doc, indent=2)
    imported = import_asl(text, "edited.asl.json")
    assert imported.kind == "builder"
    said = header(imported.source)
    assert "It starts as stepsaga's compiled sagas do, but no Saga compiles to it:" in said and why in said
    assert same_asl(text, compiled(run_module(imported.source, tmp_path / "edited.py")))


# --- hand-written sagas: recognised by their shape -------------------------------------------------------------


def _lambda(next_: str | None = None, catch: str | None = None, end: bool = False) -> dict:
    state: dict = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "Payload.$": "$"}}
    if catch:
        state["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": catch}]
    state.update({"End": True} if end else {"Next": next_})
    return state


def machine(**states: dict) -> dict:
    return {"StartAt": next(iter(states)), "States": states}


SAGA_SHAPED = machine(
    A=_lambda("B", catch="UndoA"), B=_lambda("Done", catch="UndoB"), Done={"Type": "Succeed"},
    UndoB=_lambda("UndoA"), UndoA=_lambda("Failed"), Failed={"Type": "Fail", "Error": "SagaFailed"},
)


def test_a_hand_written_saga_is_recognised_with_its_steps_chain_and_compensations():
    shape = saga_shape(SAGA_SHAPED)
    assert shape is not None
    assert (shape.steps, shape.chain, shape.compensation) == (["A", "B"], ["UndoB", "UndoA", "Failed"], {"A": "UndoA", "B": "UndoB"})
    assert shape.describe() == "A and B catch into the compensation chain UndoB -> UndoA -> Failed"


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(machine(A=_lambda("B", catch="Failed"), B=_lambda(end=True, catch="Failed"), Failed={"Type": "Fail"}), id="catch-straight-to-fail"),
        pytest.param(machine(A=_lambda("B", catch="Log"), B=_lambda(end=True), Log={"Type": "Pass", "Next": "Failed"}, Failed={"Type": "Fail"}),
                     id="catch-into-a-pass"),
        pytest.param(machine(A=_lambda("B", catch="UndoA"), B=_lambda(end=True), UndoA=_lambda("Over"), Over={"Type": "Succeed"}),
                     id="chain-ends-in-succeed"),
        pytest.param(machine(A=_lambda("B", catch="UndoB"), B=_lambda(end=True, catch="UndoA"), UndoB=_lambda("UndoA"), UndoA=_lambda("F"),
                             F={"Type": "Fail"}), id="chain-not-in-reverse-order"),
        pytest.param(machine(A={"Type": "Pass", "Next": "B"}, B={"Type": "Succeed"}), id="no-task"),
    ],
)
def test_what_is_not_a_saga_is_not_recognised(doc):
    assert saga_shape(doc) is None


def test_a_hand_written_saga_imports_as_the_builder_with_the_reason(tmp_path):
    text = json.dumps(SAGA_SHAPED)
    imported = import_asl(text, "hand.asl.json")
    said = header(imported.source)
    assert imported.kind == "builder" and "This ASL is a saga: A and B catch into the compensation chain UndoB -> UndoA -> Failed." in said
    assert "it adds the states BeginSaga, CheckSagaInput" in said and "it has no states Done and Failed" in said
    assert same_asl(text, compiled(run_module(imported.source, tmp_path / "hand.py")))


def test_a_hand_written_saga_whose_names_a_saga_cannot_take_says_so():
    doc = machine(**{"Reserve flight": _lambda("Done", catch="Cancel flight"), "Done": {"Type": "Succeed"},
                     "Cancel flight": _lambda("Failed"), "Failed": {"Type": "Fail"}})
    said = header(import_asl(json.dumps(doc), "x.asl.json").source)
    assert "A Saga cannot have these steps: saga X, step Reserve flight: name is 'Reserve flight'" in said
