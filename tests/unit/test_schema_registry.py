"""A saga's Schema Registry: one registry, one draft-4 schema per event, holding exactly the committed schemas."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from stepsaga import Saga, Step, StepEvents
from stepsaga.choreography.plan import plan
from stepsaga.loader import load
from stepsaga.sam import MARKER, SCHEMA_TYPE, Names, registry_id, registry_resources, schema_id

ROOT = Path(__file__).resolve().parents[2]
ORDER = load(str(ROOT / "workflows" / "order_saga.py"))[0]
CFN_LINT = ROOT / ".venv" / "tools" / "bin" / "cfn-lint"


def test_one_registry_and_one_schema_per_event_in_plan_order():
    names = Names(ORDER)
    resources = registry_resources(ORDER, names)
    events = [e.name for e in plan(ORDER).events]
    assert list(resources) == ["OrderSagaEventSchemas", *[f"OrderSaga{e}Schema" for e in events]]
    assert registry_id(names) == "OrderSagaEventSchemas" and schema_id(names, "PaymentFailed") == "OrderSagaPaymentFailedSchema"
    registry = resources["OrderSagaEventSchemas"]
    assert registry["Type"] == "AWS::EventSchemas::Registry"
    assert registry["Properties"]["RegistryName"] == {"Fn::Sub": "${AWS::StackName}-OrderSaga"}
    assert registry["Properties"]["Description"] == "The domain events of saga OrderSaga, one JSON Schema (draft 4) per detail-type"
    for key, resource in resources.items():
        assert resource["Metadata"][MARKER] == {"saga": "OrderSaga"}, key


def test_each_schema_is_the_committed_file_in_draft4_in_the_registry():
    resources = registry_resources(ORDER, Names(ORDER))
    failed = resources["OrderSagaPaymentFailedSchema"]["Properties"]
    assert failed["Type"] == SCHEMA_TYPE == "JSONSchemaDraft4"
    assert failed["RegistryName"] == {"Fn::GetAtt": ["OrderSagaEventSchemas", "RegistryName"]}
    assert failed["SchemaName"] == "PaymentFailed"
    assert failed["Description"] == "PaymentFailed (step failed, about ProcessPayment) from stepsaga.order_saga, in saga OrderSaga"
    assert resources["OrderSagaOrderSagaAbortedSchema"]["Properties"]["Description"] == "OrderSagaAborted (aborted) from stepsaga.order_saga, in saga OrderSaga"
    for event in plan(ORDER).events:
        content = resources[f"OrderSaga{event.name}Schema"]["Properties"]["Content"]
        assert isinstance(content, str) and "\n" not in content
        assert json.loads(content) == json.loads((ROOT / "schemas" / "order_saga" / f"{event.name}.json").read_text())


def test_a_step_with_its_own_source_names_it_in_its_schemas_description():
    saga = Saga("Trip", [Step("BookHotel", "tasks.book_hotel.handler", events=StepEvents(source="travel.hotels"))])
    resources = registry_resources(saga, Names(saga))
    assert resources["TripHotelBookedSchema"]["Properties"]["Description"] == "HotelBooked (step succeeded, about BookHotel) from travel.hotels, in saga Trip"
    assert json.loads(resources["TripHotelBookedSchema"]["Properties"]["Content"])["x-amazon-events-source"] == "travel.hotels"


def test_importing_the_template_package_does_not_load_pydantic():
    code = "import sys, stepsaga.sam; print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'aws_lambda_powertools'}))"
    out = subprocess.run([str(Path(__import__("sys").executable)), "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(not CFN_LINT.is_file(), reason="the template tools are not built: run scripts/lint-template.sh once")
def test_cfn_lint_accepts_a_template_of_just_these_resources(tmp_path):
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": registry_resources(ORDER, Names(ORDER))}
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(template, indent=2))
    proc = subprocess.run([str(CFN_LINT), "--format", "parseable", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = json.loads(path.read_text())
    broken["Resources"]["OrderSagaPaymentFailedSchema"]["Properties"].pop("Type")  # the check can fail
    path.write_text(json.dumps(broken))
    assert subprocess.run([str(CFN_LINT), str(path)], capture_output=True, text=True).returncode != 0
