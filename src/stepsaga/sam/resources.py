"""Saga -> the AWS SAM resources that deploy it, as plain data (no YAML library here).

Intrinsic functions are written in their long JSON form (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``,
``{"Fn::Sub": ...}``); ``stepsaga.sam.sync`` renders them in the short YAML form people write.

Security posture, so that a reviewer can check it against the code:

* one customer managed KMS key per saga, rotated yearly, encrypts the tables, the dead-letter queue,
  every log group and the Lambda environment;
* each function has its own role: exactly the DynamoDB actions its step or compensation declares,
  on those tables only; log streams in its own log group only; decrypt with the saga's key; X-Ray
  through AWS's write-only managed policy. The state machine's role may invoke only the saga's own
  functions and send only to the saga's own queue;
* every resource another service writes to says so in its resource policy: the queue lets the saga's
  EventBridge rules (and no others) dead-letter to it, the alarm topic lets the saga's alarms publish,
  and the key lets CloudWatch Logs, EventBridge and CloudWatch alarms encrypt for those resources;
* the one ``Resource: "*"`` statement is the state machine's vended log delivery, whose actions
  accept no resource ARN (Service Authorization Reference, Amazon CloudWatch Logs);
* the HTTP trigger is signed with SigV4 (``AWS_IAM``), its body is validated against the saga's
  JSON schema, and its stage is throttled, traced and access-logged;
* a choreography (``stepsaga.sam.choreography``) adds a bus of the saga's own; each consumer's queue is
  encrypted with the saga key and lets only its own rule send; each consumer's role reads only its queue,
  puts only its own events (by detail-type and source) on the saga's bus, writes only its own rows of the
  delivery ledger (``dynamodb:LeadingKeys``) and uses exactly its declared tables; the choreography API's
  role may put only the Started event.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stepsaga.errors import TemplateError
from stepsaga.choreography.plan import trigger_pattern
from stepsaga.lambda_timeout import function_timeout
from stepsaga.functions import LAMBDA_MEMORY_MB, LambdaHandler, variables as function_variables
from stepsaga.model import Compensation, EventTrigger, HttpTrigger, Saga, Step
from stepsaga.names import DLQ_PLACEHOLDER, function_placeholder
from stepsaga.orchestration import placeholders
from stepsaga.table_access import INDEX_ACTIONS, actions

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
#: Each compensation's reserved concurrency: a flood of starts cannot take the undo path's capacity.
#: It is also the compensation's ceiling; a throttled compensation is retried (States.ALL) like any failure.
COMPENSATION_RESERVED_CONCURRENCY = 5
#: AWS's managed policy for sending traces (its actions take no resource ARN), as SAM itself attaches.
XRAY_POLICY = "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"
#: Repair records must be read before SQS drops them (DLQ_RETENTION_SECONDS): alarm at half that age.
DLQ_AGE_ALARM_SECONDS = DLQ_RETENTION_SECONDS // 2

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
    ("CKV_AWS_116", "No Lambda DLQ: Step Functions invokes the handler synchronously, never asynchronously; "
                    "failures are retried, caught and dead-lettered to the saga's queue by the state machine."),
)
#: Steps only: compensations do reserve concurrency (COMPENSATION_RESERVED_CONCURRENCY).
_STEP_SKIPS = _FUNCTION_SKIPS + (
    ("CKV_AWS_115", "No reserved concurrency for a forward step: the state machine and the API stage throttling "
                    "bound its rate; only compensations reserve capacity, so that the undo path is never starved."),
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
        self.queue_policy = f"{saga.name}DeadLetterQueuePolicy"
        self.alarm_topic = f"{saga.name}AlarmTopic"
        self.alarm_topic_policy = f"{saga.name}AlarmTopicPolicy"
        self.dead_letters_alarm = f"{saga.name}DeadLettersAlarm"
        self.dead_letters_age_alarm = f"{saga.name}DeadLettersAgeAlarm"
        self.failed_alarm = f"{saga.name}ExecutionsFailedAlarm"
        self.timed_out_alarm = f"{saga.name}ExecutionsTimedOutAlarm"
        # The choreography's (stepsaga.sam.choreography). Consumer resources end in Consumer*, tables
        # other than the declared ones do not end in Table: no name here is one the others can take.
        self.bus = f"{saga.name}Bus"
        self.layer = f"{saga.name}AdapterLayer"
        self.ledger = f"{saga.name}DeliveryLedger"
        self.saga_log = f"{saga.name}Log"
        self.event_queue = f"{saga.name}EventDeadLetterQueue"
        self.event_queue_policy = f"{saga.name}EventDeadLetterQueuePolicy"
        self.event_dead_letters_alarm = f"{saga.name}EventDeadLettersAlarm"
        self.event_dead_letters_age_alarm = f"{saga.name}EventDeadLettersAgeAlarm"
        self.choreography_api = f"{saga.name}ChoreographyApi"
        self.choreography_api_logs = f"{saga.name}ChoreographyApiAccessLogGroup"
        self.choreography_api_role = f"{saga.name}ChoreographyApiRole"

    def function(self, state: str) -> str:
        """The function behind a step or compensation state."""
        return f"{self.saga}{state}Function"

    def role(self, state: str) -> str:
        """That function's own execution role."""
        return f"{self.saga}{state}Role"

    def rule(self, event: str) -> str:
        """The ``AWS::Events::Rule`` SAM generates for an EventBridgeRule event of the state machine."""
        return f"{self.state_machine}{event}"

    def alarm_name(self, what: str) -> str:
        """An alarm's physical name; the topic and key policies match ``<stack>-<Saga>-*``."""
        return f"${{AWS::StackName}}-{self.saga}-{what}"

    def alarm_arns(self) -> str:
        """The ARN pattern of every alarm of the saga (``Fn::Sub`` text)."""
        return f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{self.alarm_name('*')}"

    def function_logs(self, state: str) -> str:
        """The log group of that function."""
        return f"{self.saga}{state}LogGroup"

    def function_log_group_name(self, state: str) -> str:
        """That log group's physical name (``Fn::Sub`` text)."""
        return f"/aws/lambda/${{AWS::StackName}}/{self.saga}/{state}"

    def table(self, table: str) -> str:
        """A declared table, by logical name: orders -> OrderSagaOrdersTable."""
        return f"{self.saga}{pascal(table)}Table"

    def consumer(self, name: str) -> str:
        """A choreography consumer's function: ProcessPayment -> OrderSagaProcessPaymentConsumer."""
        return f"{self.saga}{name}Consumer"

    def consumer_role(self, name: str) -> str:
        """That function's own execution role."""
        return self.consumer(name) + "Role"

    def consumer_queue(self, name: str) -> str:
        """The queue its rule delivers to and its function reads."""
        return self.consumer(name) + "Queue"

    def consumer_queue_policy(self, name: str) -> str:
        """The policy that lets its rule (and no other) send to that queue."""
        return self.consumer(name) + "QueuePolicy"

    def consumer_rule(self, name: str) -> str:
        """Its rule on the saga's bus."""
        return self.consumer(name) + "Rule"

    def consumer_logs(self, name: str) -> str:
        """Its function's log group."""
        return self.consumer(name) + "LogGroup"

    def consumer_log_group_name(self, name: str) -> str:
        """That log group's physical name (``Fn::Sub`` text)."""
        return f"/aws/lambda/${{AWS::StackName}}/{self.saga}/choreography/{name}"

    def start_rule(self, event: str) -> str:
        """The rule that takes an EventTrigger's event to the SagaStart consumer's queue: OnOrderPaid."""
        return f"{self.saga}Start{event}Rule"


class GeneratedSaga:
    """What one saga contributes to template.yaml: resources and outputs, each in a fixed order."""

    __slots__ = ("saga", "resources", "outputs")

    def __init__(self, saga: Saga, resources: dict[str, Json], outputs: dict[str, Json]) -> None:
        self.saga = saga
        self.resources = resources
        self.outputs = outputs


class _Handler:
    """One Lambda the saga invokes: a step's action or a compensation."""

    __slots__ = ("state", "action", "tables", "access", "timeout", "kind")

    def __init__(self, state: str, action: str, access: dict[str, tuple[str, ...]], timeout: int, kind: str) -> None:
        self.state, self.action, self.access, self.timeout, self.kind = state, action, access, timeout, kind
        self.tables = tuple(access)


def table_actions(decl: Step | Compensation) -> dict[str, tuple[str, ...]]:
    """Table -> the DynamoDB IAM actions (without the ``dynamodb:`` prefix) its function is granted."""
    return {name: actions(how) for name, how in decl.access}


def _handlers(saga: Saga) -> list[_Handler]:
    """Every Lambda of the saga in compile order (steps, then compensations in reverse)."""
    by_state: dict[str, Step | Compensation] = {s.name: s for s in saga.steps}
    by_state.update({s.compensation.name: s.compensation for s in saga.steps if s.compensation is not None})
    out = []
    for state, action in saga.handlers().items():
        decl = by_state[state]
        kind = "compensation" if isinstance(decl, Compensation) else "step"
        timeout = function_timeout(decl.timeout_seconds or saga.task_timeout_seconds, decl.heartbeat_seconds)
        out.append(_Handler(state, action, table_actions(decl), timeout, kind))
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


def generate(saga: Saga, definition_uri: str, code_uri: Callable[[str], str], runtime: str = LAMBDA_RUNTIME,
             layer_uri: str | None = None) -> GeneratedSaga:
    """Build a saga's resources and outputs; ``code_uri`` maps a top-level package to its CodeUri.

    Each mode of ``saga.modes`` adds its own: the state machine and its functions for ``"orchestration"``,
    the bus, consumers and layer for ``"choreography"`` (``stepsaga.sam.choreography``, whose adapter layer is
    built from ``layer_uri``); the tables, the repair-record queue, the alarm topic and the key are shared.
    """
    n = Names(saga)
    orchestrated = "orchestration" in saga.modes
    handlers = _handlers(saga) if orchestrated else []
    triggers = list(zip(_event_names(saga), saga.triggers)) if orchestrated else []
    http = [(e, t) for e, t in triggers if isinstance(t, HttpTrigger)]
    events = [(e, t) for e, t in triggers if isinstance(t, EventTrigger)]
    log_groups: dict[str, str] = {}
    if orchestrated:
        log_groups[n.state_machine_logs] = f"/aws/vendedlogs/states/${{AWS::StackName}}/{saga.name}"
    if http:
        log_groups[n.api_logs] = f"/aws/apigateway/${{AWS::StackName}}/{saga.name}/access"
    for h in handlers:
        log_groups[n.function_logs(h.state)] = n.function_log_group_name(h.state)

    resources: dict[str, Json] = {}
    outputs: dict[str, Json] = {}
    if orchestrated:
        resources[n.state_machine] = _state_machine(saga, n, definition_uri, handlers, http, events)
        resources[n.state_machine_logs] = _log_group(saga, n, log_groups[n.state_machine_logs])
        outputs[f"{n.state_machine}Arn"] = {"Description": f"ARN of the {saga.name} state machine", "Value": ref(n.state_machine)}
    if http:
        resources[n.api] = _api(saga, n, http)
        resources[n.api_logs] = _log_group(saga, n, log_groups[n.api_logs])
    for h in handlers:
        resources[n.function(h.state)] = _function(saga, n, h, code_uri, runtime)
        resources[n.role(h.state)] = _role(saga, n, h)
        resources[n.function_logs(h.state)] = _log_group(saga, n, log_groups[n.function_logs(h.state)])
    for event, trigger in http:
        outputs[f"{saga.name}{event}Url"] = {
            "Description": f"{trigger.method} here, SigV4-signed, to start an execution of {saga.name}",
            "Value": _api_url(n.api, trigger),
        }
    choreographed = "choreography" in saga.modes
    if choreographed:
        from stepsaga.sam.choreography import choreography  # it builds on this module's helpers

        if layer_uri is None:
            raise ValueError(f"saga {saga.name} deploys a choreography: give generate() the adapter layer's layer_uri")
        part = choreography(saga, n, code_uri, layer_uri, runtime)
        _add(resources, part.resources, saga)
        outputs.update(part.outputs)
        log_groups.update(part.log_groups)
    shared: dict[str, Json] = {}
    for t in saga.tables:
        shared[n.table(t.name)] = _table(saga, n, t.name)
    shared[n.queue] = dead_letter_queue(saga, n)
    if events:
        shared[n.queue_policy] = _queue_policy(saga, n, [e for e, _ in events])
    shared.update(_alarms(saga, n, orchestrated))
    shared[n.key] = _key(saga, n, list(log_groups.values()), dead_letters_events=bool(events), choreography=choreographed)
    _add(resources, shared, saga)

    for t in saga.tables:
        outputs[f"{n.table(t.name)}Name"] = {"Description": f"Name of the {saga.name} {t.name} table", "Value": ref(n.table(t.name))}
    outputs[f"{n.queue}Url"] = {"Description": f"URL of the {saga.name} dead-letter queue (repair records)", "Value": ref(n.queue)}
    outputs[f"{n.alarm_topic}Arn"] = {"Description": f"Subscribe here to hear when {saga.name} dead-letters a record or an execution fails",
                                       "Value": ref(n.alarm_topic)}
    # Outputs have no Metadata of their own: the state machine (else the bus) records which ones are generated.
    resources[n.state_machine if orchestrated else n.bus]["Metadata"][MARKER]["outputs"] = list(outputs)
    return GeneratedSaga(saga, resources, outputs)


def _add(resources: dict[str, Json], more: dict[str, Json], saga: Saga) -> None:
    """Add resources, refusing a logical ID that two of the saga's resources would share."""
    clash = sorted(set(resources) & set(more))
    if clash:
        raise TemplateError(f"saga {saga.name}: two generated resources are both named {clash[0]}; rename a step, compensation or table")
    resources.update(more)


def _api_url(api: str, trigger: HttpTrigger) -> Json:
    return sub(f"https://${{{api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{API_STAGE}{trigger.path}")


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
            "Pattern": trigger_pattern(trigger),
            # The saga input is the event's detail, as when the choreography's SagaStart starts it.
            "InputPath": "$.detail",
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            # EventBridge may send here because the queue's policy names this rule (n.queue_policy).
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
    # Shorter than the Task's deadline by a cold start's Init limit plus a second: Lambda stops the
    # handler before Step Functions can time the Task out and compensate (stepsaga.lambda_timeout).
    props = function_properties(n, f"{saga.name} {h.kind} {h.state}: {h.action}", code_uri(path.code_dir), path.handler, runtime,
                                h.timeout, n.function_logs(h.state), variables, n.role(h.state))
    if h.kind == "compensation":
        props["ReservedConcurrentExecutions"] = COMPENSATION_RESERVED_CONCURRENCY
    skips = _FUNCTION_SKIPS if h.kind == "compensation" else _STEP_SKIPS
    return {"Type": "AWS::Serverless::Function", "Metadata": _metadata(saga, skips), "Properties": props}


def function_properties(n: Names, description: str, code_uri: str, handler: str, runtime: str, timeout: int,
                        log_group: str, variables: Json, role: str) -> Json:
    """A function's properties: its code and Handler, X-Ray, the saga key, JSON logs to its group, its own role."""
    return {
        "Description": description,
        "CodeUri": code_uri,
        "Handler": handler,
        "Runtime": runtime,
        "Architectures": ["x86_64"],
        "MemorySize": LAMBDA_MEMORY_MB,
        "Timeout": timeout,
        "Tracing": "Active",
        "KmsKeyArn": get_att(n.key, "Arn"),
        "LoggingConfig": {"LogFormat": "JSON", "LogGroup": ref(log_group)},
        "Environment": {"Variables": variables},
        "Role": get_att(role, "Arn"),
    }


def _role(saga: Saga, n: Names, h: _Handler) -> Json:
    """The function's own role: SAM's would add AWSLambdaBasicExecutionRole, whose log actions are on "*"."""
    statements = [log_statement(n.function_log_group_name(h.state)), *table_statements(n, h.access), {
        "Sid": "DecryptItsEnvironment",  # the environment is encrypted with the saga key
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": get_att(n.key, "Arn"),
    }]
    return lambda_role(saga, f"{h.state}: its tables, its log group, traces", h.state, statements)


def log_statement(log_group_name: str) -> Json:
    """Write log streams to this log group only (the group exists: a resource of this template, no CreateLogGroup)."""
    return {
        "Sid": "WriteItsOwnLogGroup",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": sub(_log_group_arn(log_group_name) + ":*"),  # its log streams
    }


def table_statements(n: Names, access: dict[str, tuple[str, ...]]) -> list[Json]:
    """Exactly the declared DynamoDB actions on each declared table (and its indexes for Query and Scan)."""
    statements: list[Json] = []
    for table, granted in access.items():
        arn = get_att(n.table(table), "Arn")
        resources: list[Json] = [arn]
        if any(a in INDEX_ACTIONS for a in granted):
            resources.append(sub(f"${{{n.table(table)}.Arn}}/index/*"))
        statements.append({
            "Sid": f"Use{pascal(table)}Table",
            "Effect": "Allow",
            "Action": [f"dynamodb:{a}" for a in granted],
            "Resource": resources,
        })
    return statements


def lambda_role(saga: Saga, what: str, policy_name: str, statements: list[Json]) -> Json:
    """A function's own execution role: these statements, and X-Ray through AWS's write-only policy."""
    return {
        "Type": "AWS::IAM::Role",
        "Metadata": _metadata(saga),
        "Properties": {
            "Description": sub(f"${{AWS::StackName}} {saga.name} {what}"),
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            },
            "ManagedPolicyArns": [sub(XRAY_POLICY)],
            "Policies": [{"PolicyName": policy_name, "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
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
    return table_resource(saga, n, table.partition_key, table.sort_key)


def table_resource(saga: Saga, n: Names, partition_key: str, sort_key: str | None = None) -> Json:
    """A table of the saga: string keys, on demand, point-in-time recovery, the saga's key, retained."""
    keys = [(partition_key, "HASH")] + ([(sort_key, "RANGE")] if sort_key else [])
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


def dead_letter_queue(saga: Saga, n: Names) -> Json:
    """A dead-letter queue of the saga: the repair-record queue, or the choreography's event dead-letter queue."""
    return {
        "Type": "AWS::SQS::Queue",
        # A dead letter (a repair record, an event no consumer took) is the last copy of a saga that could
        # not go on: never delete it with the stack.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": _metadata(saga),
        "Properties": {
            "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
            "KmsMasterKeyId": ref(n.key),
        },
    }


def _service_statement(sid: str, service: str, action: str | list[str], resource: Json | str, condition: Json | None = None) -> Json:
    """A resource-policy statement letting an AWS service principal act (``"*"`` in a key policy: this key)."""
    st: Json = {"Sid": sid, "Effect": "Allow", "Principal": {"Service": service}, "Action": action, "Resource": resource}
    if condition:
        st["Condition"] = condition
    return st


def _queue_policy(saga: Saga, n: Names, events: list[str]) -> Json:
    """EventBridge writes undeliverable events to the queue only if its policy allows the rule.

    https://docs.aws.amazon.com/eventbridge/latest/userguide/rule-dlq.html
    """
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Metadata": _metadata(saga),
        "Properties": {
            "Queues": [ref(n.queue)],
            "PolicyDocument": {
                "Version": "2012-10-17",
                # Only this saga's own rules: no other rule (or account) can fill the repair queue.
                "Statement": [_service_statement(
                    "EventBridgeDeadLettersUndeliveredTriggers", "events.amazonaws.com", "sqs:SendMessage", get_att(n.queue, "Arn"),
                    {"ArnEquals": {"aws:SourceArn": [get_att(n.rule(e), "Arn") for e in events]}})],
            },
        },
    }


def _alarm(saga: Saga, n: Names, what: str, description: str, namespace: str, metric: str,
           dimension: tuple[str, Json], statistic: str, period: int, threshold: int) -> Json:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Metadata": _metadata(saga),
        "Properties": {
            "AlarmName": sub(n.alarm_name(what)),
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": dimension[0], "Value": dimension[1]}],
            "Statistic": statistic,
            "Period": period,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            # No data means no messages and no executions: nothing to report.
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref(n.alarm_topic)],
        },
    }


def _alarms(saga: Saga, n: Names, orchestrated: bool = True) -> dict[str, Json]:
    """Someone hears of every repair record and every execution that ended without success.

    Metrics: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
    and https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html#cloudwatch-step-functions-execution-metrics
    """
    queue = ("QueueName", get_att(n.queue, "QueueName"))
    machine = ("StateMachineArn", ref(n.state_machine))
    out = {
        n.alarm_topic: {
            "Type": "AWS::SNS::Topic",
            "Metadata": _metadata(saga),
            "Properties": {
                "DisplayName": sub(f"${{AWS::StackName}} {saga.name} alarms"),
                "KmsMasterKeyId": ref(n.key),
            },
        },
        n.alarm_topic_policy: {
            "Type": "AWS::SNS::TopicPolicy",
            "Metadata": _metadata(saga),
            "Properties": {
                "Topics": [ref(n.alarm_topic)],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [_service_statement("TheSagaAlarmsPublish", "cloudwatch.amazonaws.com", "sns:Publish",
                                                     ref(n.alarm_topic), {"ArnLike": {"aws:SourceArn": sub(n.alarm_arns())}})],
                },
            },
        },
        n.dead_letters_alarm: _alarm(
            saga, n, "DeadLetters",
            f"{saga.name} sent a repair record (or an undeliverable trigger) to its dead-letter queue: a person must act on it.",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, "Maximum", 300, 0),
        n.dead_letters_age_alarm: _alarm(
            saga, n, "DeadLettersAging",
            f"A repair record of {saga.name} has waited {DLQ_AGE_ALARM_SECONDS // 86400} days; SQS deletes it after {DLQ_RETENTION_SECONDS // 86400}.",
            "AWS/SQS", "ApproximateAgeOfOldestMessage", queue, "Maximum", 3600, DLQ_AGE_ALARM_SECONDS),
        n.failed_alarm: _alarm(
            saga, n, "ExecutionsFailed",
            f"An execution of {saga.name} failed: compensated (SagaFailed with a business error), or not (SagaCompensationFailed, States.*). "
            "The execution's error tells which.",
            "AWS/States", "ExecutionsFailed", machine, "Sum", 300, 0),
        n.timed_out_alarm: _alarm(
            saga, n, "ExecutionsTimedOut",
            f"An execution of {saga.name} timed out: no compensation ran and no repair record was sent.",
            "AWS/States", "ExecutionsTimedOut", machine, "Sum", 300, 0),
    }
    if not orchestrated:  # no state machine, no executions to watch
        del out[n.failed_alarm], out[n.timed_out_alarm]
    return out


def _key(saga: Saga, n: Names, log_group_names: list[str], dead_letters_events: bool, choreography: bool = False) -> Json:
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
    # The alarm topic is encrypted with this key: CloudWatch must encrypt what it publishes there.
    # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    statements.append(_service_statement("CloudWatchAlarmsNotifyThroughTheEncryptedTopic", "cloudwatch.amazonaws.com",
                                         ["kms:Decrypt", "kms:GenerateDataKey*"], "*", {"ArnLike": {"aws:SourceArn": sub(n.alarm_arns())}}))
    if dead_letters_events:
        # The queue is encrypted with this key. Which rules may send is the queue policy's business
        # (aws:SourceArn there); EventBridge's KMS calls carry no source keys to condition on here.
        # https://docs.aws.amazon.com/eventbridge/latest/userguide/rule-dlq.html
        statements.append(_service_statement("EventBridgeDeadLettersUndeliveredTriggers", "events.amazonaws.com",
                                             ["kms:Decrypt", "kms:GenerateDataKey"], "*"))
    if choreography:
        # Every consumer queue and the event dead-letter queue are encrypted with this key, and EventBridge
        # writes to them; which rule may write where is each queue policy's business (aws:SourceArn there).
        statements.append(_service_statement("EventBridgeDeliversToTheEncryptedSagaQueues", "events.amazonaws.com",
                                             ["kms:Decrypt", "kms:GenerateDataKey"], "*"))
    return {
        "Type": "AWS::KMS::Key",
        # The tables and the queue are retained, so the key that decrypts them must be too.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": _metadata(saga),
        "Properties": {
            "Description": sub(f"${{AWS::StackName}} {saga.name}: tables, dead-letter queue, alarm topic, logs and Lambda environment"),
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
    return rest_api(saga, sub(f"${{AWS::StackName}}-{saga.name}"), n.api_logs,
                    openapi(saga, f"${{AWS::StackName}}-{saga.name}", http, lambda event, trigger: _start_execution(saga, n, event)))


def rest_api(saga: Saga, name: Json, logs: str, body: Json) -> Json:
    """A REST API of the saga: regional, traced, access-logged to ``logs``, throttled; ``body`` its OpenAPI."""
    return {
        "Type": "AWS::Serverless::Api",
        "Metadata": _metadata(saga, _API_SKIPS),
        "Properties": {
            "Name": name,
            "StageName": API_STAGE,
            "EndpointConfiguration": {"Type": "REGIONAL"},
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": get_att(logs, "Arn"), "Format": _ACCESS_LOG_FORMAT},
            # A ceiling on how fast anyone with invoke rights can start executions (and spend money).
            "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                                "ThrottlingBurstLimit": 50, "ThrottlingRateLimit": 25}],
            "DefinitionBody": body,
        },
    }


#: A request body's JSON as a JSON string's content: SAM's own escaping for an Api event, with the
#: single quotes ``escapeJavaScript`` escapes unescaped again, so that the text stays JSON.
ESCAPED_BODY = '$util.escapeJavaScript($input.json(\'$\')).replaceAll("\\\\\'","\'")'


def _start_execution(saga: Saga, n: Names, event: str) -> tuple[Json, Json]:
    """The responses and the StartExecution integration of one HTTP trigger."""
    responses = {
        "200": {"description": "The execution started; the body has its executionArn"},
        "400": {"description": "The body failed validation, or Step Functions rejected the request"},
    }
    # The role SAM creates for this Api event: states:StartExecution on this state machine only.
    # SAM's own template for an Api event, with the single quotes unescaped so that the input stays JSON.
    integration = aws_integration("states:action/StartExecution", get_att(f"{n.state_machine}{event}Role", "Arn"),
                                  sub(f'{{"input": "{ESCAPED_BODY}", "stateMachineArn": "${{{n.state_machine}}}"}}'),
                                  {"200": {"statusCode": "200"}, "400": {"statusCode": "400"}})
    return responses, integration


def aws_integration(action: str, credentials: Json, template: Json, responses: Json, parameters: Json | None = None) -> Json:
    """API Gateway's integration with an AWS service action (``states:action/StartExecution``), as ``credentials``.

    Only a JSON body is mapped (``template``); any other content type is refused.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration.html
    """
    integration: Json = {
        "type": "aws",
        "httpMethod": "POST",
        "uri": sub(f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:{action}"),
        "credentials": credentials,
        "passthroughBehavior": "NEVER",
    }
    if parameters:
        integration["requestParameters"] = parameters
    integration["requestTemplates"] = {"application/json": template}
    integration["responses"] = responses
    return integration


def openapi(saga: Saga, title: str, http: list[tuple[str, HttpTrigger]],
            operation: Callable[[str, HttpTrigger], tuple[Json, Json]], summary: str | None = None) -> Json:
    """A REST API's OpenAPI: SigV4 auth and body validation against the saga's schema on every trigger.

    ``operation(event, trigger)`` gives each route's method responses and its integration.
    """
    paths: Json = {}
    schemas: Json = {}
    for event, trigger in http:
        op: Json = {
            "operationId": f"{saga.name}{event}",
            "summary": summary or f"Start an execution of {saga.name} with the request body as its input",
            "security": [{"sigv4": []}],
        }
        if trigger.schema is not None:
            model = f"{saga.name}{event}Input"
            # API Gateway models are JSON Schema draft 4 without the $schema keyword.
            schemas[model] = {k: v for k, v in trigger.schema.items() if k != "$schema"}
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
            }
            op["x-amazon-apigateway-request-validator"] = "body"
        op["responses"], op["x-amazon-apigateway-integration"] = operation(event, trigger)
        paths.setdefault(trigger.path, {})[trigger.method.lower()] = op
    body: Json = {
        "openapi": "3.0.1",
        "info": {"title": sub(title), "version": "1.0"},
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

