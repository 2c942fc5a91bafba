"""template.yaml: golden output, round-trip regeneration, substitutions, least privilege, the CLI."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from stepsaga import Compensation, EventTrigger, HttpTrigger, Saga, Step, Table
from stepsaga.check import check
from stepsaga.cli import main
from stepsaga.orchestration import DLQ_PLACEHOLDER, placeholders, to_asl
from stepsaga.sam import Layout, TemplateError, render, substitution_problems, sync_file
from stepsaga.sam_resources import LAMBDA_RUNTIME, LOG_DELIVERY_ACTIONS, MARKER, Names
from stepsaga.sam_sync import load, plain
from workflows.order_saga import ORDER_SCHEMA
from workflows.order_saga import saga as order_saga

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
LAYOUT = Layout(TEMPLATE, ROOT / "asl", ROOT)


def generated(*sagas: Saga) -> list:
    return LAYOUT.generate(list(sagas))


def committed() -> dict:
    return plain(load(TEMPLATE.read_text(encoding="utf-8")))


def resources_of(doc: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in doc["Resources"].items() if r["Type"] == kind}


def statements(policies: list) -> list[dict]:
    """The inline statements of a SAM Policies list (policy templates are not statements)."""
    out = []
    for p in policies:
        if isinstance(p, dict) and "Statement" in p:
            out.extend(p["Statement"])
    return out


# --- golden and determinism -----------------------------------------------------------------


def test_template_matches_the_committed_golden_file():
    assert render(None, generated(order_saga), prune=True) == TEMPLATE.read_text(encoding="utf-8")


def test_regenerating_the_committed_template_changes_nothing():
    text = TEMPLATE.read_text(encoding="utf-8")
    assert render(text, generated(order_saga), prune=True) == text


def test_output_is_identical_across_processes_and_hash_seeds():
    code = (
        "import sys; from pathlib import Path; from stepsaga.sam import Layout, render; "
        "from workflows.order_saga import saga; "
        "sys.stdout.write(render(None, Layout(Path('template.yaml'), Path('asl')).generate([saga]), prune=True))"
    )
    outputs = set()
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        outputs.add(proc.stdout)
    assert outputs == {TEMPLATE.read_text(encoding="utf-8")}


def test_the_compile_path_never_imports_the_yaml_or_aws_libraries(tmp_path):
    code = (
        "import sys; from stepsaga.cli import main; rc = main(['compile', 'workflows/order_saga.py', '-o', sys.argv[1]]); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('ruamel', 'boto3', 'botocore', 'moto', 'samtranslator', 'stepsaga.sam')); "
        "print(bad); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out.asl.json")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# --- round-trip editing ---------------------------------------------------------------------

USER_HEAD = """\
# Team notes: deploy with `sam deploy --guided`.   (a user's comment at the very top)
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: Orders, with our own extras

Parameters:
  # Which environment this stack serves.
  Environment:
    Type: String
    AllowedValues: [dev, prod]   # flow style, kept as written
    Default: dev

Resources:
  # Our own bucket comes first.
  ReportsBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub 'reports-${Environment}'
"""

USER_ALARM = """\
  # Page someone when a repair record arrives.
  RepairAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/SQS
      MetricName: ApproximateNumberOfMessagesVisible
      Dimensions:
        - Name: QueueName
          Value: !GetAtt OrderSagaDeadLetterQueue.QueueName
      Statistic: Maximum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
"""

USER_OUTPUT = """\
  # Our own output.
  ReportsBucketName:
    Value: !Ref ReportsBucket
"""


def _user_template() -> str:
    """The committed template with a user's parameter, resources, output and comments woven in."""
    text = render(USER_HEAD, generated(order_saga), prune=True)
    lines = text.splitlines(keepends=True)
    # Put the alarm between two generated resources, right after the queue.
    at = next(i for i, line in enumerate(lines) if line.startswith("  OrderSagaKey:"))
    lines[at:at] = [USER_ALARM, "\n"]
    text = "".join(lines)
    text = text.replace("\nOutputs:\n", "\n# Everything below is exported to the ops dashboard.\nOutputs:\n" + USER_OUTPUT + "\n")
    return text


def test_a_users_resources_parameters_comments_and_order_survive_regeneration():
    text = _user_template()
    again = render(text, generated(order_saga), prune=True)
    assert again == text  # idempotent, with the user's additions in place
    for block in (USER_HEAD, USER_ALARM, USER_OUTPUT, "# Everything below is exported to the ops dashboard.\nOutputs:\n"):
        assert block in again
    doc = plain(load(again))
    keys = list(doc["Resources"])
    assert keys[0] == "ReportsBucket"
    assert keys.index("RepairAlarm") == keys.index("OrderSagaDeadLetterQueue") + 1
    assert list(doc["Parameters"]) == ["Environment"]


def test_hand_edits_inside_generated_resources_are_replaced_and_stale_ones_removed():
    text = _user_template()
    edited = text.replace("      MemorySize: 256\n", "      MemorySize: 4096\n", 1)
    edited = edited.replace("  RepairAlarm:\n", "  OrderSagaOldStepFunction:\n    Type: AWS::Serverless::Function\n"
                            "    Metadata:\n      stepsaga:\n        saga: OrderSaga\n    Properties:\n      Handler: x.handler\n\n"
                            "  RepairAlarm:\n", 1)
    assert edited != text
    assert render(edited, generated(order_saga), prune=True) == text


def test_a_changed_saga_updates_in_place_next_to_its_other_resources():
    text = _user_template()
    bigger = order_saga.replace(steps=(*order_saga.steps[:3], Step("AuditOrder", "tasks.audit.handler", retriable=True), order_saga.steps[3]))
    grown = render(text, generated(bigger), prune=True)
    assert render(grown, generated(bigger), prune=True) == grown
    keys = list(plain(load(grown))["Resources"])
    # The new function sits with the saga's functions (generated order), not at the end of the file.
    assert keys.index("OrderSagaAuditOrderFunction") == keys.index("OrderSagaReserveInventoryLogGroup") + 1
    for block in (USER_HEAD, USER_ALARM, USER_OUTPUT):
        assert block in grown
    # Shrinking back gives the original text byte for byte.
    assert render(grown, generated(order_saga), prune=True) == text


def test_partial_regeneration_keeps_other_sagas_and_pruning_removes_them():
    other = Saga("RefundSaga", steps=[Step("IssueRefund", "tasks.issue_refund.handler")])
    both = render(TEMPLATE.read_text(encoding="utf-8"), generated(order_saga, other), prune=True)
    assert "RefundSagaIssueRefundFunction" in both and "OrderSagaStateMachine" in both
    only_other = render(both, generated(other), prune=False)
    assert only_other == both  # naming some sagas leaves the others alone
    pruned = render(both, generated(order_saga), prune=True)
    assert pruned == TEMPLATE.read_text(encoding="utf-8")


def test_missing_transform_and_sections_are_added():
    text = render("AWSTemplateFormatVersion: '2010-09-09'\nDescription: mine\n", generated(order_saga), prune=True)
    doc = plain(load(text))
    assert doc["Transform"] == "AWS::Serverless-2016-10-31"
    assert doc["Description"] == "mine"
    assert "OrderSagaStateMachine" in doc["Resources"] and "OrderSagaStateMachineArn" in doc["Outputs"]


@pytest.mark.parametrize("text, message", [
    ("Resources: {Bucket: {Type: AWS::S3::Bucket}}\n", "flow style"),
    ("Resources:\n  - not a mapping\n", "is not a mapping"),
    ("Resources: [\n", "not valid YAML"),
    ("Transform: AWS::LanguageExtensions\n", "does not include AWS::Serverless-2016-10-31"),
])
def test_templates_that_cannot_be_updated_safely_are_rejected_with_a_reason(text, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        render(text, generated(order_saga), prune=True)


# --- substitutions --------------------------------------------------------------------------


def test_substitutions_are_exactly_the_placeholders_of_the_committed_asl():
    [machine] = resources_of(committed(), "AWS::Serverless::StateMachine").values()
    props = machine["Properties"]
    asl_text = (ROOT / props["DefinitionUri"]).read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([^}]+)\}", asl_text))
    assert set(props["DefinitionSubstitutions"]) == used == set(placeholders(order_saga))
    assert substitution_problems(TEMPLATE.read_text(encoding="utf-8"), ROOT) == []


def test_substitution_problems_name_each_missing_and_each_extra_placeholder():
    text = TEMPLATE.read_text(encoding="utf-8")
    broken = text.replace("        CancelOrderFunctionArn: !GetAtt OrderSagaCancelOrderFunction.Arn\n", "")
    broken = broken.replace("        DeadLetterQueueUrl:", "        TypoFunctionArn: !Ref Nothing\n        DeadLetterQueueUrl:")
    problems = substitution_problems(broken, ROOT)
    assert len(problems) == 2
    assert "uses ${CancelOrderFunctionArn}, but DefinitionSubstitutions has no CancelOrderFunctionArn" in problems[0]
    assert "DefinitionSubstitutions has TypoFunctionArn, which asl/order_saga.asl.json never uses" in problems[1]


def test_a_saga_without_compensations_has_no_queue_placeholder_and_no_queue_policy():
    saga = Saga("PingSaga", steps=[Step("Ping", "tasks.ping.handler")])
    [g] = generated(saga)
    machine = g.resources["PingSagaStateMachine"]["Properties"]
    assert DLQ_PLACEHOLDER not in to_asl(saga)
    assert list(machine["DefinitionSubstitutions"]) == ["PingFunctionArn"]
    assert not any("SQSSendMessagePolicy" in p for p in machine["Policies"])


# --- least privilege ------------------------------------------------------------------------


def test_no_role_policy_grants_a_star_resource_except_vended_log_delivery():
    doc = committed()
    for key, res in doc["Resources"].items():
        for st in statements(res.get("Properties", {}).get("Policies", [])):
            if st["Resource"] == "*" or "*" in (st["Resource"] if isinstance(st["Resource"], list) else []):
                assert set(st["Action"]) <= set(LOG_DELIVERY_ACTIONS), (key, st)
                assert res["Type"] == "AWS::Serverless::StateMachine", key


def test_each_function_may_use_only_the_tables_its_step_declares():
    doc = committed()
    names = Names(order_saga)
    declared = {s.name: set(s.tables) for s in order_saga.steps}
    declared.update({s.compensation.name: set(s.compensation.tables) for s in order_saga.steps if s.compensation})
    for state, tables in declared.items():
        props = doc["Resources"][names.function(state)]["Properties"]
        refs = {p["DynamoDBCrudPolicy"]["TableName"]["Ref"] for p in props["Policies"] if "DynamoDBCrudPolicy" in p}
        assert refs == {names.table(t) for t in tables}, state
        variables = props["Environment"]["Variables"]
        assert {k for k in variables if k.endswith("_TABLE")} == {order_saga.table(t).env_var for t in tables}
        assert all(variables[order_saga.table(t).env_var] == {"Ref": names.table(t)} for t in tables)
        other = [p for p in props["Policies"] if not ({"DynamoDBCrudPolicy", "KMSDecryptPolicy"} & set(p))]
        assert other == [], state
        assert props["Runtime"] == LAMBDA_RUNTIME


def test_the_state_machine_may_invoke_only_its_own_functions_and_send_only_to_its_queue():
    doc = committed()
    names = Names(order_saga)
    props = doc["Resources"][names.state_machine]["Properties"]
    invoked = [p["LambdaInvokePolicy"]["FunctionName"]["Ref"] for p in props["Policies"] if "LambdaInvokePolicy" in p]
    assert invoked == [names.function(s) for s in order_saga.handlers()]
    [queue] = [p["SQSSendMessagePolicy"]["QueueName"] for p in props["Policies"] if "SQSSendMessagePolicy" in p]
    assert queue == {"Fn::GetAtt": [names.queue, "QueueName"]}
    kms = [st for st in statements(props["Policies"]) if any(a.startswith("kms:") for a in st["Action"])]
    assert [st["Resource"] for st in kms] == [{"Fn::GetAtt": [names.key, "Arn"]}]


def test_after_the_sam_transform_no_iam_statement_has_a_star_resource_beyond_log_delivery(monkeypatch):
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    doc = committed()
    machine = doc["Resources"]["OrderSagaStateMachine"]["Properties"]
    machine["Definition"] = json.loads((ROOT / machine.pop("DefinitionUri")).read_text(encoding="utf-8"))
    for res in resources_of(doc, "AWS::Serverless::Function").values():
        res["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    out = Translator(None, Parser()).translate(copy.deepcopy(doc), parameter_values={})
    roles = resources_of(out, "AWS::IAM::Role")
    assert len(roles) == 1 + len(order_saga.handlers()) + 1  # state machine, functions, API
    managed = set()
    for key, role in roles.items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            managed.add((arn if isinstance(arn, str) else arn["Fn::Sub"]).rsplit("/", 1)[1])
        for policy in role["Properties"].get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                if "*" in resources:
                    assert set(actions) <= set(LOG_DELIVERY_ACTIONS), (key, st)
    # AWS's own service-role policies: logs to CloudWatch, traces to X-Ray. Nothing broader.
    assert managed == {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}
    [api_role] = [r for k, r in roles.items() if k.endswith("HttpPostOrdersRole")]
    [st] = api_role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert st["Action"] == "states:StartExecution" and st["Resource"] == {"Ref": "OrderSagaStateMachine"}


def test_data_at_rest_is_encrypted_with_the_saga_key_and_recoverable():
    doc = committed()
    names = Names(order_saga)
    for table in resources_of(doc, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["Properties"]["SSESpecification"]["KMSMasterKeyId"] == {"Ref": names.key}
        assert table["DeletionPolicy"] == "Retain"
    queue = doc["Resources"][names.queue]["Properties"]
    assert queue == {"MessageRetentionPeriod": 1209600, "KmsMasterKeyId": {"Ref": names.key}}
    for group in resources_of(doc, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [names.key, "Arn"]}
    assert doc["Resources"][names.key]["Properties"]["EnableKeyRotation"] is True


def test_checkov_skips_are_only_the_accepted_serverless_ones_each_with_a_reason():
    allowed = {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_120"}
    for key, res in committed()["Resources"].items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"] in allowed, key
            assert len(skip["comment"]) > 40, key


# --- the HTTP trigger -----------------------------------------------------------------------


def test_the_http_trigger_is_iam_authorized_and_validates_the_body_against_the_order_schema():
    doc = committed()
    api = doc["Resources"]["OrderSagaApi"]["Properties"]
    body = api["DefinitionBody"]
    post = body["paths"]["/orders"]["post"]
    assert post["security"] == [{"sigv4": []}]
    assert body["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert body["x-amazon-apigateway-request-validators"][post["x-amazon-apigateway-request-validator"]]["validateRequestBody"] is True
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    model = body["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert model == {k: v for k, v in ORDER_SCHEMA.items() if k != "$schema"}
    integration = post["x-amazon-apigateway-integration"]
    assert integration["uri"] == {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:states:action/StartExecution"}
    event = doc["Resources"]["OrderSagaStateMachine"]["Properties"]["Events"]["HttpPostOrders"]
    assert event == {"Type": "Api", "Properties": {"RestApiId": {"Ref": "OrderSagaApi"}, "Path": "/orders", "Method": "post"}}


def test_the_order_schema_accepts_the_sample_order_and_rejects_the_invalid_one():
    Draft4Validator.check_schema(ORDER_SCHEMA)
    validator = Draft4Validator(ORDER_SCHEMA)
    assert not list(validator.iter_errors(json.loads((ROOT / "workflows/inputs/order.json").read_text())))
    errors = {e.message for e in validator.iter_errors(json.loads((ROOT / "workflows/inputs/invalid_order.json").read_text()))}
    assert any("euro" in m for m in errors) and any("-1" in m for m in errors)


def test_a_users_own_saga_gets_an_express_machine_and_an_eventbridge_rule():
    saga = Saga(
        "ShipmentSaga",
        workflow_type="EXPRESS",
        tables=[Table("shipments", partition_key="shipment_id", sort_key="version")],
        steps=[
            Step("BookCarrier", "handlers.book.handler", tables=["shipments"],
                 compensation=Compensation("CancelCarrier", "handlers.cancel.handler", tables=["shipments"])),
            Step("PrintLabel", "handlers.label.handler"),
        ],
        triggers=[EventTrigger("shop.orders", "OrderPaid", bus="shop"), HttpTrigger("/shipments")],
    )
    [g] = generated(saga)
    machine = g.resources["ShipmentSagaStateMachine"]["Properties"]
    assert machine["Type"] == "EXPRESS"
    assert machine["Logging"]["Level"] == "ALL"
    rule = machine["Events"]["OnOrderPaid"]["Properties"]
    assert rule["EventBusName"] == "shop"
    assert rule["Pattern"] == {"source": ["shop.orders"], "detail-type": ["OrderPaid"]}
    assert rule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ShipmentSagaDeadLetterQueue", "Arn"]}}
    assert g.resources["ShipmentSagaBookCarrierFunction"]["Properties"]["CodeUri"] == "handlers/"
    table = g.resources["ShipmentSagaShipmentsTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "shipment_id", "KeyType": "HASH"}, {"AttributeName": "version", "KeyType": "RANGE"}]
    assert "schemas" not in g.resources["ShipmentSagaApi"]["Properties"]["DefinitionBody"]["components"]  # no schema, no model
    sids = [s["Sid"] for s in g.resources["ShipmentSagaKey"]["Properties"]["KeyPolicy"]["Statement"]]
    assert "EventBridgeDeadLettersUndeliveredTriggers" in sids
    assert all(r["Metadata"][MARKER]["saga"] == "ShipmentSaga" for r in g.resources.values())


# --- CLI and check --------------------------------------------------------------------------


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A copy of the repository's workflows, asl and handlers in a temporary project root."""
    for name in ("workflows", "asl"):
        (tmp_path / name).mkdir()
    for code in ("tasks", "compensations"):  # stepsaga check imports every handler from its code folder
        shutil.copytree(ROOT / code, tmp_path / code, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "workflows" / "order_saga.py").write_text((ROOT / "workflows/order_saga.py").read_text())
    (tmp_path / "asl" / "order_saga.asl.json").write_text((ROOT / "asl/order_saga.asl.json").read_text())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_template_writes_then_leaves_the_file_unchanged(project, capsys):
    assert main(["template"]) == 0
    assert (project / "template.yaml").read_text() == TEMPLATE.read_text()
    assert "wrote template.yaml" in capsys.readouterr().err
    assert main(["template", "workflows/order_saga.py", "-t", "template.yaml"]) == 0
    assert "unchanged: template.yaml" in capsys.readouterr().err


def test_check_fails_when_the_template_is_out_of_date(project):
    assert main(["template"]) == 0
    out, err = io.StringIO(), io.StringIO()
    assert check(Path("workflows"), Path("asl"), out, err) == 0
    assert "match asl/ and template.yaml" in out.getvalue()
    path = project / "template.yaml"
    path.write_text(path.read_text().replace("MemorySize: 256", "MemorySize: 128", 1))
    out, err = io.StringIO(), io.StringIO()
    assert check(Path("workflows"), Path("asl"), out, err) == 1
    assert "template.yaml is out of date with workflows/; run: stepsaga template" in err.getvalue()
    assert "-      MemorySize: 128" in out.getvalue()


def test_check_fails_when_an_asl_placeholder_has_no_substitution(project):
    assert main(["template"]) == 0
    asl = project / "asl" / "order_saga.asl.json"
    asl.write_text(asl.read_text().replace("${CancelOrderFunctionArn}", "${CancelOrderFnArn}"))
    err = io.StringIO()
    assert check(Path("workflows"), Path("asl"), io.StringIO(), err) == 1
    assert "uses ${CancelOrderFnArn}, but DefinitionSubstitutions has no CancelOrderFnArn" in err.getvalue()
    assert "DefinitionSubstitutions has CancelOrderFunctionArn, which asl/order_saga.asl.json never uses" in err.getvalue()


def test_sync_file_reports_whether_it_wrote(project):
    layout = Layout(project / "deploy" / "template.yaml", project / "asl", project)
    assert sync_file(layout, [order_saga], prune=True) is True
    assert sync_file(layout, [order_saga], prune=True) is False
    doc = plain(load((project / "deploy" / "template.yaml").read_text()))
    # Paths are relative to the template's folder, as SAM resolves them.
    assert doc["Resources"]["OrderSagaStateMachine"]["Properties"]["DefinitionUri"] == "../asl/order_saga.asl.json"
    assert doc["Resources"]["OrderSagaCancelOrderFunction"]["Properties"]["CodeUri"] == "../compensations/"
