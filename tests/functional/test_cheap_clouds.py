"""Cheap clouds (issue 10): the ASL parsed once per saga and process, a reset in milliseconds, clouds reused.

Every shortcut is checked against the slow way: a rebound Program against moto's own parse of the same text,
object by object; a reset cloud against a new one on the same scenarios, rows and results; a pool's cloud
against what the process would see without the pool.
"""

from __future__ import annotations

import enum
import json
import re
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
from stepsaga.functions import declared_tables
from stepsaga.local import EmbeddedCloud, Fail, default_seed
from stepsaga.local._moto import programs, speed
from stepsaga.local.pool import CloudPool

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
EFFECTS = Path(__file__).resolve().parent / "equivalence_app"
ORDER = json.loads((INPUTS / "order.json").read_text())
TOO_MANY = json.loads((INPUTS / "too_many.json").read_text())
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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
        return first_difference(_state(a), _state(b), f"{path}.{type(a).__name__}", seen)
    return None if a == b else f"{path}: {a!r} != {b!r}"


# EvalComponent.heap_key is a random id made on a component's first evaluation, which an earlier run of the
# saga in this process may have made: it names the component's slots in each execution's own heap.
_LAZY = "_EvalComponent__heap_key"


def _state(component: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(component).items() if k != _LAZY}


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


# --- a reset in milliseconds ----------------------------------------------------------------------------------


def outcome(cloud: EmbeddedCloud, result: Any) -> dict[str, Any]:
    """A run as a test sees it, less what differs between any two runs (times, request ids, cloud names)."""
    def plain(value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return UUID.sub("<id>", value)
            return plain(value) if isinstance(value, (dict, list)) else value
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if not k.endswith(("_at", "requestId", "execution_arn", "stackTrace"))
                    and k not in ("record_id", "event_id", "time", "timestamp")}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {
        "status": result.status, "error": result.error, "cause": plain(result.cause), "entered": result.entered,
        "compensations": result.compensations, "attempts": [(s.name, len(s.attempts)) for s in result.states],
        "dlq": plain(result.dlq), "calls": [(c.state, c.attempt, c.outcome, c.error) for c in result.calls],
        "rows": {t.name: sorted((plain(i) for i in cloud.items(t.name)), key=repr) for t in cloud.saga.tables},
    }


SCENARIOS = [
    ("happy", ORDER, {}),
    ("declined", ORDER, {"ProcessPayment": Fail("PaymentDeclined")}),
    ("out of stock", TOO_MANY, {}),
    ("dead-lettered", ORDER, {"SendNotification": Fail("SmtpUnavailable")}),
    ("compensation failed", TOO_MANY, {"RefundPayment": Fail("RefundGatewayDown")}),
]


@pytest.mark.parametrize("mode", ["orchestration", "choreography"])
def test_a_reset_cloud_runs_every_scenario_as_a_new_cloud(order_saga: Saga, mode: str) -> None:
    seed = default_seed(order_saga, INPUTS)
    with EmbeddedCloud(order_saga, seed=seed, root=ROOT, mode=mode) as reused:
        for label, payload, faults in SCENARIOS:
            # dirty the reused cloud with another scenario, under the same name, then reset it
            other = SCENARIOS[(SCENARIOS.index((label, payload, faults)) + 1) % len(SCENARIOS)]
            reused.run(other[1], other[2], name="same-saga-id")
            reused.reset()
            again = outcome(reused, reused.run(payload, faults, name="same-saga-id"))
            with EmbeddedCloud(order_saga, seed=seed, root=ROOT, mode=mode) as fresh:
                assert again == outcome(fresh, fresh.run(payload, faults, name="same-saga-id")), label
            reused.reset()


def test_a_reset_empties_the_ledger_the_saga_log_and_the_queues(order_saga: Saga) -> None:
    with EmbeddedCloud(order_saga, seed=default_seed(order_saga, INPUTS), root=ROOT, mode="choreography") as cloud:
        cloud.run(ORDER, {"SendNotification": Fail("SmtpUnavailable")})
        deployment = cloud._choreography
        ddb, sqs = cloud.client("dynamodb"), cloud.client("sqs")
        assert ddb.scan(TableName=deployment.ledger_name)["Items"] and ddb.scan(TableName=deployment.log_name)["Items"]
        urls = [cloud.queue_url, deployment.event_dlq[0]] + [url for url, _arn, _name in deployment.queues.values()]
        for url in urls:
            sqs.send_message(QueueUrl=url, MessageBody="{}")
        cloud.reset()
        assert ddb.scan(TableName=deployment.ledger_name)["Items"] == [] and ddb.scan(TableName=deployment.log_name)["Items"] == []
        for url in urls:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0"), url


def test_a_reset_makes_no_aws_call_and_forgets_the_executions(order_saga: Saga) -> None:
    with EmbeddedCloud(order_saga, seed=default_seed(order_saga, INPUTS), root=ROOT) as cloud:
        cloud.run(ORDER, name="once")
        calls: list[str] = []
        cloud.client("dynamodb").meta.events.register("before-call", lambda model, **_: calls.append(model.name))
        cloud.reset()
        assert calls == []
        sfn = cloud.client("stepfunctions")
        assert sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"] == []
        assert cloud.run(ORDER, name="once").succeeded  # the name is free again, as in a new cloud


def test_a_reset_leaves_other_clouds_alone(order_saga: Saga) -> None:
    seed = default_seed(order_saga, INPUTS)
    with EmbeddedCloud(order_saga, seed=seed, root=ROOT) as mine, EmbeddedCloud(order_saga, seed=seed, root=ROOT) as other:
        other.run(ORDER, name="kept")
        sqs = other.client("sqs")
        sqs.send_message(QueueUrl=other.queue_url, MessageBody="{}")
        rows = {t.name: other.items(t.name) for t in order_saga.tables}
        mine.run(ORDER)
        mine.reset()
        assert {t.name: other.items(t.name) for t in order_saga.tables} == rows
        assert len(sqs.receive_message(QueueUrl=other.queue_url)["Messages"]) == 1
        assert [e["name"] for e in other.client("stepfunctions").list_executions(stateMachineArn=other.state_machine_arn)["executions"]] == ["kept"]


def test_a_reset_writes_a_changed_seed(order_saga: Saga) -> None:
    with EmbeddedCloud(order_saga, seed=default_seed(order_saga, INPUTS), root=ROOT) as cloud:
        cloud.seed = {"inventory": [{"pk": "SKU#ONLY", "sku": "ONLY", "available": 1}]}
        cloud.reset()
        assert cloud.items("inventory") == [{"pk": "SKU#ONLY", "sku": "ONLY", "available": 1}]
        cloud.reset()  # and that seed is what the next reset restores
        assert [i["pk"] for i in cloud.items("inventory")] == ["SKU#ONLY"]


def test_a_reset_of_a_cloud_whose_table_is_gone_says_so(order_saga: Saga) -> None:
    with EmbeddedCloud(order_saga, root=ROOT) as cloud:
        cloud.client("dynamodb").delete_table(TableName=cloud.table_name("orders"))
        with pytest.raises(RuntimeError, match=r"reset\(\): DynamoDB table .*-orders is gone"):
            cloud.reset()
    with pytest.raises(RuntimeError, match="needs the cloud started"):
        cloud.reset()


# --- handlers that keep their clients --------------------------------------------------------------------------


def test_each_function_of_each_cloud_keeps_its_own_resource_and_tables_across_invocations(order_saga: Saga) -> None:
    seed = default_seed(order_saga, INPUTS)
    ran = ["ValidateOrder", "ProcessPayment", "ReserveInventory", "RefundPayment", "CancelOrder"]  # too many: compensated
    with EmbeddedCloud(order_saga, seed=seed, root=ROOT) as one, EmbeddedCloud(order_saga, seed=seed, root=ROOT) as two:
        kept = {}
        for cloud in (one, two):
            assert cloud.run(TOO_MANY).compensations == ["RefundPayment", "CancelOrder"]
            for state in ran:
                common = cloud.function(state).modules["_common"]
                declared = [cloud.table_name(t) for t in declared_tables(order_saga, state)]
                assert sorted(common._tables) == sorted(declared)  # one Table per table the function used
                kept[cloud.id, state] = (common._resource, dict(common._tables))
        assert len({id(resource) for resource, _ in kept.values()}) == len(kept)  # every function its own, as on Lambda
        one.reset()
        one.run(TOO_MANY)
        for state in ran:  # a warm function: the same objects
            common = one.function(state).modules["_common"]
            assert (common._resource, common._tables) == kept[one.id, state]


# --- clouds reused across tests -------------------------------------------------------------------------------


def test_a_pool_lends_one_cloud_per_saga_reset_and_stops_moto_between_uses(order_saga: Saga) -> None:
    from moto.core.models import botocore_stubber

    pool = CloudPool()
    seed = default_seed(order_saga, INPUTS)
    try:
        cloud = pool.cloud(order_saga, seed=seed, root=ROOT)
        cloud.run(ORDER, name="first-test")
        pool.give_back()
        assert not botocore_stubber.enabled  # between uses moto is off, as when no cloud runs
        with pytest.raises(RuntimeError, match="waits between tests"):
            cloud.run(ORDER)
        again = pool.cloud(order_saga, seed=dict(seed), root=ROOT)  # an equal seed: the same cloud
        assert again is cloud and len(pool) == 1
        assert again.items("orders") == [] and again.run(ORDER, name="first-test").succeeded
        # a second cloud of the same key while the first is lent is another cloud, and another seed another
        assert pool.cloud(order_saga, seed=seed, root=ROOT) is not cloud
        assert pool.cloud(order_saga, root=ROOT) is not cloud and len(pool) == 3
        pool.give_back()
    finally:
        pool.close()
    assert len(pool) == 0


def test_a_users_own_mock_between_two_uses_sees_no_cloud_and_the_pool_starts_a_new_one(order_saga: Saga) -> None:
    import boto3
    from moto import mock_aws

    pool = CloudPool()
    seed = default_seed(order_saga, INPUTS)
    try:
        cloud = pool.cloud(order_saga, seed=seed, root=ROOT)
        pool.give_back()
        with mock_aws():  # another test's own moto: a clean account, as without the pool
            assert boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"] == []
            assert boto3.client("sqs", region_name="us-east-1").list_queues().get("QueueUrls", []) == []
        replaced = pool.cloud(order_saga, seed=seed, root=ROOT)  # its resources went with that mock's reset
        assert replaced is not cloud and len(pool) == 1 and replaced.run(ORDER).succeeded
        pool.give_back()
    finally:
        pool.close()


def test_the_fixture_reuses_a_strict_cloud(order_saga: Saga, saga_cloud: Any, saga_clouds: CloudPool) -> None:
    cloud = saga_cloud(order_saga, seed=default_seed(order_saga, INPUTS), reuse=True)
    assert cloud.strict_contract is True
    assert any(known is cloud for _key, known in saga_clouds._clouds)
