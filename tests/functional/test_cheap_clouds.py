"""Cheap clouds (issue 10): the ASL parsed once per saga and process.

Every shortcut is checked against the slow way: a rebound Program against moto's own parse of the same text,
object by object.
"""

from __future__ import annotations

import enum
import json
import threading
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from stepsaga import Compensation, Retry, Saga, Step, Table
from stepsaga.errors import DefinitionError
from stepsaga.local import EmbeddedCloud, Fail, default_seed
from stepsaga.local._moto import programs, speed

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
EFFECTS = Path(__file__).resolve().parent / "equivalence_app"
ORDER = json.loads((INPUTS / "order.json").read_text())


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> mock.MagicMock:
    """moto's ANTLR parse, spied on: ``parsed(parses)`` lists the definitions it parsed during the test."""
    spy = mock.MagicMock(wraps=AmazonStateLanguageParser.parse)
    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(spy))
    return spy


def parsed(spy: mock.MagicMock) -> list[str]:
    return [call.args[0] for call in spy.call_args_list]


def renamed(saga: Saga) -> Saga:
    """The saga under a name no other test uses, so that no parse of it is memoised yet."""
    return saga.replace(name=f"Cheap{uuid.uuid4().hex[:8]}")


def first_difference(a: Any, b: Any, path: str = "program", seen: set[tuple[int, int]] | None = None) -> str | None:
    """Where two object graphs differ (type, value, attribute, element), or None when they are alike."""
    seen = set() if seen is None else seen
    if (id(a), id(b)) in seen:
        return None
    seen.add((id(a), id(b)))
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, (str, int, float, bool, bytes, type(None), enum.Enum)):
        return None if a == b else f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        return next((d for k in a if (d := first_difference(a[k], b[k], f"{path}[{k!r}]", seen))), None)
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := first_difference(x, y, f"{path}[{i}]", seen))), None)
    if isinstance(a, (set, frozenset)):
        return None if a == b else f"{path}: {a!r} != {b!r}"
    if hasattr(a, "__dict__"):
        return first_difference(vars(a), vars(b), f"{path}.{type(a).__name__}", seen)
    return None if a == b else f"{path}: {a!r} != {b!r}"


def definition_of(cloud: EmbeddedCloud) -> str:
    """The definition the cloud's state machine was created with."""
    sfn = cloud.client("stepfunctions")
    return str(sfn.describe_state_machine(stateMachineArn=cloud.state_machine_arn)["definition"])


# --- the ASL parsed once per saga and process ----------------------------------------------------------------


def test_every_later_cloud_of_a_saga_parses_nothing(order_saga: Saga, parses: mock.MagicMock) -> None:
    saga = renamed(order_saga)
    counts = []
    for _ in range(3):
        before = parses.call_count
        with EmbeddedCloud(saga, seed=default_seed(saga, INPUTS), root=ROOT) as cloud:
            assert cloud.run(ORDER).succeeded  # the run takes the Program CreateStateMachine's validation made
        counts.append(parses.call_count - before)
    assert counts == [1, 0, 0]
    assert "cloudid" in parsed(parses)[0]  # the one parse is of the canonical text, which no cloud runs


def test_a_rebound_program_is_the_program_moto_parses(order_saga: Saga) -> None:
    with EmbeddedCloud(order_saga, root=ROOT) as one, EmbeddedCloud(order_saga, root=ROOT) as two:
        texts = [definition_of(one), definition_of(two)]
        assert texts[0] != texts[1] and one.queue_url in texts[0] and two.queue_url in texts[1]
        rebound = [speed._parse_program(text) for text in texts]
        for text, program in zip(texts, rebound):
            assert first_difference(program, AmazonStateLanguageParser.parse(text)[0]) is None
        # what holds no queue URL is one object for both clouds; what does is each cloud's own
        states = [p.states.states for p in rebound]
        assert states[0]["ValidateOrder"] is states[1]["ValidateOrder"]
        assert states[0]["CancelOrderDeadLetter"] is not states[1]["CancelOrderDeadLetter"]


_retry = st.builds(Retry, st.sampled_from([["Flaky"], ["States.ALL"], ["States.TaskFailed"]]), interval_seconds=st.integers(1, 5),
                   max_attempts=st.integers(0, 3), jitter=st.sampled_from([None, "FULL"]))


@st.composite
def effect_sagas(draw: Any) -> Saga:
    """Sagas on the equivalence app's handlers: compensations, business errors, a retriable tail, either type."""
    names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo"][: draw(st.integers(1, 5))]
    tail = draw(st.booleans())
    steps = []
    for index, name in enumerate(names):
        retriable = tail and index == len(names) - 1
        compensation = None if retriable or not draw(st.booleans()) else Compensation(
            f"Undo{name}", "effects.undo.handler", tables=["effects"], retry=draw(st.none() | st.lists(_retry, min_size=1, max_size=1)))
        steps.append(Step(name, "effects.step.handler", compensation=compensation, retriable=retriable, tables=["effects"],
                          business_errors=[] if retriable or not draw(st.booleans()) else [f"{name}Rejected"],
                          retry=draw(st.lists(_retry, max_size=1))))
    make = lambda kind: Saga(f"Generated{uuid.uuid4().hex[:6]}", steps, tables=[Table("effects", partition_key="pk")],  # noqa: E731
                             workflow_type=kind, task_timeout_seconds=15)
    try:
        return make(draw(st.sampled_from(["STANDARD", "EXPRESS"])))
    except DefinitionError:  # its retries could outlast an Express execution
        return make("STANDARD")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(saga=effect_sagas())
def test_rebound_programs_equal_parsed_ones_for_generated_sagas(saga: Saga) -> None:
    with EmbeddedCloud(saga, root=EFFECTS) as cloud:
        text = definition_of(cloud)
        assert first_difference(speed._parse_program(text), AmazonStateLanguageParser.parse(text)[0]) is None


def test_clouds_of_one_saga_keep_to_their_own_dead_letter_queue(order_saga: Saga) -> None:
    # a repair record goes to the queue of the cloud that ran the saga, whichever cloud's Program was parsed
    saga = renamed(order_saga)
    seed = default_seed(saga, INPUTS)
    found: dict[int, list[Any]] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            with EmbeddedCloud(saga, seed=seed, root=ROOT) as cloud:
                records = []
                for attempt in range(2):
                    order = dict(ORDER, order_id=f"ord-{index}-{attempt}")
                    result = cloud.run(order, {"SendNotification": Fail("SmtpUnavailable")}, name=f"cloud{index}-run{attempt}")
                    records += [(r["saga_id"], r["execution_arn"].startswith(cloud.state_machine_arn.replace(":stateMachine:", ":execution:")))
                                for r in result.dlq]
                    left = cloud.client("sqs").receive_message(QueueUrl=cloud.queue_url, MaxNumberOfMessages=10).get("Messages", [])
                    assert left == []  # each result drained its own record: nothing of another cloud's arrived
                found[index] = records
        except BaseException as exc:  # noqa: BLE001  reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert found == {i: [(f"cloud{i}-run0", True), (f"cloud{i}-run1", True)] for i in range(3)}


@pytest.mark.parametrize(("canonical", "definition", "literals"), [
    ('{"a": "X", "b": "zX"}', '{"a": "Y", "b": "zX"}', {"X": "Y"}),  # the literal inside another string
    ('{"a": "X"}', '{"a": "Y", "b": 1}', {"X": "Y"}),  # the texts differ elsewhere
    ('{"a": "X\\n"}', '{"a": "Y\\n"}', {"X\\n": "Y\\n"}),  # a literal with an escape
    ('{"a": "X", "b": "Y"}', '{"a": "Y", "b": "Y"}', {"X": "Y"}),  # the value is written in the canonical text
])
def test_a_variant_is_refused_unless_only_whole_inert_literals_differ(canonical: str, definition: str, literals: dict[str, str]) -> None:
    assert programs.variant(definition, canonical, literals) is False
    programs.forget(definition)


def test_a_literal_moto_keeps_more_often_than_the_text_writes_it_is_parsed_as_it_is(parses: mock.MagicMock) -> None:
    # a state name is kept as its key, its name and StartAt: three places for two in the text
    canonical = '{"StartAt": "Xstate", "States": {"Xstate": {"Type": "Pass", "End": true}}}'
    name = f"S{uuid.uuid4().hex[:8]}"
    definition = canonical.replace("Xstate", name)
    assert programs.variant(definition, canonical, {"Xstate": name})
    try:
        program = programs.parse(definition)
    finally:
        programs.forget(definition)
    assert definition in parsed(parses)
    assert first_difference(program, AmazonStateLanguageParser.parse(definition)[0]) is None


def test_an_unregistered_definition_is_parsed_as_it_is(order_saga: Saga, parses: mock.MagicMock) -> None:
    with EmbeddedCloud(renamed(order_saga), root=ROOT) as cloud:
        text = definition_of(cloud)
        programs.forget(text)
        speed._parse_program.cache_clear()
        before = parses.call_count
        program = speed._parse_program(text)
        assert parsed(parses)[before:] == [text]
        assert first_difference(program, AmazonStateLanguageParser.parse(text)[0]) is None
