"""The committed event schemas: draft 4, golden, and true to the events the models build."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from stepsaga import HttpTrigger, Saga, Step
from stepsaga.check import check
from stepsaga.choreography.draft4 import DRAFT4
from stepsaga.choreography.events import SagaError, detail_model, event_id
from stepsaga.choreography.plan import plan
from stepsaga.choreography.schema_files import check_schemas, sync_schemas
from stepsaga.choreography.schemas import DETAIL_TYPE_KEY, SOURCE_KEY, compact, event_schemas, input_schema, render, schema_files
from stepsaga.cli import main
from stepsaga.loader import load

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
ORDER = load(str(ROOT / "workflows" / "order_saga.py"))[0]
PLAN = plan(ORDER)
COMMITTED = sorted((SCHEMAS / "order_saga").glob("*.json"))
ORDER_INPUT = json.loads((ROOT / "workflows" / "inputs" / "order.json").read_text())


def committed(name: str) -> dict:
    return json.loads((SCHEMAS / "order_saga" / f"{name}.json").read_text())


def delivered(name: str, **detail: object) -> dict:
    """An event of the order saga as EventBridge delivers it, its detail built with the event's model."""
    spec = PLAN.event(name)
    model = detail_model(PLAN, name)
    body = model(saga="OrderSaga", saga_id="o-1", correlation_id="o-1", event_id=event_id("OrderSaga", "o-1", name),
                 producer=spec.state or "SagaStart", input=ORDER_INPUT, time_ms=1767225600000, **detail)
    return {"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "source": spec.source, "account": "123456789012",
            "time": "2026-01-01T00:00:00Z", "region": "eu-west-1", "resources": [], "detail-type": name,
            "detail": json.loads(body.model_dump_json())}


REAL_EVENTS = {
    "OrderSagaStarted": dict(causation_id=None, seq=0),
    "PaymentProcessed": dict(causation_id="e-1", seq=2, step="ProcessPayment", attempt=1),
    "PaymentFailed": dict(causation_id="e-1", seq=2, step="ProcessPayment", attempt=3, error=SagaError(Error="PaymentDeclined"), business_error=True),
    "PaymentRefunded": dict(causation_id="e-3", seq=4, step="RefundPayment", attempt=1, error=SagaError(Error="OutOfStock")),
    "OrderSagaCompensationFailed": dict(causation_id="e-4", seq=5, error=SagaError(Error="OutOfStock"),
                                        compensation_error=SagaError(Error="RefundGatewayDown", Cause="503")),
}


def test_there_is_one_committed_schema_per_event_of_the_reference_saga():
    assert [p.stem for p in COMMITTED] == sorted(e.name for e in PLAN.events)
    assert sorted(p.name for p in SCHEMAS.iterdir()) == ["order_saga"]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_every_committed_schema_is_valid_draft4_and_names_its_event(path):
    schema = json.loads(path.read_text())
    Draft4Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT4 == "http://json-schema.org/draft-04/schema#"
    assert "$defs" not in path.read_text() and '"const"' not in path.read_text() and '"examples"' not in path.read_text()
    spec = PLAN.event(path.stem)
    assert (schema["title"], schema[SOURCE_KEY], schema[DETAIL_TYPE_KEY]) == (spec.name, spec.source, spec.name)
    assert schema["properties"]["source"]["enum"] == [spec.source]
    assert schema["properties"]["detail-type"]["enum"] == [spec.name]
    assert schema["properties"]["detail"] == {"$ref": f"#/definitions/{spec.name}Detail"}


@pytest.mark.parametrize("name", list(REAL_EVENTS))
def test_real_events_are_valid_against_their_committed_schema_and_wrong_ones_are_not(name):
    validator = Draft4Validator(committed(name))
    event = delivered(name, **REAL_EVENTS[name])
    assert list(validator.iter_errors(event)) == []
    for wrong in (
        {**event, "detail-type": "Other"},
        {**event, "source": "elsewhere"},
        {**event, "detail": {**event["detail"], "saga": "TripSaga"}},
        {**event, "detail": {**event["detail"], "seq": -1}},
        {**event, "detail": {**event["detail"], "colour": "red"}},
        {**event, "detail": {k: v for k, v in event["detail"].items() if k != "saga_id"}},
        {**event, "detail": {**event["detail"], "input": {**ORDER_INPUT, "currency": "euro"}}},  # the order's own schema
    ):
        assert not validator.is_valid(wrong), wrong


def test_the_schemas_narrow_each_kind_as_the_models_do():
    event = delivered("PaymentFailed", **REAL_EVENTS["PaymentFailed"])
    failed = Draft4Validator(committed("PaymentFailed"))
    assert not failed.is_valid({**event, "detail": {**event["detail"], "business_error": None}})
    assert not failed.is_valid({**event, "detail": {**event["detail"], "step": "ReserveInventory"}})
    assert not Draft4Validator(committed("PaymentProcessed")).is_valid(event)  # a failure is no success
    started = delivered("OrderSagaStarted", **REAL_EVENTS["OrderSagaStarted"])
    assert not Draft4Validator(committed("OrderSagaStarted")).is_valid({**started, "detail": {**started["detail"], "seq": 1}})


def test_the_input_carries_the_http_trigger_schema_else_any_object():
    schema = committed("PaymentFailed")
    assert schema["definitions"]["PaymentFailedDetail"]["properties"]["input"]["allOf"] == [{"$ref": "#/definitions/OrderSagaInput"}]
    assert schema["definitions"]["OrderSagaInput"]["title"] == "Order" and "$schema" not in schema["definitions"]["OrderSagaInput"]
    bare = Saga("Trip", [Step("BookHotel", "tasks.book_hotel.handler")])
    assert input_schema(bare) is None
    detail = event_schemas(plan(bare))["TripStarted"]["definitions"]["TripStartedDetail"]["properties"]["input"]
    assert detail["type"] == "object" and detail["additionalProperties"] is True
    one, other = {"type": "object", "required": ["a"]}, {"type": "object", "required": ["b"]}
    two = Saga("Trip", [Step("BookHotel", "tasks.book_hotel.handler")], triggers=[HttpTrigger("/a", schema=one), HttpTrigger("/b", schema=other)])
    assert input_schema(two) == {"anyOf": [one, other]}
    mixed = two.replace(triggers=[HttpTrigger("/a", schema=one), HttpTrigger("/b")])
    assert input_schema(mixed) is None  # a start without a schema takes any object


def test_an_input_schema_with_definitions_keeps_its_refs_working():
    given = {"$schema": DRAFT4, "id": "https://x.example/order", "type": "object", "required": ["sku"],
             "definitions": {"Sku": {"type": "string", "pattern": "^S"}}, "properties": {"sku": {"$ref": "#/definitions/Sku"}}}
    saga = Saga("Trip", [Step("BookHotel", "tasks.book_hotel.handler")], triggers=[HttpTrigger("/a", schema=given)])
    schema = event_schemas(plan(saga))["TripStarted"]
    moved = schema["definitions"]["TripInput"]
    assert moved["properties"]["sku"] == {"$ref": "#/definitions/TripInput/definitions/Sku"} and "id" not in moved
    validator = Draft4Validator(schema)
    start = {"version": "0", "id": "x", "source": "stepsaga.trip", "account": "1", "time": "t", "region": "r", "resources": [],
             "detail-type": "TripStarted", "detail": {"saga": "Trip", "saga_id": "s", "correlation_id": "s", "causation_id": None,
                                                      "event_id": "e", "seq": 0, "producer": "p", "input": {"sku": "S1"}, "time_ms": 0}}
    assert validator.is_valid(start)
    assert not validator.is_valid({**start, "detail": {**start["detail"], "input": {"sku": "X1"}}})


def test_the_text_is_the_render_of_the_schema_and_content_is_its_compact_form():
    fresh = schema_files(ORDER)
    for rel, text in fresh.items():
        assert (SCHEMAS / rel).read_text() == text
        assert text.endswith("}\n") and '\n  "$schema"' in text  # 2-space indent, newline at the end
    schema = event_schemas(PLAN)["PaymentFailed"]
    assert render(schema) == fresh["order_saga/PaymentFailed.json"]
    text = compact(schema)
    assert json.loads(text) == schema and text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    assert list(schema["definitions"]) == sorted(schema["definitions"])


def test_the_schemas_are_byte_identical_across_hash_seeds():
    code = ("import hashlib, sys; from stepsaga.loader import load; from stepsaga.choreography.schemas import schema_files;"
            "print(hashlib.sha256(repr(sorted(schema_files(load('workflows/order_saga.py')[0]).items())).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed},
                              capture_output=True, text=True, check=True).stdout for seed in ("0", "1", "4242")}
    assert len(digests) == 1


# --- writing and checking schemas/ ----------------------------------------------------------


@pytest.fixture()
def folder(tmp_path):
    out = tmp_path / "schemas"
    sync_schemas(out, [ORDER])
    return out


def test_sync_writes_every_file_then_changes_nothing_and_removes_stale_ones(tmp_path):
    out = tmp_path / "schemas"
    first = sync_schemas(out, [ORDER])
    assert [(p.relative_to(out).as_posix(), what) for p, what in first] == [(rel, "wrote") for rel in schema_files(ORDER)]
    assert {what for _, what in sync_schemas(out, [ORDER])} == {"unchanged"}
    (out / "order_saga" / "PaymentFailed.json").write_text("{}\n")
    (out / "order_saga" / "PaymentDeclined.json").write_text("{}\n")
    (out / "order_saga" / "notes.md").write_text("mine\n")
    again = {p.name: what for p, what in sync_schemas(out, [ORDER]) if what != "unchanged"}
    assert again == {"PaymentFailed.json": "wrote", "PaymentDeclined.json": "removed"}
    assert (out / "order_saga" / "notes.md").read_text() == "mine\n"  # not a schema file: not the generator's


def test_check_passes_on_fresh_schemas_and_reports_each_kind_of_drift(folder):
    assert check_schemas(folder, [ORDER], Path("workflows"), io.StringIO(), io.StringIO()) == 0
    (folder / "order_saga" / "PaymentFailed.json").write_text(committed("PaymentFailed").__repr__())
    (folder / "order_saga" / "OrderFailed.json").unlink()
    (folder / "order_saga" / "PaymentDeclined.json").write_text("{}\n")
    (folder / "trip").mkdir()
    out, err = io.StringIO(), io.StringIO()
    assert check_schemas(folder, [ORDER], Path("workflows"), out, err) == 4
    assert err.getvalue().splitlines() == [
        f"{folder}/order_saga/OrderFailed.json is missing; run: stepsaga template --schemas {folder}",
        f"{folder}/order_saga/PaymentFailed.json is out of date; run: stepsaga template --schemas {folder}",
        f"{folder}/order_saga/PaymentDeclined.json: saga OrderSaga has no event PaymentDeclined; delete it, or run: stepsaga template --schemas {folder}",
        f"{folder}/trip: no saga in workflows/ writes its event schemas here; delete it or restore its saga",
    ]
    assert f"+++ {folder}/order_saga/PaymentFailed.json (generated from workflows/)" in out.getvalue()


def test_stepsaga_template_writes_the_schemas_and_check_fails_on_their_drift(tmp_path, monkeypatch, capsys):
    for name in ("workflows", "asl", "tasks", "compensations"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(tmp_path)
    assert main(["template", "--schemas", "contracts"]) == 0
    err = capsys.readouterr().err
    assert "wrote contracts/order_saga/PaymentFailed.json" in err.splitlines()
    assert sorted(p.name for p in (tmp_path / "contracts" / "order_saga").iterdir()) == [p.name for p in COMMITTED]
    assert main(["template", "--schemas", "contracts"]) == 0
    assert "unchanged: 15 event schema(s) in contracts/" in capsys.readouterr().err
    assert main(["check", "--schemas", "contracts"]) == 0
    assert "their 15 event schema(s) match contracts/" in capsys.readouterr().out
    (tmp_path / "contracts" / "order_saga" / "OrderCancelled.json").unlink()
    assert main(["check", "--schemas", "contracts"]) == 1
    assert "contracts/order_saga/OrderCancelled.json is missing; run: stepsaga template --schemas contracts" in capsys.readouterr().err
    (tmp_path / "a-file").write_text("")
    assert main(["check", "--schemas", "a-file"]) == 2
    assert "--schemas a-file: is a file; name the folder of the event schemas" in capsys.readouterr().err


def test_check_leaves_a_project_without_a_schemas_folder_alone(tmp_path):
    # As for template.yaml: the schemas are compared when the project has them (stepsaga template writes them).
    err = io.StringIO()
    assert check(ROOT / "workflows", ROOT / "asl", io.StringIO(), err, template=None, schemas=tmp_path / "none") == 0
    assert err.getvalue() == ""


def test_check_passes_on_the_repository_schemas():
    out, err = io.StringIO(), io.StringIO()
    assert check(ROOT / "workflows", ROOT / "asl", out, err, template=None, schemas=SCHEMAS, root=ROOT) == 0, err.getvalue()
    assert f"their 15 event schema(s) match {SCHEMAS}/" in out.getvalue()
