"""Saga -> the AWS SAM resources that deploy it, as plain data (no YAML library here).

Intrinsic functions are written in their long JSON form (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``,
``{"Fn::Sub": ...}``); ``stepsaga.sam_sync`` renders them in the short YAML form people write.

Security posture, so that a reviewer can check it against the code:

* one customer managed KMS key per saga, rotated yearly, encrypts the tables, the dead-letter queue,
  every log group and the Lambda environment;
* each function's role may use only the tables its step or compensation declares, and decrypt with
  the saga's key; the state machine's role may invoke only the saga's own functions and send only to
  the saga's own queue;
* the one ``Resource: "*"`` statement is the state machine's vended log delivery, whose actions
  accept no resource ARN (Service Authorization Reference, Amazon CloudWatch Logs);
* the HTTP trigger is signed with SigV4 (``AWS_IAM``), its body is validated against the saga's
  JSON schema, and its stage is throttled, traced and access-logged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stepsaga.functions import LambdaHandler, variables as function_variables
from stepsaga.model import Compensation, EventTrigger, HttpTrigger, Saga, Step
from stepsaga.orchestration import DLQ_PLACEHOLDER, function_placeholder, placeholders

Json = dict[str, Any]

#: The Lambda runtime of every handler: 3.12 outlives 3.11 on Lambda (3.11's deprecation is due in 2027),
#: and ``sam build`` can build it on the project's machines, where pyenv has 3.12 beside the 3.11 default.
LAMBDA_RUNTIME = "python3.12"
#: The Metadata key that marks a resource as generated: ``Metadata: {stepsaga: {saga: OrderSaga}}``.
MARKER = "stepsaga"
#: The stage of each saga's HTTP API.
API_STAGE = "v1"
LOG_RETENTION_DAYS = 365  # a year of audit trail for money-moving workflows
DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60  # SQS's maximum: repair records must outlive a long weekend
LAMBDA_MEMORY_MB = 256
LAMBDA_MAX_TIMEOUT = 900

#: Vended log delivery for Step Functions: these CloudWatch Logs actions take no resource ARN.
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)

_FUNCTION_SKIPS = (
    ("CKV_AWS_117", "Not in a VPC: the handler calls only AWS APIs (DynamoDB, KMS, X-Ray) over TLS with IAM "
                    "auth; a VPC would add NAT or endpoint cost and cold-start latency, not isolation."),
    ("CKV_AWS_115", "No reserved concurrency: the state machine and the API stage throttling bound the "
                    "invocation rate, and reserving capacity per function would carve up the account pool."),
    ("CKV_AWS_116", "No Lambda DLQ: Step Functions invokes the handler synchronously, never asynchronously; "
                    "failures are retried, caught and dead-lettered to the saga's queue by the state machine."),
)
_API_SKIPS = (
    ("CKV_AWS_120", "No response cache: every request starts a new saga execution, so a cached answer "
                    "would silently drop an order."),
)


def ref(name: str) -> Json:
    """``!Ref name``."""
    return {"Ref": name}


def get_att(name: str, attribute: str) -> Json:
    """``!GetAtt name.attribute``."""
    return {"Fn::GetAtt": [name, attribute]}


def sub(text: str) -> Json:
    """``!Sub text``."""
    return {"Fn::Sub": text}


def pascal(text: str) -> str:
    """orders -> Orders, /orders/{id} -> OrdersId, shop.orders -> ShopOrders: a logical-ID fragment."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", text) if p)


class Names:
    """The logical IDs of one saga's generated resources and outputs, prefixed by the saga name."""

    def __init__(self, saga: Saga) -> None:
        self.saga = saga.name
        self.key = f"{saga.name}Key"
        self.queue = f"{saga.name}DeadLetterQueue"
        self.state_machine = f"{saga.name}StateMachine"
        self.state_machine_logs = f"{saga.name}StateMachineLogGroup"
        self.api = f"{saga.name}Api"
        self.api_logs = f"{saga.name}ApiAccessLogGroup"

    def function(self, state: str) -> str:
        """The function behind a step or compensation state."""
        return f"{self.saga}{state}Function"

    def function_logs(self, state: str) -> str:
        """The log group of that function."""
        return f"{self.saga}{state}LogGroup"

    def table(self, table: str) -> str:
        """A declared table, by logical name: orders -> OrderSagaOrdersTable."""
        return f"{self.saga}{pascal(table)}Table"


class GeneratedSaga:
    """What one saga contributes to template.yaml: resources and outputs, each in a fixed order."""

    __slots__ = ("saga", "resources", "outputs")

    def __init__(self, saga: Saga, resources: dict[str, Json], outputs: dict[str, Json]) -> None:
        self.saga = saga
        self.resources = resources
        self.outputs = outputs


class _Handler:
    """One Lambda the saga invokes: a step's action or a compensation."""

    __slots__ = ("state", "action", "tables", "timeout", "kind")

    def __init__(self, state: str, action: str, tables: tuple[str, ...], timeout: int, kind: str) -> None:
        self.state, self.action, self.tables, self.timeout, self.kind = state, action, tables, timeout, kind


def _handlers(saga: Saga) -> list[_Handler]:
    """Every Lambda of the saga in compile order (steps, then compensations in reverse)."""
    by_state: dict[str, Step | Compensation] = {s.name: s for s in saga.steps}
    by_state.update({s.compensation.name: s.compensation for s in saga.steps if s.compensation is not None})
    out = []
    for state, action in saga.handlers().items():
        decl = by_state[state]
        kind = "compensation" if isinstance(decl, Compensation) else "step"
        timeout = min(decl.timeout_seconds or saga.task_timeout_seconds, LAMBDA_MAX_TIMEOUT)
        out.append(_Handler(state, action, tuple(decl.tables), timeout, kind))
    return out


def _event_names(saga: Saga) -> list[str]:
    """A stable, unique SAM event name per trigger: HttpPostOrders, OnOrderPlaced."""
    names: list[str] = []
    for trigger in saga.triggers:
        if isinstance(trigger, HttpTrigger):
            base = f"Http{trigger.method.title()}{pascal(trigger.path) or 'Root'}"
        else:
            base = f"On{pascal(trigger.detail_type) or 'Event'}"
        name, n = base, 2
        while name in names:
            name, n = f"{base}{n}", n + 1
        names.append(name)
    return names


def _skips(*items: tuple[str, str]) -> list[Json]:
    return [{"id": check, "comment": why} for check, why in items]


def _metadata(saga: Saga, skips: tuple[tuple[str, str], ...] = ()) -> Json:
    meta: Json = {MARKER: {"saga": saga.name}}
    if skips:
        meta["checkov"] = {"skip": _skips(*skips)}
    return meta


def _log_group_arn(name: str) -> str:
    return f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{name}"


def generate(saga: Saga, definition_uri: str, code_uri: Callable[[str], str], runtime: str = LAMBDA_RUNTIME) -> GeneratedSaga:
    """Build a saga's resources and outputs; ``code_uri`` maps a top-level package to its CodeUri."""
    n = Names(saga)
    handlers = _handlers(saga)
    http = [(e, t) for e, t in zip(_event_names(saga), saga.triggers) if isinstance(t, HttpTrigger)]
    events = [(e, t) for e, t in zip(_event_names(saga), saga.triggers) if isinstance(t, EventTrigger)]
    log_groups = {n.state_machine_logs: f"/aws/vendedlogs/states/${{AWS::StackName}}/{saga.name}"}
    if http:
        log_groups[n.api_logs] = f"/aws/apigateway/${{AWS::StackName}}/{saga.name}/access"
    for h in handlers:
        log_groups[n.function_logs(h.state)] = f"/aws/lambda/${{AWS::StackName}}/{saga.name}/{h.state}"

    resources: dict[str, Json] = {}
    resources[n.state_machine] = _state_machine(saga, n, definition_uri, handlers, http, events)
    resources[n.state_machine_logs] = _log_group(saga, n, log_groups[n.state_machine_logs])
    if http:
        resources[n.api] = _api(saga, n, http)
        resources[n.api_logs] = _log_group(saga, n, log_groups[n.api_logs])
    for h in handlers:
        resources[n.function(h.state)] = _function(saga, n, h, code_uri, runtime)
        resources[n.function_logs(h.state)] = _log_group(saga, n, log_groups[n.function_logs(h.state)])
    for t in saga.tables:
        resources[n.table(t.name)] = _table(saga, n, t.name)
    resources[n.queue] = _queue(saga, n)
    resources[n.key] = _key(saga, n, list(log_groups.values()), dead_letters_events=bool(events))

    outputs: dict[str, Json] = {
        f"{n.state_machine}Arn": {"Description": f"ARN of the {saga.name} state machine", "Value": ref(n.state_machine)},
    }
    for event, trigger in http:
        outputs[f"{saga.name}{event}Url"] = {
            "Description": f"{trigger.method} here, SigV4-signed, to start an execution of {saga.name}",
            "Value": sub(f"https://${{{n.api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{API_STAGE}{trigger.path}"),
        }
    for t in saga.tables:
        outputs[f"{n.table(t.name)}Name"] = {"Description": f"Name of the {saga.name} {t.name} table", "Value": ref(n.table(t.name))}
    outputs[f"{n.queue}Url"] = {"Description": f"URL of the {saga.name} dead-letter queue (repair records)", "Value": ref(n.queue)}
    # Outputs have no Metadata of their own: the state machine records which ones are generated.
    resources[n.state_machine]["Metadata"][MARKER]["outputs"] = list(outputs)
    return GeneratedSaga(saga, resources, outputs)


def substitutions(saga: Saga) -> dict[str, Json]:
    """DefinitionSubstitutions: exactly the placeholders the compiled ASL uses, each resolved."""
    n = Names(saga)
    known: dict[str, Json] = {function_placeholder(state): get_att(n.function(state), "Arn") for state in saga.handlers()}
    known[DLQ_PLACEHOLDER] = ref(n.queue)
    # placeholders() is the compiler's own list, so a new kind of placeholder fails loudly here.
    return {name: known[name] for name in placeholders(saga)}


# --- resources ------------------------------------------------------------------------------


def _state_machine(saga: Saga, n: Names, definition_uri: str, handlers: list[_Handler],
                   http: list[tuple[str, HttpTrigger]], events: list[tuple[str, EventTrigger]]) -> Json:
    subs = substitutions(saga)
    policies: list[Json] = [{"LambdaInvokePolicy": {"FunctionName": ref(n.function(h.state))}} for h in handlers]
    statements: list[Json] = []
    if DLQ_PLACEHOLDER in subs:
        policies.append({"SQSSendMessagePolicy": {"QueueName": get_att(n.queue, "QueueName")}})
        statements.append({
            "Sid": "SendToTheEncryptedDeadLetterQueue",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": get_att(n.key, "Arn"),
        })
    statements.append({
        "Sid": "DeliverExecutionLogs",  # vended log delivery: these actions accept no resource ARN
        "Effect": "Allow",
        "Action": list(LOG_DELIVERY_ACTIONS),
        "Resource": "*",
    })
    policies.append({"Version": "2012-10-17", "Statement": statements})

    props: Json = {
        "Type": saga.workflow_type,
        "DefinitionUri": definition_uri,
        "DefinitionSubstitutions": subs,
        # Execution data carries the saga input (customer and payment details): keep it out of logs;
        # Step Functions keeps the execution history of STANDARD workflows for 90 days.
        "Logging": {
            "Level": "ALL",
            "IncludeExecutionData": False,
            "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": get_att(n.state_machine_logs, "Arn")}}],
        },
        "Tracing": {"Enabled": True},
        "Policies": policies,
    }
    sam_events: Json = {}
    for event, trigger in http:
        sam_events[event] = {"Type": "Api", "Properties": {"RestApiId": ref(n.api), "Path": trigger.path, "Method": trigger.method.lower()}}
    for event, trigger in events:
        target: Json = {
            "Pattern": {"source": [trigger.source], "detail-type": [trigger.detail_type]},
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            "DeadLetterConfig": {"Arn": get_att(n.queue, "Arn")},
        }
        if trigger.bus:
            target = {"EventBusName": trigger.bus, **target}
        sam_events[event] = {"Type": "EventBridgeRule", "Properties": target}
    if sam_events:
        props["Events"] = sam_events
    return {"Type": "AWS::Serverless::StateMachine", "Metadata": _metadata(saga), "Properties": props}


def _function(saga: Saga, n: Names, h: _Handler, code_uri: Callable[[str], str], runtime: str) -> Json:
    path = LambdaHandler(h.action)
    variables: Json = function_variables(saga, h.state, lambda t: ref(n.table(t)))
    policies: list[Json] = [{"DynamoDBCrudPolicy": {"TableName": ref(n.table(t))}} for t in h.tables]
    policies.append({"KMSDecryptPolicy": {"KeyId": ref(n.key)}})  # the environment is encrypted with the saga key
    return {
        "Type": "AWS::Serverless::Function",
        "Metadata": _metadata(saga, _FUNCTION_SKIPS),
        "Properties": {
            "Description": f"{saga.name} {h.kind} {h.state}: {h.action}",
            "CodeUri": code_uri(path.code_dir),
            "Handler": path.handler,
            "Runtime": runtime,
            "Architectures": ["x86_64"],
            "MemorySize": LAMBDA_MEMORY_MB,
            # Never longer than the Task's TimeoutSeconds: the state machine gives up first otherwise.
            "Timeout": h.timeout,
            "Tracing": "Active",
            "KmsKeyArn": get_att(n.key, "Arn"),
            "LoggingConfig": {"LogFormat": "JSON", "LogGroup": ref(n.function_logs(h.state))},
            "Environment": {"Variables": variables},
            "Policies": policies,
        },
    }


def _log_group(saga: Saga, n: Names, name: str) -> Json:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Metadata": _metadata(saga),
        "Properties": {
            "LogGroupName": sub(name),
            "RetentionInDays": LOG_RETENTION_DAYS,
            "KmsKeyId": get_att(n.key, "Arn"),
        },
    }


def _table(saga: Saga, n: Names, name: str) -> Json:
    table = saga.table(name)
    keys = [(table.partition_key, "HASH")] + ([(table.sort_key, "RANGE")] if table.sort_key else [])
    return {
        "Type": "AWS::DynamoDB::Table",
        # Business data outlives the stack: deleting or replacing it must be a deliberate act.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": _metadata(saga),
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
            "KeySchema": [{"AttributeName": k, "KeyType": kind} for k, kind in keys],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": ref(n.key)},
        },
    }


def _queue(saga: Saga, n: Names) -> Json:
    return {
        "Type": "AWS::SQS::Queue",
        # Repair records are the last copy of a saga that could not be undone: never delete them with the stack.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": _metadata(saga),
        "Properties": {
            "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
            "KmsMasterKeyId": ref(n.key),
        },
    }


def _key(saga: Saga, n: Names, log_group_names: list[str], dead_letters_events: bool) -> Json:
    statements: list[Json] = [
        {
            # The default key policy: IAM policies in this account decide who uses the key.
            "Sid": "AccountGrantsThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
            "Action": "kms:*",
            "Resource": "*",  # in a key policy, "*" means this key
        },
        {
            "Sid": "CloudWatchLogsEncryptsTheSagaLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": sub("logs.${AWS::Region}.amazonaws.com")},
            "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            "Resource": "*",
            "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": [sub(_log_group_arn(g)) for g in log_group_names]}},
        },
    ]
    if dead_letters_events:
        statements.append({
            "Sid": "EventBridgeDeadLettersUndeliveredTriggers",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
        })
    return {
        "Type": "AWS::KMS::Key",
        # The tables and the queue are retained, so the key that decrypts them must be too.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": _metadata(saga),
        "Properties": {
            "Description": sub(f"${{AWS::StackName}} {saga.name}: tables, dead-letter queue, logs and Lambda environment"),
            "EnableKeyRotation": True,
            "KeyPolicy": {"Version": "2012-10-17", "Statement": statements},
        },
    }


_ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","caller":"$context.identity.caller",'
    '"user":"$context.identity.userArn","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",'
    '"resourcePath":"$context.resourcePath","status":"$context.status","protocol":"$context.protocol",'
    '"responseLength":"$context.responseLength","validationError":"$context.error.validationErrorString"}'
)


def _api(saga: Saga, n: Names, http: list[tuple[str, HttpTrigger]]) -> Json:
    return {
        "Type": "AWS::Serverless::Api",
        "Metadata": _metadata(saga, _API_SKIPS),
        "Properties": {
            "Name": sub(f"${{AWS::StackName}}-{saga.name}"),
            "StageName": API_STAGE,
            "EndpointConfiguration": {"Type": "REGIONAL"},
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": get_att(n.api_logs, "Arn"), "Format": _ACCESS_LOG_FORMAT},
            # A ceiling on how fast anyone with invoke rights can start executions (and spend money).
            "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                                "ThrottlingBurstLimit": 50, "ThrottlingRateLimit": 25}],
            "DefinitionBody": _openapi(saga, n, http),
        },
    }


def _openapi(saga: Saga, n: Names, http: list[tuple[str, HttpTrigger]]) -> Json:
    """The REST API: SigV4 auth, body validation against the saga's schema, StartExecution integration."""
    paths: Json = {}
    schemas: Json = {}
    for event, trigger in http:
        operation: Json = {
            "operationId": f"{saga.name}{event}",
            "summary": f"Start an execution of {saga.name} with the request body as its input",
            "security": [{"sigv4": []}],
        }
        if trigger.schema is not None:
            model = f"{saga.name}{event}Input"
            # API Gateway models are JSON Schema draft 4 without the $schema keyword.
            schemas[model] = {k: v for k, v in trigger.schema.items() if k != "$schema"}
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
            }
            operation["x-amazon-apigateway-request-validator"] = "body"
        operation["responses"] = {
            "200": {"description": "The execution started; the body has its executionArn"},
            "400": {"description": "The body failed validation, or Step Functions rejected the request"},
        }
        operation["x-amazon-apigateway-integration"] = {
            "type": "aws",
            "httpMethod": "POST",
            "uri": sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:states:action/StartExecution"),
            # The role SAM creates for this Api event: states:StartExecution on this state machine only.
            "credentials": get_att(f"{n.state_machine}{event}Role", "Arn"),
            "passthroughBehavior": "NEVER",
            "requestTemplates": {
                # SAM's own template for an Api event, with the single quotes unescaped so that the input stays JSON.
                "application/json": sub(
                    '{"input": "$util.escapeJavaScript($input.json(\'$\')).replaceAll("\\\\\'","\'")", '
                    f'"stateMachineArn": "${{{n.state_machine}}}"}}'
                ),
            },
            "responses": {"200": {"statusCode": "200"}, "400": {"statusCode": "400"}},
        }
        paths.setdefault(trigger.path, {})[trigger.method.lower()] = operation
    body: Json = {
        "openapi": "3.0.1",
        "info": {"title": sub(f"${{AWS::StackName}}-{saga.name}"), "version": "1.0"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"},
            },
        },
        "x-amazon-apigateway-request-validators": {"body": {"validateRequestBody": True, "validateRequestParameters": False}},
        "x-amazon-apigateway-gateway-responses": {
            "BAD_REQUEST_BODY": {
                "statusCode": 400,
                "responseTemplates": {"application/json": '{"message": "$context.error.validationErrorString"}'},
            },
        },
    }
    if schemas:
        body["components"]["schemas"] = schemas
    return body

