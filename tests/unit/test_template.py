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

from stepsaga import Compensation, EventTrigger, HttpTrigger, Retry, Saga, Step, Table
from stepsaga.check import check
from stepsaga.choreography.plan import plan
from stepsaga.cli import main
from stepsaga.names import DLQ_PLACEHOLDER
from stepsaga.orchestration import placeholders, to_asl
from stepsaga.lambda_timeout import TIMEOUT_MARGIN_SECONDS, function_timeout
from stepsaga.sam import (
    COMPENSATION_RESERVED_CONCURRENCY, LAMBDA_RUNTIME, LOG_DELIVERY_ACTIONS, MARKER, Layout, Names, TemplateError,
    generated_owners, load, plain, render, substitution_problems, sync_file, unbounded,
)
from stepsaga.table_access import actions
from tests.sam_helpers import transformed
from workflows.order_saga import ORDER_SCHEMA
from workflows.order_saga import saga as order_saga

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
LAYOUT = Layout(TEMPLATE, ROOT / "asl", ROOT)


def generated(*sagas: Saga) -> list:
    return LAYOUT.generate(list(sagas))


def order_only() -> str:
    """The template of the order saga alone (the committed file may also hold a user's own sagas)."""
    return render(None, generated(order_saga), prune=True)


def committed() -> dict:
    """The committed template with only the order saga's generated resources and outputs."""
    doc = plain(load(TEMPLATE.read_text(encoding="utf-8")))
    owners, outputs = generated_owners(doc)
    doc["Resources"] = {k: r for k, r in doc["Resources"].items() if owners.get(k) == order_saga.name}
    doc["Outputs"] = {k: o for k, o in doc.get("Outputs", {}).items() if k in outputs.get(order_saga.name, [])}
    return doc


def resources_of(doc: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in doc["Resources"].items() if r["Type"] == kind}


def statements(policies: list) -> list[dict]:
    """The inline statements of a SAM Policies list (policy templates are not statements)."""
    out = []
    for p in policies:
        if isinstance(p, dict) and "PolicyDocument" in p:  # an AWS::IAM::Role's inline policy
            p = p["PolicyDocument"]
        if isinstance(p, dict) and "Statement" in p:
            out.extend(p["Statement"])
    return out


def as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def declarations(saga: Saga) -> dict:
    """State -> its Step or Compensation."""
    out = {s.name: s for s in saga.steps}
    out.update({s.compensation.name: s.compensation for s in saga.steps if s.compensation})
    return out


# --- golden and determinism -----------------------------------------------------------------


def test_template_matches_the_committed_golden_file():
    [g] = generated(order_saga)
    doc = committed()
    assert doc["Resources"] == plain(g.resources)
    assert doc["Outputs"] == plain(g.outputs)


def test_regenerating_the_committed_template_changes_nothing():
    # prune=False: a user's own sagas in the file are not this test's business (`stepsaga check` covers them).
    text = TEMPLATE.read_text(encoding="utf-8")
    assert render(text, generated(order_saga), prune=False) == text


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
    assert outputs == {order_only()}


def test_the_compile_path_never_imports_the_yaml_or_aws_libraries(tmp_path):
    code = (
        "import sys; from stepsaga.cli import main; rc = main(['compile', 'workflows/order_saga.py', '-o', sys.argv[1]]); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('ruamel', 'boto3', 'botocore', 'moto', 'samtranslator') or m.startswith('stepsaga.sam')); "
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
    # Put the alarm between two generated resources, right before the key.
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
    assert keys.index("RepairAlarm") == keys.index("OrderSagaKey") - 1
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
    both = render(order_only(), generated(order_saga, other), prune=True)
    assert "RefundSagaIssueRefundFunction" in both and "OrderSagaStateMachine" in both
    only_other = render(both, generated(other), prune=False)
    assert only_other == both  # naming some sagas leaves the others alone
    pruned = render(both, generated(order_saga), prune=True)
    assert pruned == order_only()


def test_pruning_the_saga_whose_resources_come_first_leaves_no_blank_line_under_resources():
    other = Saga("RefundSaga", steps=[Step("IssueRefund", "tasks.issue_refund.handler")])
    both = render(render(None, generated(other), prune=True), generated(other, order_saga), prune=True)
    assert "\nResources:\n  RefundSagaStateMachine:" in both
    pruned = render(both, generated(order_saga), prune=True)
    assert "\nResources:\n  OrderSagaStateMachine:" in pruned  # as the first entry sat, not pushed down by a blank line
    assert render(pruned, generated(order_saga), prune=True) == pruned


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
    text = order_only()
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
    for state, decl in declarations(order_saga).items():
        props = doc["Resources"][names.function(state)]["Properties"]
        assert "Policies" not in props and props["Role"] == {"Fn::GetAtt": [names.role(state), "Arn"]}, state
        role = doc["Resources"][names.role(state)]["Properties"]
        granted = {}
        for st in statements(role["Policies"]):
            if any(a.startswith("dynamodb:") for a in as_list(st["Action"])):
                [table_arn] = [r for r in as_list(st["Resource"]) if "Fn::GetAtt" in r]
                granted[table_arn["Fn::GetAtt"][0]] = sorted(a.removeprefix("dynamodb:") for a in st["Action"])
        assert granted == {names.table(t): sorted(actions(how)) for t, how in decl.access}, state
        variables = props["Environment"]["Variables"]
        assert {k for k in variables if k.endswith("_TABLE")} == {order_saga.table(t).env_var for t in decl.tables}
        assert all(variables[order_saga.table(t).env_var] == {"Ref": names.table(t)} for t in decl.tables)
        assert props["Runtime"] == LAMBDA_RUNTIME


#: What each reference handler calls (read from tasks/ and compensations/): issue 7.15's examples are
#: RefundPayment, which could delete payment rows, and SendNotification, which could scan every order.
REFERENCE_ACTIONS = {
    "ValidateOrder": {"OrderSagaOrdersTable": ["GetItem", "PutItem"]},
    "ProcessPayment": {"OrderSagaPaymentsTable": ["GetItem", "PutItem"]},
    "ReserveInventory": {"OrderSagaInventoryTable": ["GetItem", "PutItem", "UpdateItem"]},  # TransactWriteItems: Update + Put
    "SendNotification": {"OrderSagaOrdersTable": ["GetItem", "UpdateItem"]},
    "ReleaseInventory": {"OrderSagaInventoryTable": ["GetItem", "UpdateItem"]},  # TransactWriteItems: Updates
    "RefundPayment": {"OrderSagaPaymentsTable": ["GetItem", "UpdateItem"]},
    "CancelOrder": {"OrderSagaOrdersTable": ["GetItem", "UpdateItem"]},
}


def test_the_reference_handlers_get_exactly_the_dynamodb_actions_they_call():
    doc = committed()
    names = Names(order_saga)
    for state, expected in REFERENCE_ACTIONS.items():
        role = doc["Resources"][names.role(state)]["Properties"]
        got = {}
        for st in statements(role["Policies"]):
            if any(a.startswith("dynamodb:") for a in as_list(st["Action"])):
                assert len(st["Resource"]) == 1  # item actions only: no statement reaches the table's indexes
                got[st["Resource"][0]["Fn::GetAtt"][0]] = sorted(a.removeprefix("dynamodb:") for a in st["Action"])
        assert got == expected, state
    every = {a for st in statements([p for r in doc["Resources"].values() if r["Type"] == "AWS::IAM::Role" for p in r["Properties"]["Policies"]])
             for a in as_list(st["Action"])}
    assert not every & {"dynamodb:DeleteItem", "dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"}


def test_table_access_is_a_preset_an_action_list_or_the_read_write_default():
    saga = Saga("AccessSaga", tables=[Table("orders", "id"), Table("audit", "id")], steps=[
        Step("Plain", "tasks.a.handler", tables=["orders"]),
        Step("Reader", "tasks.b.handler", tables={"orders": "read", "audit": ["write", "Scan"]}),
    ])
    [g] = generated(saga)
    n = Names(saga)

    def granted(state: str) -> dict:
        out = {}
        for st in statements(g.resources[n.role(state)]["Properties"]["Policies"]):
            if any(a.startswith("dynamodb:") for a in as_list(st["Action"])):
                out[st["Resource"][0]["Fn::GetAtt"][0]] = ([a.removeprefix("dynamodb:") for a in st["Action"]], st["Resource"][1:])
        return out

    read = ["GetItem", "BatchGetItem", "Query", "ConditionCheckItem"]
    write = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]
    index = [{"Fn::Sub": "${AccessSagaOrdersTable.Arn}/index/*"}]
    # The default is item reads and writes: no Scan, no DescribeTable, no PartiQL.
    assert granted("Plain") == {"AccessSagaOrdersTable": (read + write, index)}
    assert granted("Reader") == {
        "AccessSagaOrdersTable": (read, index),
        "AccessSagaAuditTable": (["Scan"] + write, [{"Fn::Sub": "${AccessSagaAuditTable.Arn}/index/*"}]),
    }
    assert saga.step("Reader").replace(comment="x").access == saga.step("Reader").access  # replace keeps the access


def test_each_function_writes_logs_only_to_its_own_log_group():
    doc = committed()
    names = Names(order_saga)
    for state in order_saga.handlers():
        role = doc["Resources"][names.role(state)]["Properties"]
        logs = [st for st in statements(role["Policies"]) if any(a.startswith("logs:") for a in as_list(st["Action"]))]
        assert logs == [{"Sid": "WriteItsOwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                         "Resource": {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                                                 + names.function_log_group_name(state) + ":*"}}], state
        # Not SAM's AWSLambdaBasicExecutionRole, whose log actions are on "*".
        assert [a["Fn::Sub"].rsplit("/", 1)[1] for a in role["ManagedPolicyArns"]] == ["AWSXrayWriteOnlyAccess"]
        assert doc["Resources"][names.function(state)]["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": names.function_logs(state)}


def test_compensations_reserve_a_little_concurrency_and_steps_say_why_they_do_not():
    doc = committed()
    names = Names(order_saga)
    compensations = {s.compensation.name for s in order_saga.compensatable}
    assert compensations == {"CancelOrder", "RefundPayment", "ReleaseInventory"}
    for state in order_saga.handlers():
        res = doc["Resources"][names.function(state)]
        skips = {k["id"] for k in res["Metadata"]["checkov"]["skip"]}
        if state in compensations:
            assert res["Properties"]["ReservedConcurrentExecutions"] == COMPENSATION_RESERVED_CONCURRENCY
            assert "CKV_AWS_115" not in skips
        else:
            assert "ReservedConcurrentExecutions" not in res["Properties"]
            assert "CKV_AWS_115" in skips


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
    for res in resources_of(doc, "AWS::Serverless::LayerVersion").values():
        res["Properties"]["ContentUri"] = "s3://bucket/layer.zip"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    out = Translator(None, Parser()).translate(copy.deepcopy(doc), parameter_values={})
    roles = resources_of(out, "AWS::IAM::Role")
    # state machine, functions, the API's; with a choreography, each consumer and its API's
    consumers = len(plan(order_saga).consumers) + 1 if "choreography" in order_saga.modes else 0
    assert len(roles) == 1 + len(order_saga.handlers()) + 1 + consumers
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
    # AWS's own policy for X-Ray traces, whose actions take no resource. Logs: each function's own role.
    assert managed == {"AWSXrayWriteOnlyAccess"}
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
        # short timeouts and few compensation retries: the worst case must fit Express's 300 s
        task_timeout_seconds=20,
        compensation_retry=Retry(["States.ALL"], interval_seconds=1, max_attempts=2),
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


# --- Lambda timeouts (issue 7.8) -------------------------------------------------------------


def test_every_function_times_out_before_its_task_with_room_for_a_cold_start():
    doc = committed()
    names = Names(order_saga)
    machine = doc["Resources"][names.state_machine]["Properties"]
    states = json.loads((ROOT / machine["DefinitionUri"]).read_text(encoding="utf-8"))["States"]
    for state in order_saga.handlers():
        timeout = doc["Resources"][names.function(state)]["Properties"]["Timeout"]
        task = states[state]
        deadline = min(task["TimeoutSeconds"], task.get("HeartbeatSeconds", task["TimeoutSeconds"]))
        assert timeout == deadline - TIMEOUT_MARGIN_SECONDS == 49, state  # the 60 s default Task: 49 s


def test_a_heartbeat_is_the_deadline_and_lambdas_own_cap_applies():
    saga = Saga("TimeSaga", task_timeout_seconds=3600, steps=[
        Step("Long", "tasks.a.handler"),
        Step("Beating", "tasks.b.handler", timeout_seconds=300, heartbeat_seconds=30),
        Step("Shortest", "tasks.c.handler", timeout_seconds=12,
             compensation=Compensation("Undo", "compensations.u.handler", timeout_seconds=100, heartbeat_seconds=40)),
    ])
    [g] = generated(saga)
    n = Names(saga)
    timeouts = {s: g.resources[n.function(s)]["Properties"]["Timeout"] for s in saga.handlers()}
    assert timeouts == {"Long": 900, "Beating": 19, "Shortest": 1, "Undo": 29}
    assert function_timeout(60) == 49 and function_timeout(60, 20) == 9
    with pytest.raises(ValueError, match="use 12 s or more"):
        function_timeout(11)


# --- what other services write (issue 7.8) --------------------------------------------------


def shipment_saga() -> Saga:
    return Saga(
        "ShipmentSaga",
        workflow_type="EXPRESS",
        # short timeouts and few compensation retries: the worst case must fit Express's 300 s
        task_timeout_seconds=20,
        compensation_retry=Retry(["States.ALL"], interval_seconds=1, max_attempts=2),
        tables=[Table("shipments", partition_key="shipment_id")],
        steps=[
            Step("BookCarrier", "handlers.book.handler", tables={"shipments": ["GetItem", "PutItem"]},
                 compensation=Compensation("CancelCarrier", "handlers.cancel.handler", tables={"shipments": "write"})),
            Step("PrintLabel", "handlers.label.handler"),
        ],
        triggers=[EventTrigger("shop.orders", "OrderPaid", bus="shop"), EventTrigger("shop.orders", "OrderRetried")],
    )


def test_eventbridge_may_dead_letter_to_the_queue_for_exactly_the_sagas_rules(monkeypatch):
    saga = shipment_saga()
    [g] = generated(saga)
    n = Names(saga)
    policy = g.resources[n.queue_policy]["Properties"]
    assert policy["Queues"] == [{"Ref": n.queue}]
    [st] = policy["PolicyDocument"]["Statement"]
    assert (st["Effect"], st["Principal"], st["Action"], st["Resource"]) == (
        "Allow", {"Service": "events.amazonaws.com"}, "sqs:SendMessage", {"Fn::GetAtt": [n.queue, "Arn"]})
    rules = st["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert rules == [{"Fn::GetAtt": [n.rule("OnOrderPaid"), "Arn"]}, {"Fn::GetAtt": [n.rule("OnOrderRetried"), "Arn"]}]
    # Those are the logical IDs of the rules SAM generates, each dead-lettering to this queue.
    out = transformed(g.resources, monkeypatch)
    generated_rules = {k: r for k, r in out["Resources"].items() if r["Type"] == "AWS::Events::Rule"}
    assert set(generated_rules) == {n.rule("OnOrderPaid"), n.rule("OnOrderRetried")}
    for rule in generated_rules.values():
        [target] = rule["Properties"]["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [n.queue, "Arn"]}}
    # The queue is encrypted: EventBridge may use the key for it.
    key = {x["Sid"]: x for x in g.resources[n.key]["Properties"]["KeyPolicy"]["Statement"]}
    events = key["EventBridgeDeadLettersUndeliveredTriggers"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"} and set(events["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_without_an_event_trigger_no_one_else_may_write_to_the_queue():
    [g] = generated(order_saga)
    n = Names(order_saga)
    assert n.queue_policy not in g.resources
    sids = [x["Sid"] for x in g.resources[n.key]["Properties"]["KeyPolicy"]["Statement"]]
    assert "EventBridgeDeadLettersUndeliveredTriggers" not in sids


def test_the_key_lets_cloudwatch_logs_encrypt_every_log_group_of_the_saga_and_no_other():
    doc = committed()
    n = Names(order_saga)
    key = {x["Sid"]: x for x in doc["Resources"][n.key]["Properties"]["KeyPolicy"]["Statement"]}
    allowed = key["CloudWatchLogsEncryptsTheSagaLogGroups"]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    groups = {g["Properties"]["LogGroupName"]["Fn::Sub"] for g in resources_of(doc, "AWS::Logs::LogGroup").values()}
    # functions, state machine, API access logs; with a choreography, each consumer and its API's access logs
    consumers = len(plan(order_saga).consumers) + 1 if "choreography" in order_saga.modes else 0
    assert len(groups) == len(order_saga.handlers()) + 2 + consumers
    arn = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
    assert sorted(a["Fn::Sub"] for a in allowed) == sorted(arn + g for g in groups)


def test_alarms_watch_the_queue_and_the_executions_and_may_publish_to_the_encrypted_topic():
    import fnmatch

    doc = committed()
    n = Names(order_saga)
    alarms = resources_of(doc, "AWS::CloudWatch::Alarm")
    watched = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]): a["Properties"] for a in alarms.values()}
    assert set(watched) == {("AWS/SQS", "ApproximateNumberOfMessagesVisible"), ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
                            ("AWS/States", "ExecutionsFailed"), ("AWS/States", "ExecutionsTimedOut")}
    depth = watched["AWS/SQS", "ApproximateNumberOfMessagesVisible"]
    assert depth["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [n.queue, "QueueName"]}}]
    assert (depth["Threshold"], depth["ComparisonOperator"]) == (0, "GreaterThanThreshold")  # one record is enough
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
        assert watched["AWS/States", metric]["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": n.state_machine}}]
        assert (watched["AWS/States", metric]["Statistic"], watched["AWS/States", metric]["Threshold"]) == ("Sum", 0)
    age = watched["AWS/SQS", "ApproximateAgeOfOldestMessage"]
    retention = doc["Resources"][n.queue]["Properties"]["MessageRetentionPeriod"]
    assert 0 < age["Threshold"] < retention  # heard about before SQS deletes it
    topic = doc["Resources"][n.alarm_topic]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": n.key}
    [st] = doc["Resources"][n.alarm_topic_policy]["Properties"]["PolicyDocument"]["Statement"]
    assert (st["Principal"], st["Action"], st["Resource"]) == ({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish", {"Ref": n.alarm_topic})
    key = {x["Sid"]: x for x in doc["Resources"][n.key]["Properties"]["KeyPolicy"]["Statement"]}["CloudWatchAlarmsNotifyThroughTheEncryptedTopic"]
    assert key["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    for pattern in (st["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"], key["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]):
        for alarm in alarms.values():
            arn = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:" + alarm["Properties"]["AlarmName"]["Fn::Sub"]
            assert fnmatch.fnmatchcase(arn, pattern), (arn, pattern)
            assert alarm["Properties"]["AlarmActions"] == [{"Ref": n.alarm_topic}]
    assert doc["Outputs"][f"{n.alarm_topic}Arn"]["Value"] == {"Ref": n.alarm_topic}


def test_the_state_machine_can_write_to_its_encrypted_queue_and_api_gateway_can_start_it(monkeypatch):
    doc = committed()
    n = Names(order_saga)
    props = doc["Resources"][n.state_machine]["Properties"]
    assert {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": [n.queue, "QueueName"]}}} in props["Policies"]
    [kms] = [st for st in statements(props["Policies"]) if st["Sid"] == "SendToTheEncryptedDeadLetterQueue"]
    assert set(kms["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    # The key policy delegates to IAM in the account, so the role's own statement is enough.
    key = {x["Sid"]: x for x in doc["Resources"][n.key]["Properties"]["KeyPolicy"]["Statement"]}
    assert key["AccountGrantsThroughIam"]["Action"] == "kms:*"
    api_body = doc["Resources"][n.api]["Properties"]["DefinitionBody"]
    integration = api_body["paths"]["/orders"]["post"]["x-amazon-apigateway-integration"]
    assert integration["credentials"] == {"Fn::GetAtt": [f"{n.state_machine}HttpPostOrdersRole", "Arn"]}


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
    # Paths are the project's own (the adapter layer's too: from this project to the installed stepsaga).
    here = Layout(project / "template.yaml", project / "asl", project)
    assert (project / "template.yaml").read_text() == render(None, here.generate([order_saga]), prune=True)
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


def test_cli_template_compiles_a_missing_asl_so_that_definition_uri_names_a_real_file(project, capsys):
    asl = project / "asl" / "order_saga.asl.json"
    asl.unlink()
    assert main(["template"]) == 0
    assert asl.read_text() == to_asl(order_saga)
    err = capsys.readouterr().err
    assert "wrote asl/order_saga.asl.json" in err and "wrote template.yaml" in err
    assert substitution_problems((project / "template.yaml").read_text(), project) == []
    asl.write_text(asl.read_text().replace('"Type": "Task"', '"Type":  "Task"', 1))  # stale: rewritten too
    assert main(["template"]) == 0
    assert asl.read_text() == to_asl(order_saga)
    assert main(["template"]) == 0
    assert "unchanged: asl/order_saga.asl.json" in capsys.readouterr().err


# --- the request schema (issue 7.11) ---------------------------------------------------------


def test_the_order_schema_rejects_a_padded_request_before_it_can_outgrow_the_state_limit():
    validator = Draft4Validator(ORDER_SCHEMA)
    order = json.loads((ROOT / "workflows/inputs/order.json").read_text())
    padded = {**order, "note": "x" * 261200}  # the example: FAILED after the payment, charged
    assert any("Additional properties" in e.message for e in validator.iter_errors(padded))
    for nested in ({**order, "payment": {**order["payment"], "note": "x"}},
                   {**order, "items": [{**order["items"][0], "note": "x"}]},
                   {**order, "order_id": "o" * 65}):
        assert list(validator.iter_errors(nested)), nested
    assert unbounded(ORDER_SCHEMA) == []


def test_the_largest_request_the_schema_accepts_leaves_the_state_document_room():
    longest_id = "A" * 64
    item = {"sku": longest_id, "quantity": 1000, "unit_price": "9999999999.99"}
    biggest = {"order_id": longest_id, "customer_id": longest_id, "currency": "EUR",
               "items": [{**item, "sku": f"{i:064d}"} for i in range(50)], "payment": {"card_token": "t" * 256}}
    assert not list(Draft4Validator(ORDER_SCHEMA).iter_errors(biggest))
    assert len(json.dumps(biggest, separators=(",", ":")).encode()) < 16 * 1024  # of Step Functions' 256 KiB


def test_unbounded_names_each_place_a_schema_lets_a_request_grow():
    schema = {"type": "object", "properties": {
        "a": {"type": "string"}, "b": {"type": "array", "items": {"type": "object"}}, "c": {}, "d": {"enum": ["x"]},
        "e": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}, "maxProperties": 5},
    }}
    assert unbounded(schema) == [
        "$: takes keys it does not name; add additionalProperties: false",
        "$.a: a string without maxLength; add maxLength",
        "$.b: an array without maxItems; add maxItems",
        "$.b[*]: takes keys it does not name; add additionalProperties: false",
        "$.c: accepts any JSON value; give it a type",
    ]


def test_cli_template_warns_about_an_unbounded_or_missing_request_schema(tmp_path, monkeypatch, capsys):
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "loose.py").write_text(
        "from stepsaga import HttpTrigger, Saga, Step\n"
        "saga = Saga('LooseSaga', [Step('Go', 'tasks.go.handler')], triggers=[\n"
        "    HttpTrigger('/loose', schema={'type': 'object', 'properties': {'note': {'type': 'string'}}}),\n"
        "    HttpTrigger('/bare')])\n")
    monkeypatch.chdir(tmp_path)
    assert main(["template"]) == 0
    err = capsys.readouterr().err
    assert "warning: saga LooseSaga: triggers[0].schema: $: takes keys it does not name; add additionalProperties: false" in err
    assert "warning: saga LooseSaga: triggers[0].schema: $.note: a string without maxLength; add maxLength" in err
    assert "warning: saga LooseSaga: triggers[1].schema is not set" in err
