"""Deploy smoke test: template.yaml through SAM's own transform (in-process), then into moto's CloudFormation.

What the harness does that ``sam deploy`` would do differently, and why (workarounds live here only,
never in the shipped template):

* ``sam package`` uploads each CodeUri folder to S3; here the folders are zipped into moto's S3.
* The ASL is inlined as ``Definition`` and, after the transform, its text is wrapped in ``Fn::Sub``
  with the substitutions, because moto's CloudFormation ignores ``DefinitionSubstitutions``.
* moto's ``AWS::ApiGateway::RestApi`` ignores ``Body`` (the OpenAPI document), so the API's
  Deployment and Stage, which need the methods it would define, are left out; the RestApi, the role
  API Gateway uses to start executions, and the OpenAPI body's content are still checked.
* moto's CloudFormation skips ``AWS::SQS::QueuePolicy``, ``AWS::SNS::TopicPolicy`` and
  ``AWS::CloudWatch::Alarm``. The harness lets moto resolve their intrinsics (as stack Outputs), then
  applies them through the services' own APIs, so their references are checked against the real
  resources: the rule ARN a queue policy names, the queue and state machine an alarm watches.
* moto's ``AWS::Lambda::Function`` ignores ``Layers``, and its ``AWS::DynamoDB::Table`` ignores
  ``TimeToLiveSpecification``: those two are checked in the transformed template CloudFormation would get.
* moto's SQS event source mappings invoke their function (through Docker) as soon as a message arrives;
  the choreography checks disable them first, then put events on the bus and read the queues themselves.
  moto delivers an event to a rule's SQS target without reading the queue's policy, so the policies are
  checked by what they name.
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import io
import json
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from moto import mock_aws
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from stepsaga import Compensation, EventTrigger, HttpTrigger, Retry, Saga, Step, Table
from stepsaga import names as stepsaga_names
from stepsaga.choreography import delivery, limits
from stepsaga.choreography.config import consumer_config, service_config
from stepsaga.choreography.plan import plan, trigger_pattern
from stepsaga.lambda_timeout import TIMEOUT_MARGIN_SECONDS
from stepsaga.sam import COMPENSATION_RESERVED_CONCURRENCY, Layout, Names, load, plain, render, table_actions
from workflows.order_saga import saga as order_saga

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
BUCKET = "stepsaga-smoke-artifacts"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


@pytest.fixture()
def aws(monkeypatch):
    for key, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield


# --- harness --------------------------------------------------------------------------------


def package(doc: dict[str, Any], base: Path) -> dict[str, Any]:
    """What ``sam package`` does: code folders to S3; the ASL inlined so that it can be folded below."""
    doc = copy.deepcopy(doc)
    s3 = boto3.client("s3", region_name=REGION)
    for key, res in doc["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion"):
            uri = "CodeUri" if res["Type"] == "AWS::Serverless::Function" else "ContentUri"
            folder = base / props[uri]
            prefix = "python/" if uri == "ContentUri" else ""  # where a Python layer's modules go (sam build)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                for path in sorted(folder.rglob("*.py")):
                    zf.write(path, prefix + path.relative_to(folder).as_posix())
            s3.put_object(Bucket=BUCKET, Key=f"{key}.zip", Body=buf.getvalue())
            props[uri] = f"s3://{BUCKET}/{key}.zip"
        elif res["Type"] == "AWS::Serverless::StateMachine":
            props["Definition"] = json.loads((base / props.pop("DefinitionUri")).read_text(encoding="utf-8"))
    return doc


def transform(doc: dict[str, Any]) -> dict[str, Any]:
    """SAM's own transform, in-process (the same library ``sam validate`` and CloudFormation run)."""
    out = Translator(None, Parser()).translate(copy.deepcopy(doc), parameter_values={})
    for res in out["Resources"].values():
        if res["Type"] == "AWS::StepFunctions::StateMachine":
            # moto quirk: DefinitionSubstitutions are ignored, so fold them into the definition.
            props = res["Properties"]
            subs = props.pop("DefinitionSubstitutions")
            text = "\n".join(props["DefinitionString"]["Fn::Join"][1])
            props["DefinitionString"] = {"Fn::Sub": [text, subs]}
    for key in [k for k, r in out["Resources"].items() if r["Type"] in ("AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage")]:
        del out["Resources"][key]  # moto quirk: RestApi ignores Body, so a Deployment would find no methods
    return out


#: Resource types moto's CloudFormation skips; ``apply_unsupported`` creates them through the APIs.
UNSUPPORTED = ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::CloudWatch::Alarm")
_RESOLVED = "StepsagaHarnessResolved"


def _lift_intrinsics(value: Any, outputs: dict[str, Any]) -> Any:
    """Replace every intrinsic in ``value`` by a placeholder whose stack Output moto will resolve."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Ref", "Fn::GetAtt", "Fn::Sub"):
        name = f"{_RESOLVED}{len(outputs)}"
        outputs[name] = {"Value": value}
        return {_RESOLVED: name}
    if isinstance(value, dict):
        return {k: _lift_intrinsics(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_lift_intrinsics(v, outputs) for v in value]
    return value


def _resolve(value: Any, outputs: dict[str, str]) -> Any:
    if isinstance(value, dict) and set(value) == {_RESOLVED}:
        return outputs[value[_RESOLVED]]
    if isinstance(value, dict):
        return {k: _resolve(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, outputs) for v in value]
    return value


def apply_unsupported(resources: dict[str, Any], outputs: dict[str, str]) -> None:
    """Create the resources moto's CloudFormation skipped, with their intrinsics resolved by moto."""
    for res in resources.values():
        props = _resolve(res["Properties"], outputs)
        if res["Type"] == "AWS::SQS::QueuePolicy":
            for url in props["Queues"]:
                boto3.client("sqs", region_name=REGION).set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
        elif res["Type"] == "AWS::SNS::TopicPolicy":
            for arn in props["Topics"]:
                boto3.client("sns", region_name=REGION).set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(props["PolicyDocument"]))
        else:
            props["Threshold"] = float(props["Threshold"])
            boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(**props)


def deploy(template_text: str, base: Path, stack: str) -> dict[str, Any]:
    """Create the stack in moto; return {logical id: physical id} with the outputs under 'Outputs'."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    body = transform(package(plain(load(template_text)), base))
    lifted: dict[str, Any] = {}
    skipped = {k: _lift_intrinsics(body["Resources"].pop(k), lifted) for k in [k for k, r in body["Resources"].items() if r["Type"] in UNSUPPORTED]}
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps({**body, "Outputs": {**body.get("Outputs", {}), **lifted}}),
                     Capabilities=CAPABILITIES)
    [desc] = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert desc["StackStatus"] == "CREATE_COMPLETE", desc.get("StackStatusReason")
    summaries = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    assert all(s["ResourceStatus"] == "CREATE_COMPLETE" for s in summaries)
    ids: dict[str, Any] = {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in desc.get("Outputs", [])}
    apply_unsupported(skipped, outputs)
    ids["Outputs"] = {k: v for k, v in outputs.items() if not k.startswith(_RESOLVED)}
    ids["Transformed"] = {**body, "Resources": {**body["Resources"], **skipped}}
    return ids


def role_statements(role: str) -> list[dict[str, Any]]:
    """Every inline statement of a role (moto keeps a CloudFormation-made document as Python repr text)."""
    iam = boto3.client("iam", region_name=REGION)
    out = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(doc, str):
            doc = ast.literal_eval(unquote(doc))
        out.extend(doc["Statement"])
    return out


def function_arn(physical_id: str) -> str:
    return boto3.client("lambda", region_name=REGION).get_function(FunctionName=physical_id)["Configuration"]["FunctionArn"]


# --- tests ----------------------------------------------------------------------------------


def test_the_order_saga_template_deploys_with_its_functions_state_machine_tables_and_queue(aws):
    ids = deploy((ROOT / "template.yaml").read_text(encoding="utf-8"), ROOT, "order-saga")
    n = Names(order_saga)
    lam = boto3.client("lambda", region_name=REGION)
    ddb = boto3.client("dynamodb", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    sfn = boto3.client("stepfunctions", region_name=REGION)

    tables = {t.name: ids[n.table(t.name)] for t in order_saga.tables}
    for name, physical in tables.items():
        table = ddb.describe_table(TableName=physical)["Table"]
        assert table["KeySchema"][0]["AttributeName"] == order_saga.table(name).partition_key
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"

    queue_url = ids[n.queue]
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attrs["MessageRetentionPeriod"] == "1209600"
    assert attrs["KmsMasterKeyId"] == ids[n.key]

    arns = {}
    for state, action in order_saga.handlers().items():
        config = lam.get_function(FunctionName=ids[n.function(state)])["Configuration"]
        arns[state] = config["FunctionArn"]
        assert config["Handler"] == action.split(".", 1)[1]
        assert config["Runtime"] == "python3.12"
        step = next((s for s in order_saga.steps if s.name == state), None)
        declared = step.tables if step else next(s.compensation.tables for s in order_saga.steps if s.compensation and s.compensation.name == state)
        env = config["Environment"]["Variables"]
        # Each handler finds exactly its own tables, by their deployed names.
        assert {k: v for k, v in env.items() if k.endswith("_TABLE")} == {order_saga.table(t).env_var: tables[t] for t in declared}

    machine = sfn.describe_state_machine(stateMachineArn=ids[n.state_machine])
    assert ids["Transformed"]["Resources"][n.state_machine]["Properties"]["StateMachineType"] == order_saga.workflow_type
    definition = machine["definition"]
    assert "${" not in definition  # every placeholder had a substitution
    states = json.loads(definition)["States"]
    for state in order_saga.handlers():
        assert states[state]["Parameters"]["FunctionName"] == arns[state]
    assert states["CancelOrderDeadLetter"]["Parameters"]["QueueUrl"] == queue_url
    assert ids["Outputs"][f"{n.state_machine}Arn"] == ids[n.state_machine]
    assert ids["Outputs"][f"{n.queue}Url"] == queue_url

    # The state machine's role invokes exactly the saga's functions.
    invoked = set()
    for st in role_statements(ids[f"{n.state_machine}Role"]):
        if "lambda:InvokeFunction" in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]):
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            invoked.update(r.rstrip("*") for r in resources)
    assert invoked == set(arns.values())

    # API Gateway starts executions through a role scoped to this one state machine.
    [st] = role_statements(ids[f"{n.state_machine}HttpPostOrdersRole"])
    assert (st["Action"], st["Resource"]) == ("states:StartExecution", ids[n.state_machine])
    assert ids["Outputs"][f"{order_saga.name}HttpPostOrdersUrl"].endswith("/v1/orders")

    # Each function runs as its own role: the declared actions on its own tables, its own log group,
    # and a Lambda timeout under its Task's (issue 7.8, 7.15).
    table_arns = {name: ddb.describe_table(TableName=physical)["Table"]["TableArn"] for name, physical in tables.items()}
    groups = {g["logGroupName"]: g["arn"] for g in boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]}
    compensations = {s.compensation.name: s.compensation for s in order_saga.compensatable}
    for state in order_saga.handlers():
        decl = compensations.get(state) or order_saga.step(state)
        config = lam.get_function(FunctionName=ids[n.function(state)])["Configuration"]
        assert config["Role"].rsplit("/", 1)[1] == ids[n.role(state)]
        assert config["Timeout"] == states[state]["TimeoutSeconds"] - TIMEOUT_MARGIN_SECONDS
        statements_ = role_statements(ids[n.role(state)])
        granted = {st["Resource"][0]: sorted(st["Action"]) for st in statements_ if st["Action"][0].startswith("dynamodb:")}
        assert granted == {table_arns[t]: sorted(f"dynamodb:{a}" for a in acts) for t, acts in table_actions(decl).items()}, state
        [log_statement] = [st for st in statements_ if st["Sid"] == "WriteItsOwnLogGroup"]
        assert log_statement["Resource"] == groups[f"/aws/lambda/order-saga/{order_saga.name}/{state}"]
        reserved = lam.get_function_concurrency(FunctionName=ids[n.function(state)]).get("ReservedConcurrentExecutions")
        assert reserved == (COMPENSATION_RESERVED_CONCURRENCY if state in compensations else None), state

    # The alarms watch this queue and this state machine, and may publish to the saga's encrypted topic.
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"order-saga-{order_saga.name}-")["MetricAlarms"]
    assert {a["MetricName"]: a["Dimensions"][0]["Value"] for a in alarms} == {
        "ApproximateNumberOfMessagesVisible": queue_url.rsplit("/", 1)[1],
        "ApproximateAgeOfOldestMessage": queue_url.rsplit("/", 1)[1],
        "ExecutionsFailed": ids[n.state_machine],
        "ExecutionsTimedOut": ids[n.state_machine],
    }
    topic = ids[n.alarm_topic]
    assert all(a["AlarmActions"] == [topic] for a in alarms)
    attributes = boto3.client("sns", region_name=REGION).get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == ids[n.key]
    [publish] = json.loads(attributes["Policy"])["Statement"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and publish["Resource"] == topic
    for alarm in alarms:
        assert fnmatch.fnmatchcase(alarm["AlarmArn"], publish["Condition"]["ArnLike"]["aws:SourceArn"]), alarm["AlarmArn"]
    assert ids["Outputs"][f"{n.alarm_topic}Arn"] == topic


def test_a_users_own_saga_deploys_through_the_same_path_with_an_eventbridge_trigger(aws, tmp_path):
    saga = Saga(
        "ShipmentSaga",
        workflow_type="EXPRESS",
        # short timeouts and few compensation retries: the worst case must fit Express's 300 s
        task_timeout_seconds=20,
        compensation_retry=Retry(["States.ALL"], interval_seconds=1, max_attempts=2),
        tables=[Table("shipments", partition_key="shipment_id")],
        steps=[
            Step("BookCarrier", "shipping.book.handler", tables=["shipments"],
                 compensation=Compensation("CancelCarrier", "shipping.cancel.handler", tables=["shipments"])),
            Step("PrintLabel", "shipping.label.handler"),
        ],
        triggers=[EventTrigger("shop.orders", "OrderPaid", bus="shop")],
    )
    (tmp_path / "shipping").mkdir()
    for module in ("book", "cancel", "label"):
        (tmp_path / "shipping" / f"{module}.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "asl").mkdir()
    from stepsaga.names import asl_file_name
    from stepsaga.orchestration import to_asl

    (tmp_path / "asl" / asl_file_name(saga.name)).write_text(to_asl(saga))
    text = render(None, Layout(tmp_path / "template.yaml", tmp_path / "asl", tmp_path).generate([saga]), prune=True)
    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name="shop")  # the user's bus: the template names it, it does not own it
    ids = deploy(text, tmp_path, "shipment-saga")

    n = Names(saga)
    machine = boto3.client("stepfunctions", region_name=REGION).describe_state_machine(stateMachineArn=ids[n.state_machine])
    assert ids["Transformed"]["Resources"][n.state_machine]["Properties"]["StateMachineType"] == "EXPRESS"
    assert "${" not in machine["definition"]
    [rule] = events.list_rules(EventBusName="shop")["Rules"]
    assert json.loads(rule["EventPattern"]) == {"source": ["shop.orders"], "detail-type": ["OrderPaid"]}
    [target] = events.list_targets_by_rule(Rule=rule["Name"], EventBusName="shop")["Targets"]
    assert target["Arn"] == ids[n.state_machine]
    assert target["DeadLetterConfig"]["Arn"].endswith(ids[n.queue].rsplit("/", 1)[1])
    # EventBridge may send undeliverable events to that queue: its policy names exactly this rule (issue 7.8).
    sqs = boto3.client("sqs", region_name=REGION)
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=ids[n.queue], AttributeNames=["Policy"])["Attributes"]["Policy"])
    [send] = policy["Statement"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=ids[n.queue], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert (send["Principal"], send["Action"], send["Resource"]) == ({"Service": "events.amazonaws.com"}, "sqs:SendMessage", queue_arn)
    assert send["Condition"] == {"ArnEquals": {"aws:SourceArn": [rule["Arn"]]}}
    assert target["DeadLetterConfig"]["Arn"] == queue_arn
    assert boto3.client("dynamodb", region_name=REGION).describe_table(TableName=ids[n.table("shipments")])
    assert function_arn(ids[n.function("PrintLabel")]).endswith(ids[n.function("PrintLabel")])


# --- the choreography -----------------------------------------------------------------------


def queue_arn(url: str) -> str:
    return boto3.client("sqs", region_name=REGION).get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def drain(url: str) -> list[dict[str, Any]]:
    """Every event waiting in a queue, as EventBridge delivered it."""
    sqs = boto3.client("sqs", region_name=REGION)
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        out += [json.loads(m["Body"]) for m in batch]
    return out


def start_rules(saga: Saga, n: Names, ids: dict[str, Any]) -> list[tuple[str, str, EventTrigger]]:
    """(bus, rule name, trigger) of each EventTrigger's rule to the SagaStart queue."""
    events = [t for t in saga.triggers if isinstance(t, EventTrigger)]
    keys = [k for k in ids if k.startswith(f"{saga.name}StartOn") and k.endswith("Rule")]
    assert len(keys) == len(events)
    return [(t.bus or "default", ids[k], t) for k, t in zip(keys, events)]


def check_choreography(ids: dict[str, Any], saga: Saga, stack: str) -> None:
    """The bus, every consumer's queue, rule, policy, function and role, the tables and the event DLQ, as deployed."""
    n, the_plan = Names(saga), plan(saga)
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    lam = boto3.client("lambda", region_name=REGION)
    ddb = boto3.client("dynamodb", region_name=REGION)
    transformed = ids["Transformed"]["Resources"]

    bus = ids["Outputs"][f"{n.bus}Name"]
    assert bus == f"{stack}-{saga.name}"
    bus_arn = events.describe_event_bus(Name=bus)["Arn"]
    dlq_url = ids[n.event_queue]
    assert ids["Outputs"][f"{n.event_queue}Url"] == dlq_url
    dlq = queue_arn(dlq_url)
    ledger = ddb.describe_table(TableName=ids[n.ledger])["Table"]
    assert ledger["KeySchema"] == [{"AttributeName": "delivery", "KeyType": "HASH"}]
    assert transformed[n.ledger]["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    log_table = ddb.describe_table(TableName=ids[n.saga_log])["Table"]
    assert log_table["KeySchema"] == [{"AttributeName": "saga_id", "KeyType": "HASH"}, {"AttributeName": "entry", "KeyType": "RANGE"}]
    assert ids["Outputs"][f"{n.saga_log}TableName"] == ids[n.saga_log]
    tables = {t.name: ids[n.table(t.name)] for t in saga.tables}
    [layer] = [k for k, r in transformed.items() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert any(x["LayerName"].startswith(f"{stack}-{layer}") for x in lam.list_layers()["Layers"])

    every_rule = []
    for consumer in the_plan.consumers:
        queue_url = ids[n.consumer_queue(consumer.name)]
        queue = queue_arn(queue_url)
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        function = lam.get_function(FunctionName=ids[n.consumer(consumer.name)])["Configuration"]
        handles = consumer.action is not None
        config = consumer_config(the_plan, consumer) if handles else service_config(the_plan, consumer)
        attempts = 1 + sum(r["MaxAttempts"] for r in config["retry"]) if handles else None

        # The queue: encrypted, kept 14 days, invisible 6 times the function's timeout, dead-lettering after its attempts.
        assert attrs["KmsMasterKeyId"] == ids[n.key] and attrs["MessageRetentionPeriod"] == "1209600", consumer.name
        assert int(attrs["VisibilityTimeout"]) == 6 * function["Timeout"], consumer.name
        redrive = json.loads(attrs["RedrivePolicy"])
        assert redrive == {"deadLetterTargetArn": dlq, "maxReceiveCount": attempts + limits.SPARE_RECEIVES if handles else 5}, consumer.name

        # Its rules (its own on the saga's bus; the start's on each trigger's bus), each delivering to it alone.
        if consumer.kind == "start":
            rules = [(b, name, trigger_pattern(t)) for b, name, t in start_rules(saga, n, ids)]
        else:
            rules = [(bus, ids[n.consumer_rule(consumer.name)], the_plan.pattern(consumer))]
        arns = []
        for rule_bus, name, pattern in rules:
            rule = events.describe_rule(Name=name, EventBusName=rule_bus)
            assert json.loads(rule["EventPattern"]) == pattern, consumer.name
            [target] = events.list_targets_by_rule(Rule=name, EventBusName=rule_bus)["Targets"]
            assert target["Arn"] == queue
            assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
            assert target["DeadLetterConfig"] == {"Arn": dlq}
            arns.append(rule["Arn"])
        every_rule += arns
        [send] = json.loads(attrs["Policy"])["Statement"]
        assert (send["Principal"], send["Action"], send["Resource"]) == ({"Service": "events.amazonaws.com"}, "sqs:SendMessage", queue)
        assert send["Condition"] == {"ArnEquals": {"aws:SourceArn": arns}}, consumer.name

        # Its function reads that queue, runs the adapter (or the projection, or the start) with its configuration.
        [mapping] = lam.list_event_source_mappings(FunctionName=ids[n.consumer(consumer.name)])["EventSourceMappings"]
        batch = delivery.batch_size(config)  # one message per handler call; ten for the log and the start
        assert (mapping["EventSourceArn"], mapping["BatchSize"], mapping["FunctionResponseTypes"]) == (queue, batch, ["ReportBatchItemFailures"])
        assert batch == (1 if consumer.action else 10)
        env = function["Environment"]["Variables"]
        assert json.loads(env[stepsaga_names.CONSUMER_CONFIG_ENV]) == config
        expected_handler = {"log": stepsaga_names.PROJECTION_HANDLER, "start": stepsaga_names.START_HANDLER}.get(
            consumer.kind, stepsaga_names.ADAPTER_HANDLER)
        assert function["Handler"] == expected_handler
        assert function["Role"].rsplit("/", 1)[1] == ids[n.consumer_role(consumer.name)]
        grants = {st["Sid"]: st for st in role_statements(ids[n.consumer_role(consumer.name)])}
        assert grants["TakeFromItsOwnQueue"]["Resource"] == queue
        if consumer.kind == "log":
            assert env[stepsaga_names.SAGA_LOG_TABLE_ENV] == ids[n.saga_log]
            assert grants["WriteTheSagaLog"]["Resource"] == log_table["TableArn"]
            assert "EmitItsOwnEvents" not in grants and "UseItsOwnLedgerRows" not in grants
            continue
        assert env[stepsaga_names.EVENT_BUS_ENV] == bus and env[stepsaga_names.LEDGER_TABLE_ENV] == ids[n.ledger]
        assert grants["EmitItsOwnEvents"]["Resource"] == bus_arn
        assert set(grants["EmitItsOwnEvents"]["Condition"]["StringEquals"]["events:detail-type"]) == set(config["sources"])
        ledger_rows = grants["UseItsOwnLedgerRows"]
        assert ledger_rows["Resource"] == ledger["TableArn"]
        assert ledger_rows["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{consumer.name}#*"]}}
        if not handles:
            continue
        assert env[stepsaga_names.CONSUMER_HANDLER_ENV] == consumer.action.split(".", 1)[1]
        assert (env.get(stepsaga_names.DEAD_LETTER_QUEUE_ENV) == ids[n.queue]) is consumer.dead_letters
        assert ("SendRepairRecords" in grants) is consumer.dead_letters
        assert {k: v for k, v in env.items() if k.endswith("_TABLE") and k != stepsaga_names.LEDGER_TABLE_ENV} == {
            saga.table(t).env_var: tables[t] for t in (saga.step(consumer.step).tables if consumer.kind == "step"
                                                        else saga.step(consumer.step).compensation.tables)}
        assert transformed[n.consumer(consumer.name)]["Properties"]["Layers"] == [{"Ref": layer}]

    # Every rule of the saga, and no other, may dead-letter to the event dead-letter queue; alarms watch it.
    [dead] = json.loads(sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["Policy"])["Attributes"]["Policy"])["Statement"]
    assert (dead["Principal"], dead["Action"], dead["Resource"]) == ({"Service": "events.amazonaws.com"}, "sqs:SendMessage", dlq)
    assert sorted(dead["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(every_rule)
    alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNamePrefix=f"{stack}-{saga.name}-EventDeadLetters")["MetricAlarms"]
    assert {a["MetricName"]: a["Dimensions"][0]["Value"] for a in alarms} == {
        "ApproximateNumberOfMessagesVisible": dlq_url.rsplit("/", 1)[1], "ApproximateAgeOfOldestMessage": dlq_url.rsplit("/", 1)[1]}
    assert all(a["AlarmActions"] == [ids[n.alarm_topic]] for a in alarms)

    # Routing, through moto's own matcher: each event of the saga reaches exactly the queues of its consumers.
    for consumer in the_plan.consumers:
        [mapping] = lam.list_event_source_mappings(FunctionName=ids[n.consumer(consumer.name)])["EventSourceMappings"]
        lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    sent = []
    for spec in the_plan.events:
        for flag in ((False, True) if spec.kind == "step_failed" else (None,)):
            detail = {"saga": saga.name, **({"business_error": flag} if flag is not None else {})}
            sent.append((spec.name, flag))
            assert events.put_events(Entries=[{"Source": spec.source, "DetailType": spec.name, "Detail": json.dumps(detail),
                                               "EventBusName": bus}])["FailedEntryCount"] == 0
    other = {"Source": the_plan.source, "DetailType": the_plan.events[0].name, "Detail": json.dumps({"saga": "AnotherSaga"}), "EventBusName": bus}
    events.put_events(Entries=[other])  # another saga's event on the same bus reaches none of this saga's queues
    for consumer in the_plan.consumers:
        if consumer.kind == "start":
            continue
        got = sorted((e["detail-type"], e["detail"].get("business_error")) for e in drain(ids[n.consumer_queue(consumer.name)]))
        wanted = sorted((name, flag) for name, flag in sent if consumer.kind == "log" or any(
            t.event == name and t.business_error in (None, flag) for t in consumer.triggers))
        assert got == wanted, consumer.name


def test_the_order_saga_choreography_deploys_its_bus_rules_queues_policies_and_consumers(aws):
    assert order_saga.modes == ("orchestration", "choreography")
    ids = deploy((ROOT / "template.yaml").read_text(encoding="utf-8"), ROOT, "order-saga")
    check_choreography(ids, order_saga, "order-saga")
    n = Names(order_saga)
    bus_arn = boto3.client("events", region_name=REGION).describe_event_bus(Name=ids["Outputs"][f"{n.bus}Name"])["Arn"]
    # The HTTP trigger's choreography API puts the Started event with a role that can put only that.
    [put] = role_statements(ids[n.choreography_api_role])
    assert (put["Action"], put["Resource"]) == ("events:PutEvents", bus_arn)
    assert put["Condition"] == {"StringEquals": {"events:detail-type": ["OrderSagaStarted"], "events:source": ["stepsaga.order_saga"]}}
    assert ids["Outputs"][f"{order_saga.name}ChoreographyHttpPostOrdersUrl"].endswith("/v1/orders")
    assert ids["Outputs"][f"{order_saga.name}ChoreographyHttpPostOrdersUrl"] != ids["Outputs"][f"{order_saga.name}HttpPostOrdersUrl"]


def test_a_choreography_only_saga_deploys_with_its_start_rules_on_the_trigger_buses(aws, tmp_path):
    saga = Saga(
        "ShipmentSaga",
        mode="choreography",
        task_timeout_seconds=20,
        tables=[Table("shipments", partition_key="shipment_id")],
        steps=[
            Step("BookCarrier", "shipping.book.handler", tables={"shipments": ["GetItem", "PutItem"]},
                 compensation=Compensation("CancelCarrier", "shipping.cancel.handler", tables={"shipments": ["UpdateItem"]})),
            Step("PrintLabel", "shipping.label.handler", retriable=True),
        ],
        triggers=[EventTrigger("shop.orders", "OrderPaid", bus="shop", pattern={"detail": {"channel": ["web"]}}),
                  EventTrigger("shop.orders", "OrderRetried"), HttpTrigger("/shipments")],
    )
    (tmp_path / "shipping").mkdir()
    for module in ("book", "cancel", "label"):
        (tmp_path / "shipping" / f"{module}.py").write_text("def handler(event, context):\n    return {}\n")
    text = render(None, Layout(tmp_path / "template.yaml", tmp_path / "asl", tmp_path).generate([saga]), prune=True)
    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name="shop")  # the user's bus: the template names it, it does not own it
    ids = deploy(text, tmp_path, "shipment-saga")
    n = Names(saga)

    # No orchestrator at all: no state machine, no orchestration functions or API.
    kinds = {r["Type"] for r in ids["Transformed"]["Resources"].values()}
    assert "AWS::StepFunctions::StateMachine" not in kinds
    assert not any(k.endswith("Function") or k == n.api for k in ids if k != "Outputs")
    assert f"{n.state_machine}Arn" not in ids["Outputs"]
    check_choreography(ids, saga, "shipment-saga")

    # An OrderPaid from the web on the shop bus, and an OrderRetried on the default bus, reach the start's queue.
    paid = {"Source": "shop.orders", "DetailType": "OrderPaid", "Detail": json.dumps({"channel": "web"}), "EventBusName": "shop"}
    phone = {**paid, "Detail": json.dumps({"channel": "phone"})}  # filtered out by the trigger's own pattern
    retried = {"Source": "shop.orders", "DetailType": "OrderRetried", "Detail": json.dumps({"order": 1})}
    events.put_events(Entries=[paid, phone, retried])
    got = sorted((e["detail-type"], e["detail"]) for e in drain(ids[n.consumer_queue("SagaStart")]))
    assert got == [("OrderPaid", {"channel": "web"}), ("OrderRetried", {"order": 1})]
