"""Saga -> the SAM resources of its choreography, as plain data: domain events on a bus, no orchestrator.

Everything comes from the routing plan (``stepsaga.choreography.plan``) and the adapter's configuration
(``stepsaga.choreography.config``); nothing here derives routing again. Each consumer of the plan (every
step, every compensation, the saga log and, with an EventTrigger, the start) gets:

* a queue, encrypted with the saga's key, whose message waits at least 6 times its function's timeout while
  the function works on it, and goes to the saga's *event* dead-letter queue after its attempts and a few
  spare receives;
* a rule on the saga's bus with the plan's pattern (the start: a rule on each trigger's bus), whose one
  target is that queue, with EventBridge's own retries and the event dead-letter queue, and a queue policy
  letting exactly that rule send;
* a function reading the queue (an SQS event source with ``ReportBatchItemFailures``). A step's or a
  compensation's runs the user's code folder with stepsaga's adapter (from the saga's adapter layer) as its
  Handler, told its place in the choreography by its environment; the saga log's and the start's have no
  user code, and run the layer's own folder;
* its own role: its declared tables exactly as the orchestration grants them, its own rows of the delivery
  ledger, ``PutEvents`` of only the events it emits on its saga's bus, its own queue, the repair-record queue
  when it dead-letters, the saga's key, its own log group.

The saga gets the bus, the delivery ledger, the saga log table, the event dead-letter queue (with the policy
that lets every rule of the saga dead-letter to it, and alarms), the adapter layer and, for an HTTP trigger,
a REST API that puts the Started event on the bus itself (API Gateway's EventBridge integration).
``stepsaga.sam.resources.generate`` merges this with the resources both modes share.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from stepsaga import names
from stepsaga.choreography import delivery, limits
from stepsaga.choreography.config import consumer_config, service_config
from stepsaga.choreography.plan import STARTED, Consumer, Plan, plan as plan_of, trigger_pattern
from stepsaga.functions import LambdaHandler, variables as function_variables
from stepsaga.model import EventTrigger, HttpTrigger, Saga
from stepsaga.sam.resources import (
    COMPENSATION_RESERVED_CONCURRENCY,
    DLQ_AGE_ALARM_SECONDS,
    DLQ_RETENTION_SECONDS,
    ESCAPED_BODY,
    Json,
    Names,
    _alarm,
    _api_url,
    _event_names,
    _log_group,
    _metadata,
    _service_statement,
    aws_integration,
    dead_letter_queue,
    function_properties,
    get_att,
    lambda_role,
    log_statement,
    openapi,
    ref,
    rest_api,
    sub,
    table_actions,
    table_resource,
    table_statements,
)

# The timeouts, visibility timeouts and redrive counts are stepsaga.choreography.delivery's, which the local
# runtime reads too: a queue redrives locally after the receives it redrives after on AWS.
#: The name of each consumer function's SQS event (SAM names the event source mapping <Function><Event>).
SQS_EVENT = "Deliveries"
#: Who puts the Started event of an HTTP trigger on the bus (its ``producer``).
API_PRODUCER = "api"
#: The SQS actions an event source mapping needs on its queue (the function's role polls).
QUEUE_READ_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility")

_CONSUMER_SKIPS = (
    ("CKV_AWS_117", "Not in a VPC: the consumer calls only AWS APIs (SQS, EventBridge, DynamoDB, KMS, X-Ray) over TLS "
                    "with IAM auth; a VPC would add NAT or endpoint cost and cold-start latency, not isolation."),
    ("CKV_AWS_116", "No Lambda DLQ: the SQS event source invokes the function synchronously; a message that keeps "
                    "failing goes to the saga's event dead-letter queue through its queue's redrive policy."),
)
#: Every consumer but the compensations, which reserve concurrency and cap their poller at it.
_UNRESERVED_SKIPS = _CONSUMER_SKIPS + (
    ("CKV_AWS_115", "No reserved concurrency: a throttled SQS poller returns the message to the queue and spends one "
                    "of its receives toward dead-lettering; only compensations reserve, with an equal MaximumConcurrency."),
)


class ChoreographyPart:
    """What a saga's choreography adds to its template: resources and outputs in a fixed order, and its log groups."""

    __slots__ = ("resources", "outputs", "log_groups")

    def __init__(self, resources: dict[str, Json], outputs: dict[str, Json], log_groups: dict[str, str]) -> None:
        self.resources, self.outputs, self.log_groups = resources, outputs, log_groups


class _Rule:
    """A rule that delivers to one consumer's queue: its logical ID, its bus (None: the default bus), its pattern."""

    __slots__ = ("key", "bus", "pattern", "description", "enabled")

    def __init__(self, key: str, bus: Json | str | None, pattern: Json, description: str, enabled: bool = True) -> None:
        self.key, self.bus, self.pattern, self.description, self.enabled = key, bus, pattern, description, enabled


def choreography(saga: Saga, n: Names, code_uri: Callable[[str], str], layer_uri: str, runtime: str) -> ChoreographyPart:
    """The choreography's resources and outputs; ``layer_uri`` is the adapter layer's folder (``Layout.layer_uri``)."""
    plan = plan_of(saga)
    log_groups = {n.consumer_logs(c.name): n.consumer_log_group_name(c.name) for c in plan.consumers}
    http = [(e, t) for e, t in zip(_event_names(saga), saga.triggers) if isinstance(t, HttpTrigger)]
    if http:
        log_groups = {n.choreography_api_logs: f"/aws/apigateway/${{AWS::StackName}}/{saga.name}/choreography-access", **log_groups}

    resources: dict[str, Json] = {n.bus: _bus(saga, n), n.layer: _layer(saga, layer_uri, runtime)}
    if http:
        resources[n.choreography_api] = rest_api(saga, sub(f"${{AWS::StackName}}-{saga.name}-choreography"), n.choreography_api_logs,
                                                 _openapi(saga, n, plan, http))
        resources[n.choreography_api_logs] = _log_group(saga, n, log_groups[n.choreography_api_logs])
        resources[n.choreography_api_role] = _api_role(saga, n, plan)
    every_rule: list[str] = []
    for consumer in plan.consumers:
        rules = consumer_rules(saga, n, plan, consumer)
        every_rule += [r.key for r in rules]
        resources[n.consumer_queue(consumer.name)] = _queue(saga, n, consumer, _receives(plan, consumer), _timeout(plan, consumer))
        resources[n.consumer_queue_policy(consumer.name)] = _queue_policy(
            saga, f"The{consumer.name}RulesDeliverToItsQueue", n.consumer_queue(consumer.name), [r.key for r in rules])
        for rule in rules:
            resources[rule.key] = _rule(saga, n, rule, n.consumer_queue(consumer.name))
        resources[n.consumer(consumer.name)] = _function(saga, n, plan, consumer, code_uri, layer_uri, runtime)
        resources[n.consumer_role(consumer.name)] = _role(saga, n, plan, consumer)
        resources[n.consumer_logs(consumer.name)] = _log_group(saga, n, log_groups[n.consumer_logs(consumer.name)])
    resources[n.ledger] = ledger_table(saga, n)
    resources[n.saga_log] = saga_log_table(saga, n)
    resources[n.event_queue] = dead_letter_queue(saga, n)
    resources[n.event_queue_policy] = _queue_policy(saga, "TheSagaRulesDeadLetterUndeliverableEvents", n.event_queue, every_rule)
    resources.update(_event_alarms(saga, n))
    from stepsaga.sam.schema_registry import registry_resources

    resources.update(registry_resources(saga, n))  # the domain events' contract, one draft-4 schema each

    outputs: dict[str, Json] = {
        f"{n.bus}Name": {"Description": f"Name of the {saga.name} event bus (its choreography's domain events)", "Value": get_att(n.bus, "Name")},
        f"{n.saga_log}TableName": {"Description": f"Name of the {saga.name} saga log table (every event of each saga, by saga id)",
                                   "Value": ref(n.saga_log)},
        f"{n.event_queue}Url": {"Description": f"URL of the {saga.name} event dead-letter queue (events no consumer could take)",
                                "Value": ref(n.event_queue)},
    }
    for event, trigger in http:
        outputs[f"{saga.name}Choreography{event}Url"] = {
            "Description": f"{trigger.method} here, SigV4-signed, to start {saga.name} as a choreography",
            "Value": _api_url(n.choreography_api, trigger),
        }
    return ChoreographyPart(resources, outputs, log_groups)


# --- per consumer ---------------------------------------------------------------------------


def config_of(plan: Plan, consumer: Consumer) -> Json:
    """The adapter's configuration of a consumer: ``consumer_config``, or ``service_config`` for the log and the start."""
    return consumer_config(plan, consumer) if consumer.action is not None else service_config(plan, consumer)


def _timeout(plan: Plan, consumer: Consumer) -> int:
    """The consumer function's Lambda timeout: its handler's, plus the adapter's margin to record the attempt."""
    return delivery.consumer_timeout(config_of(plan, consumer))


def _receives(plan: Plan, consumer: Consumer) -> int:
    """The queue's ``maxReceiveCount``: the step's attempts (each retrier counts its own) and the spare receives."""
    return delivery.max_receive_count(config_of(plan, consumer))


def consumer_rules(saga: Saga, n: Names, plan: Plan, consumer: Consumer) -> list[_Rule]:
    """The rules that deliver to a consumer's queue: its own on the saga's bus, or for the start one per EventTrigger."""
    if consumer.kind != "start":
        return [_Rule(n.consumer_rule(consumer.name), get_att(n.bus, "Name"), plan.pattern(consumer),
                      f"{saga.name}: the events {consumer.name} reacts to, to its queue")]
    # With both modes deployed, the state machine's rule starts the saga from the trigger's event: this one is
    # deployed DISABLED, so that one event never starts two sagas; enabling it (and disabling the other) moves
    # the traffic (docs/choreography.md).
    enabled = saga.mode == "choreography"
    return [_Rule(n.start_rule(event), trigger.bus, trigger_pattern(trigger),
                  f"{saga.name}: {trigger.detail_type} from {trigger.source} starts the saga"
                  + ("" if enabled else " (disabled while the state machine's rule starts it: mode 'both')"), enabled)
            for event, trigger in zip(_event_names(saga), saga.triggers) if isinstance(trigger, EventTrigger)]


def _queue(saga: Saga, n: Names, consumer: Consumer, receives: int, timeout: int) -> Json:
    return {
        "Type": "AWS::SQS::Queue",
        "Metadata": _metadata(saga),
        "Properties": {
            # A retry waits in the queue (the adapter sets the message's visibility), so a message may stay long.
            "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
            # Longer than the function may run on a batch, so a message being worked on is not delivered again.
            # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
            "VisibilityTimeout": delivery.visibility_timeout_for(timeout),
            "KmsMasterKeyId": ref(n.key),
            "RedrivePolicy": {"deadLetterTargetArn": get_att(n.event_queue, "Arn"), "maxReceiveCount": receives},
        },
    }


def _queue_policy(saga: Saga, sid: str, queue: str, rules: list[str]) -> Json:
    """EventBridge may send to a queue only if its policy names the rule: these rules, and no others.

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions
    """
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Metadata": _metadata(saga),
        "Properties": {
            "Queues": [ref(queue)],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [_service_statement(sid, "events.amazonaws.com", "sqs:SendMessage", get_att(queue, "Arn"),
                                                 {"ArnEquals": {"aws:SourceArn": [get_att(r, "Arn") for r in rules]}})],
            },
        },
    }


def _rule(saga: Saga, n: Names, rule: _Rule, queue: str) -> Json:
    props: Json = {"Description": rule.description}
    if rule.bus is not None:  # an EventTrigger without a bus listens on the account's default bus
        props["EventBusName"] = rule.bus
    props.update({
        "EventPattern": rule.pattern,
        "State": "ENABLED" if rule.enabled else "DISABLED",
        "Targets": [{
            "Id": "ConsumerQueue",
            "Arn": get_att(queue, "Arn"),
            # EventBridge's own retries of a delivery the queue refused, then the event dead-letter queue
            # (whose policy names this rule): no event is dropped after 24 hours without a trace.
            # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
            "RetryPolicy": {"MaximumRetryAttempts": limits.TARGET_MAX_RETRY_ATTEMPTS,
                            "MaximumEventAgeInSeconds": limits.TARGET_MAX_EVENT_AGE_SECONDS},
            "DeadLetterConfig": {"Arn": get_att(n.event_queue, "Arn")},
        }],
    })
    return {"Type": "AWS::Events::Rule", "Metadata": _metadata(saga), "Properties": props}


def consumer_environment(saga: Saga, n: Names, plan: Plan, consumer: Consumer) -> Json:
    """A consumer function's environment variables (the adapter's contract: ``stepsaga.names``)."""
    config = json.dumps(config_of(plan, consumer), separators=(",", ":"))  # compact and in a fixed key order
    if consumer.kind == "log":
        return {names.CONSUMER_CONFIG_ENV: config, names.SAGA_LOG_TABLE_ENV: ref(n.saga_log), "POWERTOOLS_SERVICE_NAME": saga.name}
    if consumer.kind == "start":
        return {names.CONSUMER_CONFIG_ENV: config, names.EVENT_BUS_ENV: get_att(n.bus, "Name"), names.LEDGER_TABLE_ENV: ref(n.ledger),
                "POWERTOOLS_SERVICE_NAME": saga.name}
    assert consumer.action is not None
    out: Json = {names.CONSUMER_HANDLER_ENV: LambdaHandler(consumer.action).handler, names.CONSUMER_CONFIG_ENV: config,
                 names.EVENT_BUS_ENV: get_att(n.bus, "Name"), names.LEDGER_TABLE_ENV: ref(n.ledger)}
    if consumer.dead_letters:
        out[names.DEAD_LETTER_QUEUE_ENV] = ref(n.queue)
    out.update(function_variables(saga, consumer.name, lambda t: ref(n.table(t))))  # its tables, as in orchestration
    return out


def _function(saga: Saga, n: Names, plan: Plan, consumer: Consumer, code_uri: Callable[[str], str], layer_uri: str, runtime: str) -> Json:
    if consumer.action is not None:
        code, handler = code_uri(LambdaHandler(consumer.action).code_dir), names.ADAPTER_HANDLER
        what = f"{consumer.kind} {consumer.name}: {consumer.action} through the adapter"
    else:
        # No user code: the function is the library's own, so its code is the layer's folder (built the same
        # way), and it needs no layer, which would be a second copy behind the first on sys.path.
        code = layer_uri
        handler = names.PROJECTION_HANDLER if consumer.kind == "log" else names.START_HANDLER
        what = "saga log projection" if consumer.kind == "log" else "start from an EventTrigger"
    props = function_properties(n, f"{saga.name} choreography, {what}", code, handler, runtime, _timeout(plan, consumer),
                                n.consumer_logs(consumer.name), consumer_environment(saga, n, plan, consumer), n.consumer_role(consumer.name))
    if consumer.action is not None:
        props["Layers"] = [ref(n.layer)]
    config = config_of(plan, consumer)
    source: Json = {"Queue": get_att(n.consumer_queue(consumer.name), "Arn"), "BatchSize": delivery.batch_size(config),
                    "FunctionResponseTypes": ["ReportBatchItemFailures"]}
    if delivery.batching_window(config):
        source["MaximumBatchingWindowInSeconds"] = delivery.batching_window(config)
    reserved = consumer.kind == "compensation"
    if reserved:
        # As in orchestration, the undo path keeps capacity of its own. The poller never runs more than the
        # reservation, so it is never throttled (a throttled message would spend a receive for nothing).
        # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
        props["ReservedConcurrentExecutions"] = COMPENSATION_RESERVED_CONCURRENCY
        source["ScalingConfig"] = {"MaximumConcurrency": COMPENSATION_RESERVED_CONCURRENCY}
    props["Events"] = {SQS_EVENT: {"Type": "SQS", "Properties": source}}
    return {"Type": "AWS::Serverless::Function", "Metadata": _metadata(saga, _CONSUMER_SKIPS if reserved else _UNRESERVED_SKIPS),
            "Properties": props}


def emitted_events(plan: Plan, consumer: Consumer) -> dict[str, str]:
    """detail-type -> source of every event a consumer may put on the bus (the adapter's ``sources``)."""
    return dict(config_of(plan, consumer)["sources"])


def _put_events(n: Names, emitted: dict[str, str], sid: str) -> Json:
    """``events:PutEvents`` on the saga's bus, for these detail-types from these sources only.

    EventBridge authorises each entry by its source and detail-type (an entry outside them fails with
    ``NotAuthorizedForSourceException`` or ``NotAuthorizedForDetailTypeException``), so a consumer cannot
    emit another's events. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html
    """
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": get_att(n.bus, "Arn"),
        "Condition": {"StringEquals": {"events:detail-type": list(emitted), "events:source": sorted(set(emitted.values()))}},
    }


def _role(saga: Saga, n: Names, plan: Plan, consumer: Consumer) -> Json:
    """A consumer's own role: nothing beyond its queue, its events on its bus, its ledger rows and its tables."""
    statements: list[Json] = [log_statement(n.consumer_log_group_name(consumer.name))]
    if consumer.action is not None:
        step = saga.step(consumer.step or "")
        decl = step if consumer.kind == "step" else step.compensation
        assert decl is not None
        statements += table_statements(n, table_actions(decl))
    if consumer.kind == "log":
        statements.append({"Sid": "WriteTheSagaLog", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                           "Resource": get_att(n.saga_log, "Arn")})
    else:
        statements.append({
            # Only the rows keyed <consumer>#<event_id>: a consumer cannot mark another's deliveries as done.
            # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
            "Sid": "UseItsOwnLedgerRows",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            "Resource": get_att(n.ledger, "Arn"),
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{consumer.name}#*"]}},
        })
        statements.append(_put_events(n, emitted_events(plan, consumer), "EmitItsOwnEvents"))
    statements.append({"Sid": "TakeFromItsOwnQueue", "Effect": "Allow", "Action": list(QUEUE_READ_ACTIONS),
                       "Resource": get_att(n.consumer_queue(consumer.name), "Arn")})
    kms = ["kms:Decrypt"]  # its environment and its queue's messages are encrypted with the saga key
    if consumer.dead_letters:
        statements.append({"Sid": "SendRepairRecords", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": get_att(n.queue, "Arn")})
        kms.append("kms:GenerateDataKey")  # to encrypt what it sends to the encrypted repair-record queue
    statements.append({"Sid": "UseTheSagaKey", "Effect": "Allow", "Action": kms, "Resource": get_att(n.key, "Arn")})
    return lambda_role(saga, f"choreography {consumer.name}: its queue, its events, its ledger rows, its tables, its log group",
                       f"{consumer.name}Consumer", statements)


# --- the saga's own -------------------------------------------------------------------------


def _bus(saga: Saga, n: Names) -> Json:
    return {
        "Type": "AWS::Events::EventBus",
        "Metadata": _metadata(saga),
        "Properties": {"Name": sub(f"${{AWS::StackName}}-{saga.name}")},
    }


def _layer(saga: Saga, layer_uri: str, runtime: str) -> Json:
    """The adapter: the stepsaga package and its run-time requirements, at /opt/python after ``sam build``.

    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/building-layers.html
    """
    meta = _metadata(saga)
    meta["BuildMethod"] = runtime
    meta["BuildArchitecture"] = "x86_64"
    return {
        "Type": "AWS::Serverless::LayerVersion",
        "Metadata": meta,
        "Properties": {
            "Description": f"stepsaga's choreography adapter for {saga.name}: the stepsaga package and what it imports",
            "ContentUri": layer_uri,
            "CompatibleRuntimes": [runtime],
            "CompatibleArchitectures": ["x86_64"],
            # A new version replaces the old on every deploy; nothing else uses the old one.
            "RetentionPolicy": "Delete",
        },
    }


def ledger_table(saga: Saga, n: Names) -> Json:
    """The delivery ledger: one row per event a consumer took (``<consumer>#<event_id>``), dropped by TTL."""
    table = table_resource(saga, n, names.LEDGER_KEY)
    table["Properties"]["TimeToLiveSpecification"] = {"AttributeName": names.LEDGER_TTL_ATTRIBUTE, "Enabled": True}
    return table


def saga_log_table(saga: Saga, n: Names) -> Json:
    """The saga log: every event of each saga under its saga id, and a summary row."""
    partition, sort = names.SAGA_LOG_KEYS
    return table_resource(saga, n, partition, sort)


def _event_alarms(saga: Saga, n: Names) -> dict[str, Json]:
    """Someone hears of every event that reached the event dead-letter queue, before SQS drops it."""
    queue = ("QueueName", get_att(n.event_queue, "QueueName"))
    return {
        n.event_dead_letters_alarm: _alarm(
            saga, n, "EventDeadLetters",
            f"An event of {saga.name} reached its event dead-letter queue: a consumer could not take it, or EventBridge "
            "could not deliver it. That saga is stuck until a person redrives or repairs it.",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, "Maximum", 300, 0),
        n.event_dead_letters_age_alarm: _alarm(
            saga, n, "EventDeadLettersAging",
            f"An event of {saga.name} has waited {DLQ_AGE_ALARM_SECONDS // 86400} days in its event dead-letter queue; "
            f"SQS deletes it {DLQ_RETENTION_SECONDS // 86400} days after it was first sent.",
            "AWS/SQS", "ApproximateAgeOfOldestMessage", queue, "Maximum", 3600, DLQ_AGE_ALARM_SECONDS),
    }


# --- starting over HTTP ---------------------------------------------------------------------

#: What API Gateway puts in the Started detail for the request: its id (a UUID), fixed for the saga.
REQUEST_ID = "$context.requestId"
#: When the request arrived, in milliseconds since the epoch.
REQUEST_TIME_MS = "$context.requestTimeEpoch"
_BUS, _INPUT, _TIME = "@@bus@@", "@@input@@", "@@time@@"


def started_detail(plan: Plan) -> Json:
    """The Started event's detail an HTTP start puts, with markers where the request's values go.

    Every field of ``stepsaga.choreography.events.EventDetail``, in its order: the saga id, correlation id and
    event id are the request id, ``seq`` is 0, the producer is ``api``, the input is the (validated) body.
    """
    return {
        "saga": plan.saga.name, "saga_id": REQUEST_ID, "correlation_id": REQUEST_ID, "causation_id": None,
        "event_id": REQUEST_ID, "seq": 0, "producer": API_PRODUCER, "step": None, "attempt": None, "attempts": [],
        "input": _INPUT, "results": {}, "compensated": {}, "error": None, "business_error": None,
        "compensation_error": None, "time_ms": _TIME,
    }


def put_started_template(n: Names, plan: Plan) -> str:
    """The request mapping template (``Fn::Sub`` text): a PutEvents request with the one Started entry.

    The detail is JSON text inside the request's JSON, so it is written escaped, and the body inside it is
    escaped once more by ``$util.escapeJavaScript`` (as SAM's StartExecution template escapes ``input``).
    """
    detail = json.dumps(started_detail(plan), separators=(",", ":"))
    entry = {"Source": plan.source, "DetailType": plan.event_of(STARTED).name, "EventBusName": _BUS, "Detail": detail}
    text = json.dumps({"Entries": [entry]})
    text = text.replace(f'\\"{_INPUT}\\"', ESCAPED_BODY).replace(f'\\"{_TIME}\\"', REQUEST_TIME_MS)
    return text.replace(_BUS, f"${{{n.bus}.Name}}")


#: The response when PutEvents answers: the saga id, or 500 when it did not take the entry (nothing started).
#: https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html
PUT_STARTED_RESPONSE = (
    "#if($input.path('$.FailedEntryCount') == 0)\n"
    '{"saga_id": "$context.requestId", "event_id": "$input.path(\'$.Entries[0].EventId\')"}\n'
    "#else\n"
    "#set($context.responseOverride.status = 500)\n"
    '{"message": "the saga did not start: EventBridge did not take its Started event; try again", '
    '"error": "$util.escapeJavaScript($input.path(\'$.Entries[0].ErrorCode\'))"}\n'
    "#end\n"
)
#: PutEvents itself failed (throttled, refused): nothing started.
PUT_FAILED_RESPONSE = '{"message": "the saga did not start: EventBridge refused the request; try again", "request_id": "$context.requestId"}'


def _openapi(saga: Saga, n: Names, plan: Plan, http: list[tuple[str, HttpTrigger]]) -> Json:
    """The same routes, auth and validation as the orchestration's API, integrated with PutEvents instead."""

    def operation(event: str, trigger: HttpTrigger) -> tuple[Json, Json]:
        responses = {
            "200": {"description": "The Started event is on the bus; the body has the saga_id"},
            "400": {"description": "The body failed validation"},
            "500": {"description": "EventBridge did not take the Started event: nothing started, try again"},
        }
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/integrating-api-with-aws-services.html
        integration = aws_integration(
            "events:action/PutEvents", get_att(n.choreography_api_role, "Arn"), sub(put_started_template(n, plan)),
            {"default": {"statusCode": "200", "responseTemplates": {"application/json": PUT_STARTED_RESPONSE}},
             "[45]\\d{2}": {"statusCode": "500", "responseTemplates": {"application/json": PUT_FAILED_RESPONSE}}},
            {"integration.request.header.X-Amz-Target": "'AWSEvents.PutEvents'",
             "integration.request.header.Content-Type": "'application/x-amz-json-1.1'"})
        return responses, integration

    return openapi(saga, f"${{AWS::StackName}}-{saga.name}-choreography", http, operation,
                   summary=f"Start {saga.name} as a choreography with the request body as its input")


def _api_role(saga: Saga, n: Names, plan: Plan) -> Json:
    """The role API Gateway's integration takes: put the saga's Started event on its bus, nothing else."""
    started = {plan.event_of(STARTED).name: plan.source}
    return {
        "Type": "AWS::IAM::Role",
        "Metadata": _metadata(saga),
        "Properties": {
            "Description": sub(f"${{AWS::StackName}} {saga.name} choreography API: put the Started event on the saga's bus"),
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            },
            "Policies": [{"PolicyName": "PutStartedEvents", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [_put_events(n, started, "StartTheSagaOnItsBus")]}}],
        },
    }

