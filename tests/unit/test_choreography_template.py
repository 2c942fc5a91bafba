"""template.yaml for a choreography: bus, rules, queues and their policies, consumers and their roles, the API.

Every expectation comes from the routing plan (``plan(saga)``) and the adapter's configuration, or is written
out as a literal, never from the template code itself.
"""

from __future__ import annotations

import json
import re
import tomllib
import uuid
from pathlib import Path

import pytest

from stepsaga import Compensation, EventTrigger, HttpTrigger, Retry, Saga, Step, Table
from stepsaga import names
from stepsaga.choreography.config import consumer_config, service_config
from stepsaga.choreography.events import EventDetail
from stepsaga.choreography.plan import plan, trigger_pattern
from stepsaga.sam import MARKER, Layout, Names, TemplateError, load, plain, render, table_actions
from tests.sam_helpers import transformed
from workflows.order_saga import saga as order_saga

ROOT = Path(__file__).resolve().parents[2]
LAYOUT = Layout(ROOT / "template.yaml", ROOT / "asl", ROOT)
XRAY = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"}


def resources(saga: Saga) -> dict:
    [g] = LAYOUT.generate([saga])
    return plain(g.resources)


def outputs(saga: Saga) -> dict:
    [g] = LAYOUT.generate([saga])
    return plain(g.outputs)


def of_type(res: dict, kind: str) -> dict:
    return {k: r for k, r in res.items() if r["Type"] == kind}


def as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def arn(logical: str) -> dict:
    return {"Fn::GetAtt": [logical, "Arn"]}


def shipment_saga(mode: str = "both") -> Saga:
    """A user's saga with both kinds of trigger, a retriable last step and a compensation."""
    return Saga(
        "ShipmentSaga",
        mode=mode,
        task_timeout_seconds=20,
        tables=[Table("shipments", partition_key="shipment_id"), Table("audit", partition_key="id")],
        steps=[
            Step("BookCarrier", "shipping.book.handler", tables={"shipments": ["GetItem", "PutItem"], "audit": ["Query"]},
                 compensation=Compensation("CancelCarrier", "shipping.cancel.handler", tables={"shipments": ["UpdateItem"]})),
            Step("PrintLabel", "shipping.label.handler", retriable=True),
        ],
        triggers=[EventTrigger("shop.orders", "OrderPaid", bus="shop", pattern={"detail": {"channel": ["web"]}}),
                  EventTrigger("shop.orders", "OrderRetried"), HttpTrigger("/shipments")],
    )


SAGAS = [order_saga, shipment_saga(), shipment_saga("choreography")]
IDS = ["order-both", "shipment-both", "shipment-choreography"]


# --- rules, targets and the queues EventBridge writes to --------------------------------------


def test_the_order_saga_deploys_both_modes():
    assert order_saga.mode == "both"
    res = resources(order_saga)
    assert "OrderSagaStateMachine" in res and "OrderSagaBus" in res
    consumers = {k for k in res if k.endswith("Consumer")}
    assert consumers == {f"OrderSaga{c}Consumer" for c in (
        "ValidateOrder", "ProcessPayment", "ReserveInventory", "SendNotification", "ReleaseInventory", "RefundPayment", "CancelOrder",
        "SagaLog")}


@pytest.mark.parametrize("saga", SAGAS, ids=IDS)
def test_each_consumer_rule_has_exactly_the_plans_pattern_on_the_sagas_bus(saga):
    res, n, the_plan = resources(saga), Names(saga), plan(saga)
    for consumer in the_plan.consumers:
        if consumer.kind == "start":
            continue
        rule = res[n.consumer_rule(consumer.name)]["Properties"]
        assert rule["EventPattern"] == the_plan.pattern(consumer), consumer.name
        assert rule["EventBusName"] == {"Fn::GetAtt": [n.bus, "Name"]}  # not !Ref: moto's CloudFormation needs the name
        assert rule["State"] == "ENABLED"
        [target] = rule["Targets"]
        assert target["Arn"] == arn(n.consumer_queue(consumer.name))
    assert res[n.bus]["Properties"] == {"Name": {"Fn::Sub": f"${{AWS::StackName}}-{saga.name}"}}


@pytest.mark.parametrize("saga", SAGAS, ids=IDS)
def test_every_rule_retries_for_a_day_then_dead_letters_to_the_event_queue(saga):
    res, n = resources(saga), Names(saga)
    rules = of_type(res, "AWS::Events::Rule")
    consumers = plan(saga).consumers
    starts = [t for t in saga.triggers if isinstance(t, EventTrigger)] if any(c.kind == "start" for c in consumers) else []
    assert len(rules) == sum(c.kind != "start" for c in consumers) + len(starts)
    for key, rule in rules.items():
        [target] = rule["Properties"]["Targets"]
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}, key
        assert target["DeadLetterConfig"] == {"Arn": arn(n.event_queue)}, key


@pytest.mark.parametrize("saga", SAGAS, ids=IDS)
def test_every_queue_eventbridge_writes_to_has_one_policy_naming_exactly_its_rules(saga, monkeypatch):
    out = transformed(resources(saga), monkeypatch)["Resources"]
    writers: dict[str, set[str]] = {}  # queue -> the rules that deliver or dead-letter to it
    for key, rule in of_type(out, "AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            for queue_arn in (target["Arn"], target.get("DeadLetterConfig", {}).get("Arn")):
                if isinstance(queue_arn, dict) and "Fn::GetAtt" in queue_arn and out[queue_arn["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue":
                    writers.setdefault(queue_arn["Fn::GetAtt"][0], set()).add(key)
    assert writers  # the walk found them
    policies = of_type(out, "AWS::SQS::QueuePolicy")
    for queue, rules in writers.items():
        [policy] = [p for p in policies.values() if {"Ref": queue} in p["Properties"]["Queues"]]
        assert policy["Properties"]["Queues"] == [{"Ref": queue}]
        [st] = policy["Properties"]["PolicyDocument"]["Statement"]
        assert (st["Effect"], st["Principal"], st["Action"], st["Resource"]) == (
            "Allow", {"Service": "events.amazonaws.com"}, "sqs:SendMessage", arn(queue)), queue
        named = st["Condition"]["ArnEquals"]["aws:SourceArn"]
        assert sorted(a["Fn::GetAtt"][0] for a in named) == sorted(rules), queue
        assert all(a["Fn::GetAtt"][1] == "Arn" for a in named)


def test_an_event_trigger_becomes_a_rule_on_its_bus_to_the_start_queue():
    saga = shipment_saga("choreography")
    res, n = resources(saga), Names(saga)
    paid, retried = res["ShipmentSagaStartOnOrderPaidRule"]["Properties"], res["ShipmentSagaStartOnOrderRetriedRule"]["Properties"]
    assert paid["EventBusName"] == "shop" and "EventBusName" not in retried  # the default bus
    assert paid["EventPattern"] == trigger_pattern(saga.triggers[0]) == {
        "source": ["shop.orders"], "detail-type": ["OrderPaid"], "detail": {"channel": ["web"]}}
    assert retried["EventPattern"] == {"source": ["shop.orders"], "detail-type": ["OrderRetried"]}
    for rule in (paid, retried):
        [target] = rule["Targets"]
        assert target["Arn"] == arn(n.consumer_queue("SagaStart"))
    assert n.consumer_rule("SagaStart") not in res  # the start reacts to no event of the saga's own
    start = res[n.consumer("SagaStart")]["Properties"]
    assert start["Handler"] == "stepsaga.choreography.start.handler"
    env = start["Environment"]["Variables"]
    config = json.loads(env[names.CONSUMER_CONFIG_ENV])
    assert config == service_config(plan(saga), plan(saga).consumer("SagaStart"))
    assert (config["kind"], config["on_success"], config["sources"]) == ("start", ["ShipmentSagaStarted"],
                                                                         {"ShipmentSagaStarted": "stepsaga.shipment_saga"})
    assert env[names.EVENT_BUS_ENV] == {"Fn::GetAtt": [n.bus, "Name"]} and env[names.LEDGER_TABLE_ENV] == {"Ref": n.ledger}
    # An orchestration of the same saga keeps its own rules to the state machine; a choreography alone has none.
    assert "Events" not in res.get(n.state_machine, {}).get("Properties", {})


# --- consumer functions --------------------------------------------------------------------

#: ValidateOrder, ReserveInventory: 1 + 3 transient retries; ProcessPayment: + 3 PaymentGatewayTimeout;
#: SendNotification: + 0 (guard) + 3 + 5 patient; compensations 1 + 0 + 6; and 10 spare receives each.
RECEIVES = {"ValidateOrder": 14, "ProcessPayment": 17, "ReserveInventory": 14, "SendNotification": 19,
            "ReleaseInventory": 17, "RefundPayment": 17, "CancelOrder": 17, "SagaLog": 5}


def test_queues_dead_letter_after_the_consumers_attempts_and_outwait_its_function():
    res, n = resources(order_saga), Names(order_saga)
    for consumer, receives in RECEIVES.items():
        queue = res[n.consumer_queue(consumer)]["Properties"]
        timeout = res[n.consumer(consumer)]["Properties"]["Timeout"]
        assert timeout == (59 if consumer != "SagaLog" else 30), consumer  # the handler's 49 s and 10 s to record it
        assert queue["VisibilityTimeout"] == 6 * timeout, consumer
        assert queue["RedrivePolicy"] == {"deadLetterTargetArn": arn(n.event_queue), "maxReceiveCount": receives}, consumer
        assert (queue["MessageRetentionPeriod"], queue["KmsMasterKeyId"]) == (1209600, {"Ref": n.key})


def test_a_consumer_function_runs_the_adapter_from_the_layer_with_its_handler_code_and_configuration():
    res, n, the_plan = resources(order_saga), Names(order_saga), plan(order_saga)
    layer = res[n.layer]
    for consumer in the_plan.handlers:
        props = res[n.consumer(consumer.name)]["Properties"]
        code, _, handler = consumer.action.partition(".")
        assert (props["CodeUri"], props["Handler"], props["Layers"]) == (f"{code}/", "stepsaga.choreography.adapter.handler", [{"Ref": n.layer}])
        env = props["Environment"]["Variables"]
        assert env["STEPSAGA_HANDLER"] == handler
        assert env["STEPSAGA_CONSUMER"] == json.dumps(consumer_config(the_plan, consumer), separators=(",", ":"))
        assert env["EVENT_BUS_NAME"] == {"Fn::GetAtt": [n.bus, "Name"]}
        assert env["DELIVERY_LEDGER_TABLE"] == {"Ref": n.ledger}
        assert ("DEAD_LETTER_QUEUE_URL" in env) is consumer.dead_letters
        if consumer.dead_letters:
            assert env["DEAD_LETTER_QUEUE_URL"] == {"Ref": n.queue}
        declared = table_actions(order_saga.step(consumer.step) if consumer.kind == "step" else order_saga.step(consumer.step).compensation)
        assert {k for k in env if k.endswith("_TABLE")} - {"DELIVERY_LEDGER_TABLE"} == {order_saga.table(t).env_var for t in declared}
        assert env["POWERTOOLS_SERVICE_NAME"] == "OrderSaga"
        [event] = props["Events"].values()
        assert event["Type"] == "SQS"
        # one message per invocation for a handler: each attempt gets the whole function timeout
        assert (event["Properties"]["Queue"], event["Properties"]["BatchSize"], event["Properties"]["FunctionResponseTypes"]) == (
            arn(n.consumer_queue(consumer.name)), 1, ["ReportBatchItemFailures"])
        assert "MaximumBatchingWindowInSeconds" not in event["Properties"]
        assert (props["Tracing"], props["KmsKeyArn"], props["Runtime"]) == ("Active", arn(n.key), "python3.12")
        assert props["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": {"Ref": n.consumer_logs(consumer.name)}}
        if consumer.kind == "compensation":  # capacity of its own, and a poller that never outgrows it
            assert props["ReservedConcurrentExecutions"] == 5 and event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 5}
        else:
            assert "ReservedConcurrentExecutions" not in props and "ScalingConfig" not in event["Properties"]
    log = res[n.consumer("SagaLog")]["Properties"]
    assert log["Handler"] == "stepsaga.choreography.projection.handler"
    assert log["CodeUri"] == layer["Properties"]["ContentUri"] and "Layers" not in log  # the library's own code
    assert set(log["Environment"]["Variables"]) == {"STEPSAGA_CONSUMER", "SAGA_LOG_TABLE", "POWERTOOLS_SERVICE_NAME"}
    assert log["Environment"]["Variables"]["SAGA_LOG_TABLE"] == {"Ref": n.saga_log}
    # the saga log takes batches of ten, gathered for a second: one write of a page for a saga's close events
    [source] = log["Events"].values()
    assert (source["Properties"]["BatchSize"], source["Properties"]["MaximumBatchingWindowInSeconds"]) == (10, 1)


#: What an intrinsic can resolve to at most: a table, bus or queue name or URL (names are 255 or 256 characters).
RESOLVED = "x" * 256


@pytest.mark.parametrize("saga", SAGAS, ids=IDS)
def test_every_consumer_environment_fits_lambdas_4_kb_with_names_at_their_longest(saga):
    res, n = resources(saga), Names(saga)
    for consumer in plan(saga).consumers:
        variables = res[n.consumer(consumer.name)]["Properties"]["Environment"]["Variables"]
        worst = {k: RESOLVED if isinstance(v, dict) else v for k, v in variables.items()}
        size = len(json.dumps(worst, separators=(",", ":")).encode())
        assert size < 4096, (consumer.name, size)


# --- least privilege -----------------------------------------------------------------------


def granted(role: dict) -> set[tuple[str, str, str]]:
    """(action, resource, condition) of every statement of a role, as comparable text."""
    out = set()
    for policy in role["Properties"]["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            assert st["Effect"] == "Allow"
            for action in as_list(st["Action"]):
                for resource in as_list(st["Resource"]):
                    out.add((action, json.dumps(resource, sort_keys=True), json.dumps(st.get("Condition"), sort_keys=True)))
    return out


def allowed(saga: Saga, consumer) -> set[tuple[str, str, str]]:
    """What a consumer may do, from the plan, its configuration and its declaration: nothing else."""
    n, the_plan = Names(saga), plan(saga)
    out: set[tuple[str, str, str]] = set()

    def grant(actions, resource, condition=None):
        out.update((a, json.dumps(resource, sort_keys=True), json.dumps(condition, sort_keys=True)) for a in actions)

    grant(["logs:CreateLogStream", "logs:PutLogEvents"], {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                                                          f"/aws/lambda/${{AWS::StackName}}/{saga.name}/choreography/{consumer.name}:*"})
    grant(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"], arn(n.consumer_queue(consumer.name)))
    if consumer.action is not None:
        step = saga.step(consumer.step)
        for table, actions in table_actions(step if consumer.kind == "step" else step.compensation).items():
            grant([f"dynamodb:{a}" for a in actions], arn(n.table(table)))
            if {"Query", "Scan", "PartiQLSelect"} & set(actions):
                grant([f"dynamodb:{a}" for a in actions], {"Fn::Sub": f"${{{n.table(table)}.Arn}}/index/*"})
    if consumer.kind == "log":
        grant(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], arn(n.saga_log))
    else:
        grant(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], arn(n.ledger),
              {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{consumer.name}#*"]}})
        config = consumer_config(the_plan, consumer) if consumer.action else service_config(the_plan, consumer)
        grant(["events:PutEvents"], arn(n.bus), {"StringEquals": {"events:detail-type": list(config["sources"]),
                                                                  "events:source": sorted(set(config["sources"].values()))}})
    if consumer.dead_letters:
        grant(["sqs:SendMessage"], arn(n.queue))
        grant(["kms:GenerateDataKey"], arn(n.key))
    grant(["kms:Decrypt"], arn(n.key))
    return out


@pytest.mark.parametrize("saga", SAGAS, ids=IDS)
def test_each_consumer_role_allows_nothing_beyond_its_queue_bus_ledger_rows_and_tables(saga):
    res, n = resources(saga), Names(saga)
    roles = {k: r for k, r in of_type(res, "AWS::IAM::Role").items() if k.endswith("ConsumerRole")}
    consumers = plan(saga).consumers
    assert set(roles) == {n.consumer_role(c.name) for c in consumers}
    for consumer in consumers:
        role = roles[n.consumer_role(consumer.name)]
        assert granted(role) == allowed(saga, consumer), consumer.name
        assert role["Properties"]["ManagedPolicyArns"] == [XRAY]  # not AWSLambdaBasicExecutionRole's logs on "*"
        assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert res[n.consumer(consumer.name)]["Properties"]["Role"] == arn(n.consumer_role(consumer.name))


def test_a_consumer_may_emit_only_its_own_events():
    res, n = resources(order_saga), Names(order_saga)
    emits = {}
    for consumer in plan(order_saga).consumers:
        for policy in res[n.consumer_role(consumer.name)]["Properties"]["Policies"]:
            for st in policy["PolicyDocument"]["Statement"]:
                if st["Action"] == "events:PutEvents":
                    emits[consumer.name] = st["Condition"]["StringEquals"]["events:detail-type"]
    assert emits == {
        "ValidateOrder": ["OrderValidated", "OrderFailed", "OrderSagaAborted"],  # InvalidOrder: nothing to undo
        "ProcessPayment": ["PaymentProcessed", "PaymentFailed"],
        "ReserveInventory": ["InventoryReserved", "InventoryFailed"],
        "SendNotification": ["NotificationSent", "OrderSagaCompleted", "NotificationFailed"],
        "ReleaseInventory": ["InventoryReleased", "OrderSagaCompensationFailed"],
        "RefundPayment": ["PaymentRefunded", "OrderSagaCompensationFailed"],
        "CancelOrder": ["OrderCancelled", "OrderSagaAborted", "OrderSagaCompensationFailed"],
    }  # and the saga log emits nothing


# --- the saga's own resources ----------------------------------------------------------------


def test_the_ledger_and_the_saga_log_are_encrypted_recoverable_on_demand_tables():
    res, n = resources(order_saga), Names(order_saga)
    ledger, log = res[n.ledger], res[n.saga_log]
    assert ledger["Properties"]["KeySchema"] == [{"AttributeName": "delivery", "KeyType": "HASH"}]
    assert ledger["Properties"]["AttributeDefinitions"] == [{"AttributeName": "delivery", "AttributeType": "S"}]
    assert ledger["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert log["Properties"]["KeySchema"] == [{"AttributeName": "saga_id", "KeyType": "HASH"}, {"AttributeName": "entry", "KeyType": "RANGE"}]
    assert log["Properties"]["AttributeDefinitions"] == [{"AttributeName": "saga_id", "AttributeType": "S"}, {"AttributeName": "entry", "AttributeType": "S"}]
    for table in (ledger, log):
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": n.key}}
    assert outputs(order_saga)["OrderSagaLogTableName"]["Value"] == {"Ref": n.saga_log}


def test_the_event_dead_letter_queue_is_encrypted_kept_and_watched():
    res, n = resources(order_saga), Names(order_saga)
    queue = res[n.event_queue]
    assert queue["Properties"] == {"MessageRetentionPeriod": 1209600, "KmsMasterKeyId": {"Ref": n.key}}
    assert queue["DeletionPolicy"] == "Retain"
    alarms = [a["Properties"] for a in of_type(res, "AWS::CloudWatch::Alarm").values()
              if a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [n.event_queue, "QueueName"]}]
    assert {(a["MetricName"], a["Threshold"]) for a in alarms} == {("ApproximateNumberOfMessagesVisible", 0),
                                                                   ("ApproximateAgeOfOldestMessage", 7 * 86400)}
    assert all(a["AlarmActions"] == [{"Ref": n.alarm_topic}] for a in alarms)
    # Named <stack>-<Saga>-*, so the topic's and the key's policies let them publish.
    assert {a["AlarmName"]["Fn::Sub"] for a in alarms} == {"${AWS::StackName}-OrderSaga-EventDeadLetters",
                                                          "${AWS::StackName}-OrderSaga-EventDeadLettersAging"}
    assert outputs(order_saga)["OrderSagaEventDeadLetterQueueUrl"]["Value"] == {"Ref": n.event_queue}


def test_the_key_lets_eventbridge_encrypt_into_the_queues_and_logs_into_every_consumer_log_group():
    res, n = resources(order_saga), Names(order_saga)
    key = {st["Sid"]: st for st in res[n.key]["Properties"]["KeyPolicy"]["Statement"]}
    events = key["EventBridgeDeliversToTheEncryptedSagaQueues"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"} and set(events["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    groups = {a["Fn::Sub"].split(":log-group:")[1] for a in
              key["CloudWatchLogsEncryptsTheSagaLogGroups"]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]}
    for consumer in plan(order_saga).consumers:
        assert f"/aws/lambda/${{AWS::StackName}}/OrderSaga/choreography/{consumer.name}" in groups
    assert "/aws/apigateway/${AWS::StackName}/OrderSaga/choreography-access" in groups
    # An orchestration alone needs none of this.
    solo = {st["Sid"] for st in resources(order_saga.replace(mode="orchestration"))[n.key]["Properties"]["KeyPolicy"]["Statement"]}
    assert "EventBridgeDeliversToTheEncryptedSagaQueues" not in solo


def test_the_adapter_layer_is_the_stepsaga_package_and_its_run_time_requirements():
    res, n = resources(order_saga), Names(order_saga)
    layer = res[n.layer]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert (layer["Metadata"]["BuildMethod"], layer["Properties"]["CompatibleRuntimes"]) == ("python3.12", ["python3.12"])
    assert layer["Properties"]["ContentUri"] == "src/"
    folder = ROOT / layer["Properties"]["ContentUri"]
    assert (folder / "stepsaga" / "choreography" / "plan.py").is_file()
    # What the adapter imports beyond Lambda's runtime: the handlers extra without boto3 (the runtime has it).
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["handlers"]
    lines = [line for line in (folder / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert sorted(lines) == sorted(r for r in extra if not r.startswith("boto3"))
    assert [k for k in res if res[k]["Type"] == "AWS::Serverless::LayerVersion"] == [n.layer]  # one per saga


def test_the_layer_folder_must_hold_the_package_and_its_requirements(tmp_path):
    (tmp_path / "stepsaga").mkdir()
    (tmp_path / "stepsaga" / "__init__.py").write_text("")
    layout = Layout(tmp_path / "template.yaml", tmp_path / "asl", tmp_path, layer=tmp_path)
    with pytest.raises(TemplateError, match="has no requirements.txt; name a folder holding stepsaga/ and requirements.txt, or leave layer= out"):
        layout.generate([order_saga])
    (tmp_path / "requirements.txt").write_text("pydantic\n")
    [g] = layout.generate([order_saga])
    assert g.resources["OrderSagaAdapterLayer"]["Properties"]["ContentUri"] == "./"
    # An orchestration never needs the folder.
    assert Layout(tmp_path / "t.yaml", tmp_path, tmp_path, layer=tmp_path / "nowhere").generate([order_saga.replace(mode="orchestration")])


# --- starting over HTTP --------------------------------------------------------------------


def escape_javascript(text: str) -> str:
    """``$util.escapeJavaScript``: Apache Commons Lang's StringEscapeUtils.escapeJavaScript."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "'\"\\/":
            out.append("\\" + ch)
        elif ch in "\b\n\t\f\r":
            out.append({"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}[ch])
        elif code < 32:
            out.append(f"\\u{code:04X}")
        elif code > 0x7F:
            out.append(f"\\u{code:04X}" if code <= 0xFFFF else "".join(f"\\u{u:04X}" for u in _surrogates(code)))
        else:
            out.append(ch)
    return "".join(out)


def _surrogates(code: int) -> tuple[int, int]:
    code -= 0x10000
    return 0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)


def evaluate_request(template: str, body: object, request_id: str, epoch_ms: int, bus: str) -> dict:
    """The request API Gateway sends PutEvents for a body: the mapping template's few expressions, evaluated."""
    escaped = re.sub(r"\\'", "'", escape_javascript(json.dumps(body)))  # .replaceAll("\\'","'") in Java
    text = template.replace("$util.escapeJavaScript($input.json('$')).replaceAll(\"\\\\'\",\"'\")", escaped)
    text = text.replace("$context.requestId", request_id).replace("$context.requestTimeEpoch", str(epoch_ms))
    text = text.replace("${OrderSagaBus.Name}", bus)
    assert "$" not in text, text  # every expression was one of those
    return json.loads(text)


def choreography_operation(res: dict) -> dict:
    return res["OrderSagaChoreographyApi"]["Properties"]["DefinitionBody"]["paths"]["/orders"]["post"]


@pytest.mark.parametrize("body", [
    json.loads((ROOT / "workflows/inputs/order.json").read_text()),
    {"order_id": "o'1", "note": 'say "hi" \\ back/slash', "unicode": "café ✓ 𝄞", "control": "a\nb\tc\u0001"},
])
def test_the_choreography_api_puts_one_started_event_whose_detail_is_a_valid_event(body):
    res, the_plan = resources(order_saga), plan(order_saga)
    integration = choreography_operation(res)["x-amazon-apigateway-integration"]
    assert integration["uri"] == {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:events:action/PutEvents"}
    assert integration["requestParameters"] == {"integration.request.header.X-Amz-Target": "'AWSEvents.PutEvents'",
                                                "integration.request.header.Content-Type": "'application/x-amz-json-1.1'"}
    request_id = str(uuid.uuid4())
    sent = evaluate_request(integration["requestTemplates"]["application/json"]["Fn::Sub"], body, request_id, 1767225600123, "stack-OrderSaga")
    [entry] = sent["Entries"]
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == ("stepsaga.order_saga", "OrderSagaStarted", "stack-OrderSaga")
    assert entry["Source"] == the_plan.source and entry["DetailType"] == the_plan.events[0].name
    detail = EventDetail.model_validate(json.loads(entry["Detail"]))  # every field, none extra (extra="forbid")
    assert detail.input == body
    assert (detail.saga, detail.saga_id, detail.correlation_id, detail.event_id) == ("OrderSaga", request_id, request_id, request_id)
    assert (detail.seq, detail.producer, detail.causation_id, detail.time_ms) == (0, "api", None, 1767225600123)
    assert detail.results == {} and detail.error is None and detail.business_error is None


def test_the_choreography_api_answers_with_the_saga_id_or_500_when_eventbridge_did_not_take_the_event():
    operation = choreography_operation(resources(order_saga))
    responses = operation["x-amazon-apigateway-integration"]["responses"]
    ok = responses["default"]["responseTemplates"]["application/json"]
    assert responses["default"]["statusCode"] == "200"
    # PutEvents answers 200 even when it refused the entry: the template looks at FailedEntryCount.
    assert ok.startswith("#if($input.path('$.FailedEntryCount') == 0)\n")
    success, failure = ok.split("#else\n")
    assert json.loads(success.splitlines()[1].replace("$context.requestId", "r").replace("$input.path('$.Entries[0].EventId')", "e")) == {
        "saga_id": "r", "event_id": "e"}
    assert failure.startswith("#set($context.responseOverride.status = 500)\n") and failure.endswith("#end\n")
    assert responses["[45]\\d{2}"]["statusCode"] == "500"  # PutEvents itself refused: nothing started either
    assert set(operation["responses"]) == {"200", "400", "500"}


def test_with_mode_both_each_api_keeps_the_same_route_auth_and_validation():
    res, out = resources(order_saga), outputs(order_saga)
    orchestration = res["OrderSagaApi"]["Properties"]["DefinitionBody"]
    choreography = res["OrderSagaChoreographyApi"]["Properties"]["DefinitionBody"]
    for key in ("components", "x-amazon-apigateway-request-validators", "x-amazon-apigateway-gateway-responses"):
        assert choreography[key] == orchestration[key], key
    post, put = orchestration["paths"]["/orders"]["post"], choreography["paths"]["/orders"]["post"]
    for key in ("security", "requestBody", "x-amazon-apigateway-request-validator"):
        assert put[key] == post[key], key
    assert post["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"].endswith("states:action/StartExecution")  # unchanged
    assert put["x-amazon-apigateway-integration"]["credentials"] == arn("OrderSagaChoreographyApiRole")
    assert out["OrderSagaHttpPostOrdersUrl"]["Value"]["Fn::Sub"].startswith("https://${OrderSagaApi}.")
    assert out["OrderSagaChoreographyHttpPostOrdersUrl"]["Value"]["Fn::Sub"].startswith("https://${OrderSagaChoreographyApi}.")
    [put_events] = res["OrderSagaChoreographyApiRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert (put_events["Action"], put_events["Resource"]) == ("events:PutEvents", arn("OrderSagaBus"))
    assert put_events["Condition"] == {"StringEquals": {"events:detail-type": ["OrderSagaStarted"], "events:source": ["stepsaga.order_saga"]}}
    assert res["OrderSagaChoreographyApiRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"}
    assert out["OrderSagaBusName"]["Value"] == {"Fn::GetAtt": ["OrderSagaBus", "Name"]}


# --- modes -----------------------------------------------------------------------------------

CHOREOGRAPHY_TYPES = {"AWS::Events::EventBus", "AWS::Events::Rule", "AWS::Serverless::LayerVersion", "AWS::SQS::QueuePolicy"}


def test_an_orchestration_saga_gets_none_of_the_choreography():
    res = resources(order_saga.replace(mode="orchestration"))
    assert not {r["Type"] for r in res.values()} & CHOREOGRAPHY_TYPES
    assert not [k for k in res if "Consumer" in k or "Choreography" in k or k in ("OrderSagaDeliveryLedger", "OrderSagaLog")]


def test_a_choreography_saga_has_no_state_machine_and_its_bus_lists_the_outputs():
    saga = order_saga.replace(mode="choreography")
    [g] = LAYOUT.generate([saga])
    res = plain(g.resources)
    assert not of_type(res, "AWS::Serverless::StateMachine") and "OrderSagaApi" not in res
    assert not [k for k in res if k.endswith("Function")]
    assert {a["Properties"]["MetricName"] for a in of_type(res, "AWS::CloudWatch::Alarm").values()} == {
        "ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}  # no executions to watch
    assert res["OrderSagaBus"]["Metadata"][MARKER]["outputs"] == list(g.outputs)
    assert "OrderSagaStateMachineArn" not in g.outputs and "OrderSagaChoreographyHttpPostOrdersUrl" in g.outputs
    # Regenerating changes nothing; switching back to both restores the orchestration, and the other way round.
    text = render(None, [g], prune=True)
    assert render(text, [g], prune=True) == text
    both = render(text, LAYOUT.generate([order_saga]), prune=True)
    assert "OrderSagaStateMachine:" in both and render(both, [g], prune=True) == text
    assert plain(load(both))["Outputs"].keys() >= {"OrderSagaStateMachineArn", "OrderSagaBusName"}


def test_logical_ids_that_two_resources_would_share_are_refused():
    # The consumer role of Pay and the orchestration role of a step named PayConsumer would both be SagaPayConsumerRole.
    saga = Saga("ClashSaga", mode="both", steps=[Step("Pay", "tasks.pay.handler"), Step("PayConsumer", "tasks.pay2.handler")])
    with pytest.raises(TemplateError, match="two generated resources are both named ClashSagaPayConsumer"):
        LAYOUT.generate([saga])


@pytest.mark.parametrize("saga", SAGAS, ids=IDS)
def test_every_generated_resource_is_marked_as_the_sagas(saga):
    assert all(r["Metadata"][MARKER]["saga"] == saga.name for r in resources(saga).values())


def test_a_big_sagas_rule_patterns_stay_within_put_rules_limit():
    # The saga log's pattern lists sources, not detail-types, so it stays small however many events there are.
    steps = [Step(f"Do{i}", f"tasks.do{i}.handler", compensation=Compensation(f"Undo{i}", f"compensations.undo{i}.handler"))
             for i in range(30)]
    saga = Saga("BigSaga", mode="choreography", steps=steps, compensation_retry=Retry(["States.ALL"], max_attempts=2))
    for rule in of_type(resources(saga), "AWS::Events::Rule").values():
        assert len(json.dumps(rule["Properties"]["EventPattern"], separators=(",", ":"))) <= 4096


@pytest.mark.parametrize(("mode", "state"), [("both", "DISABLED"), ("choreography", "ENABLED")])
def test_an_event_trigger_starts_one_saga_in_both_modes_not_two(mode, state):
    saga = shipment_saga(mode)
    res = resources(saga)
    starts = {k: v for k, v in res.items() if v["Type"] == "AWS::Events::Rule" and "Start" in k}
    assert starts and {v["Properties"]["State"] for v in starts.values()} == {state}
    machine = res.get(f"{saga.name}StateMachine")
    if mode == "both":  # the state machine's own rule starts it, with the event's detail as the input
        rules = [e["Properties"] for e in machine["Properties"]["Events"].values() if e["Type"] == "EventBridgeRule"]
        assert rules and all(r["InputPath"] == "$.detail" for r in rules)
    else:
        assert machine is None
