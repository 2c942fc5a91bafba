"""The embedded choreography: the saga's events on an in-process bus, its consumers fed by moto SQS queues.

What a cloud deploys for a choreography, as the template does (``stepsaga.sam``): per consumer a queue
(visibility timeout and redrive from ``stepsaga.choreography.delivery``) and a rule on the saga's bus whose
pattern is ``plan.pattern(consumer)``; the delivery ledger and the saga log tables; the event dead-letter
queue. The rules are also created in moto's EventBridge, as a check that PutRule takes them.

A run starts the saga by putting its Started event (as API Gateway's PutEvents integration does), then lets
the bus, the queues and the consumers work on the virtual clock until nothing is left to deliver. Each
step's and compensation's consumer is the real adapter (``stepsaga.choreography.adapter``), calling the real
handler in its sandbox through the same dispatcher, with the same faults, as an orchestration run; the saga
log is the real projection. The result is read from the saga log.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import random
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from stepsaga.choreography import delivery
from stepsaga.choreography.adapter import Adapter, AttemptFailed, ProcessExited, lease_seconds
from stepsaga.choreography.config import consumer_config
from stepsaga.choreography.plan import STARTED, Plan, plan, trigger_pattern
from stepsaga.model import EventTrigger
from stepsaga.choreography.projection import Projection, project_batch
from stepsaga.choreography.start import API_PRODUCER, Starter, started_entry
from stepsaga.lambda_errors import function_error_payload, platform_error_payload, service_error_cause, timed_out_message
from stepsaga.local.bus import EventBus, Scheduler, Target, routed_client
from stepsaga.local.dispatch import Dispatcher
from stepsaga.local.engine import (
    FunctionError,
    FunctionTimedOut,
    Invocation,
    LambdaServiceError,
    RuntimeExited,
    TaskTimedOut,
    VirtualClock,
)
from stepsaga.local.esm import QueuePoller
from stepsaga.names import LEDGER_KEY, SAGA_LOG_KEYS

#: A run stops after this much virtual time (SQS keeps a message 14 days; EventBridge an event 24 hours).
MAX_VIRTUAL_SECONDS = 14 * 24 * 3600.0
#: ... or after this many scheduled callbacks: a bug, never a saga (a saga's deliveries are bounded).
MAX_STEPS = 200_000


class ChoreographyError(RuntimeError):
    """The embedded choreography did not settle: a bug of the local runtime, never of the saga."""


# The run in progress in this context: its bus answers the PutEvents of the deployment's events client.
_RUN: contextvars.ContextVar[ChoreographyRun | None] = contextvars.ContextVar("stepsaga_choreography_bus", default=None)


def _current_bus() -> EventBus:
    run = _RUN.get()
    if run is None:
        raise ChoreographyError("a choreography's events client was called outside one of its runs")
    return run.bus


class Deployment:
    """A cloud's choreography resources in moto, and the clients to reach them (made once)."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self.saga = cloud.saga
        self.plan: Plan = plan(self.saga)
        self.configs = {c.name: consumer_config(self.plan, c) for c in self.plan.consumers}
        self.sqs = cloud.client("sqs")
        self.ddb = cloud.client("dynamodb")
        prefix = f"{self.saga.name}-{cloud.id}"
        self.bus_name = f"{prefix}-bus"
        self.ledger_name, self.log_name = f"{prefix}-ledger", f"{prefix}-log"
        self.queues: dict[str, tuple[str, str, str]] = {}  # consumer -> (url, arn, name)
        self.event_dlq: tuple[str, str] = ("", "")
        self.event_dlq_name = f"{prefix}-events-dlq"
        self.patterns = {c.name: self.plan.pattern(c) for c in self.plan.consumers if c.kind != "start"}
        self._events_client: Any = None

    def events_client(self) -> Any:
        """The boto3 ``events`` client of every run (made once: about 5 ms each), answered by the run's bus."""
        if self._events_client is None:
            self._events_client = routed_client(self.cloud.new_client("events"), _current_bus)
        return self._events_client

    def deploy(self) -> None:
        """Create the tables, queues and (as a check) the bus and rules in moto."""
        self.ddb.create_table(TableName=self.ledger_name, KeySchema=[{"AttributeName": LEDGER_KEY, "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": LEDGER_KEY, "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        saga_key, entry_key = SAGA_LOG_KEYS
        self.ddb.create_table(
            TableName=self.log_name,
            KeySchema=[{"AttributeName": saga_key, "KeyType": "HASH"}, {"AttributeName": entry_key, "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": saga_key, "AttributeType": "S"}, {"AttributeName": entry_key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dlq_name = self.event_dlq_name
        dlq_url = self.sqs.create_queue(QueueName=dlq_name, Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = self.queue_arn(dlq_name)
        self.event_dlq = (dlq_url, dlq_arn)
        for consumer in self.plan.consumers:
            config = self.configs[consumer.name]
            name = f"{self.saga.name}-{self.cloud.id}-{consumer.name}"
            url = self.sqs.create_queue(QueueName=name, Attributes={
                "VisibilityTimeout": str(delivery.visibility_timeout(config)),
                "MessageRetentionPeriod": "1209600",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": delivery.max_receive_count(config)}),
            })["QueueUrl"]
            arn = self.queue_arn(name)
            self.queues[consumer.name] = (url, arn, name)
        events = self.cloud.client("events")
        events.create_event_bus(Name=self.bus_name)
        for consumer in self.plan.consumers:  # PutRule takes every generated pattern (moto's check is loose; ours is not)
            if consumer.name not in self.patterns:
                continue
            events.put_rule(Name=self.rule_name(consumer.name), EventBusName=self.bus_name, EventPattern=json.dumps(self.patterns[consumer.name]))

    def resources(self) -> tuple[list[str], list[str]]:
        """The names of the tables and queues deploy() created (what a cloud's reset empties)."""
        return [self.ledger_name, self.log_name], [name for _url, _arn, name in self.queues.values()] + [self.event_dlq_name]

    def queue_arn(self, name: str) -> str:
        """A queue's ARN, as SQS forms it: ``arn:aws:sqs:<region>:<account>:<name>``."""
        return f"arn:aws:sqs:{self.cloud.region}:{self.cloud.account}:{name}"

    def rule_name(self, consumer: str) -> str:
        """The rule of a consumer on the saga's bus."""
        return f"{self.saga.name}-{consumer}"

    def undeploy(self) -> None:
        """Delete what deploy() created (moto keeps it while another cloud runs)."""
        from botocore.exceptions import ClientError

        for url in [q[0] for q in self.queues.values()] + [self.event_dlq[0]]:
            try:
                if url:
                    self.sqs.delete_queue(QueueUrl=url)
            except ClientError:
                pass
        for table in (self.ledger_name, self.log_name):
            try:
                self.ddb.delete_table(TableName=table)
            except ClientError:
                pass


class ChoreographyRun:
    """One saga, from its Started event until nothing is left to deliver, on a virtual clock."""

    def __init__(self, deployment: Deployment, dispatcher: Dispatcher, delivery_faults: Mapping[str, tuple[Any, ...]], seed: int | None = None) -> None:
        from stepsaga.local._moto import sqs_clock

        self.d, self.dispatcher = deployment, dispatcher
        self.clock = VirtualClock()
        self.scheduler = Scheduler(self.clock)
        self.epoch = round(time.time(), 3)
        self._sqs_clock = sqs_clock
        cloud = deployment.cloud
        self.bus = EventBus(deployment.bus_name, cloud.account, cloud.region, self.scheduler, self.epoch, dict(delivery_faults))
        self.events_client = deployment.events_client()
        self.rng = random.Random(seed)
        ddb = cloud.resource("dynamodb")
        self.ledger_table = ddb.Table(deployment.ledger_name)
        self.log_table = ddb.Table(deployment.log_name)
        self.pollers: dict[str, QueuePoller] = {}
        self.trigger_buses: dict[str, EventBus] = {}
        for consumer in deployment.plan.consumers:
            self._wire(consumer.name)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """This run's bus answers the deployment's events client for the block, in this context."""
        token = _RUN.set(self)
        try:
            yield
        finally:
            _RUN.reset(token)

    def now(self) -> float:
        """Epoch seconds on the run's virtual clock."""
        return self.epoch + self.clock.now

    # --- wiring ------------------------------------------------------------------------------

    def _wire(self, name: str) -> None:
        d = self.d
        config = d.configs[name]
        url, arn, queue_name = d.queues[name]
        function = f"{d.saga.name}-{name}" if config["kind"] in ("step", "compensation") else f"{d.saga.name}-{name}-consumer"
        invoke = self._consumer(name, config)
        poller = QueuePoller(name, function, url, arn, queue_name, invoke, delivery.consumer_timeout(config), d.sqs,
                             self.scheduler, self.epoch, d.cloud.account, d.cloud.region,
                             batch_size=delivery.batch_size(config), batching_window=delivery.batching_window(config))
        self.pollers[name] = poller

        def send(body: str, url: str = url, poller: QueuePoller = poller) -> None:
            d.sqs.send_message(QueueUrl=url, MessageBody=body)
            poller.delivered()

        def dead_letter(body: str, attributes: dict[str, str]) -> None:
            d.sqs.send_message(QueueUrl=d.event_dlq[0], MessageBody=body, MessageAttributes={
                k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()})

        target = Target(id=f"{name}Queue", arn=arn, send=send, consumer=name, dead_letter=dead_letter)
        if config["kind"] != "start":
            self.bus.put_rule(d.rule_name(name), d.patterns[name], [target])
            return
        for index, trigger in enumerate(d.saga.triggers):  # the start reacts to the triggers' events, on their buses
            if isinstance(trigger, EventTrigger):
                bus_name = trigger.bus or "default"
                if bus_name not in self.trigger_buses:
                    self.trigger_buses[bus_name] = EventBus(bus_name, d.cloud.account, d.cloud.region, self.scheduler, self.epoch)
                self.trigger_buses[bus_name].put_rule(f"{d.saga.name}-Trigger{index}", trigger_pattern(trigger), [target])

    def _consumer(self, name: str, config: dict[str, Any]) -> Any:
        d = self.d
        if config["kind"] == "log":
            projection = Projection.from_config(self.log_table, config)
            return lambda event, context: project_batch(projection, event)
        if config["kind"] == "start":
            return Starter(config, self.events_client, d.bus_name, self.now).handle
        adapter = Adapter(
            config, self._call(name), events=self.events_client, sqs=d.sqs, ledger_table=self.ledger_table, bus=d.bus_name,
            dead_letter_queue_url=d.cloud.queue_url, now=self.now, rng=self.rng,
            lease_seconds=lease_seconds(config),
        )
        return adapter.handle

    def _call(self, state: str) -> Any:
        """The handler call of a step or compensation: the dispatcher (faults, the sandboxed handler), with the
        engine's signals turned into what the adapter sees on Lambda."""
        saga = self.d.saga
        decl = next((s for s in saga.steps if s.name == state), None)
        if decl is None:
            decl = next(s.compensation for s in saga.steps if s.compensation is not None and s.compensation.name == state)
        deadline = decl.timeout_seconds or saga.task_timeout_seconds
        handler_timeout = float(self.d.configs[state]["handler_timeout"])
        function = f"{saga.name}-{state}"

        def call(payload: dict[str, Any], context: Any) -> Any:
            request_id = getattr(context, "aws_request_id", "") or str(uuid.uuid4())
            try:
                return self.dispatcher(Invocation(function, payload, state, deadline), context)
            except TaskTimedOut:
                self.clock.advance(deadline, "timeout", state)
                raise AttemptFailed("States.Timeout", "") from None
            except FunctionTimedOut as exc:
                seconds = exc.seconds if exc.seconds is not None else handler_timeout
                if seconds > deadline:  # the step's deadline passes first, as the Task's does
                    self.clock.advance(deadline, "timeout", state)
                    raise AttemptFailed("States.Timeout", "") from None
                self.clock.advance(seconds, "function_timeout", state)
                raise AttemptFailed("Sandbox.Timedout", platform_error_payload("Sandbox.Timedout", timed_out_message(request_id, seconds))) from None
            except RuntimeExited:
                raise ProcessExited() from None
            except LambdaServiceError as exc:
                raise AttemptFailed(f"Lambda.{exc.code}", service_error_cause(exc.code, exc.message, exc.status_code, request_id)) from None
            except FunctionError as exc:
                raise AttemptFailed(exc.error_type, function_error_payload(exc.error_type, exc.message, request_id, exc.stack_trace)) from None

        return call

    # --- the run -----------------------------------------------------------------------------

    def start(self, saga_id: str, input: Any) -> None:
        """Put the saga's Started event, as API Gateway's PutEvents integration does."""
        started = self.d.plan.event_of(STARTED)
        config = {"saga": self.d.saga.name, "on_success": [started.name], "sources": {started.name: started.source}}
        entry = started_entry(config, saga_id, input, API_PRODUCER, self.d.bus_name, int(self.now() * 1000))
        response = self.events_client.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise ChoreographyError(f"the bus rejected the Started event: {response['Entries'][0]}")

    def trigger(self, index: int, detail: Any) -> str:
        """Put an event of the saga's ``triggers[index]`` (an EventTrigger) on its bus; returns the event's id,
        which becomes the saga id once ``SagaStart`` has started it. ``ValueError`` when ``triggers[index]`` is no
        EventTrigger."""
        trigger = self.d.saga.triggers[index] if 0 <= index < len(self.d.saga.triggers) else None
        if not isinstance(trigger, EventTrigger):
            raise ValueError(f"triggers[{index}] of saga {self.d.saga.name} is not an EventTrigger")
        bus = self.trigger_buses[trigger.bus or "default"]
        response = bus.put_events([{"Source": trigger.source, "DetailType": trigger.detail_type, "Detail": json.dumps(detail),
                                    "EventBusName": bus.name}])
        if response["FailedEntryCount"]:
            raise ChoreographyError(f"the trigger's bus rejected the event: {response['Entries'][0]}")
        return str(response["Entries"][0]["EventId"])

    def settle(self) -> None:
        """Deliver everything due, in virtual time order, until nothing is left."""
        steps = 0
        with self._sqs_clock.using(lambda: self.now() * 1000):
            while self.scheduler.step() or self.bus.drain_held():
                steps += 1
                if steps > MAX_STEPS or self.clock.now > MAX_VIRTUAL_SECONDS:
                    raise ChoreographyError(f"the choreography of {self.d.saga.name} did not settle after {steps} deliveries "
                                            f"and {self.clock.now:.0f} virtual seconds")


def run_saga(cloud: Any, deployment: Deployment, input: Any, faults: Mapping[str, Any] | None, saga_id: str | None,
             allow_contract_violations: bool = False, seed: int | None = None, trigger: int | None = None) -> Any:
    """Run one saga as a choreography in a started cloud and return its ``SagaResult`` (mode ``choreography``).

    By default the saga starts as API Gateway starts it: its Started event is put with ``saga_id``, checked
    as StartExecution checks an execution name (and the input as its input), so the same id and input start a
    saga in both modes. An input that is not a JSON object is rejected before any event, as API Gateway's
    model rejects it: the result is ``FAILED`` with ``InvalidSagaInput`` and no state. With ``trigger`` (the
    index of an EventTrigger in ``saga.triggers``) an event of that trigger, whose detail is ``input``, is put on
    the trigger's bus instead: its rule, queue and ``SagaStart`` start the saga, whose id is the event's id.
    """
    from stepsaga.local import _moto

    with _moto.choreography_run():  # the same moto shortcuts for its handlers' writes as an inline run's
        return _run_saga(cloud, deployment, input, faults, saga_id, allow_contract_violations, seed, trigger)


def _run_saga(cloud: Any, deployment: Deployment, input: Any, faults: Mapping[str, Any] | None, saga_id: str | None,
              allow_contract_violations: bool, seed: int | None, trigger: int | None) -> Any:
    from botocore.exceptions import ClientError
    from pydantic import ValidationError

    from stepsaga.choreography.projection import read_log
    from stepsaga.local.choreography_result import build_choreography_result
    from stepsaga.local.faults import plan_faults
    from stepsaga.local.quotas import check_start_execution, input_text
    from stepsaga.local.result import SagaResult
    from stepsaga.names import INVALID_INPUT_ERROR

    text = input_text(input)
    if trigger is None:
        assert saga_id is not None
        check_start_execution(saga_id, text)
    consumers = [c.name for c in deployment.plan.consumers]
    handler_faults, delivery_faults = plan_faults(faults, list(cloud.saga.handlers()), consumers)
    dispatcher = cloud.dispatcher(handler_faults)
    contract = cloud.contract_check()
    started = time.perf_counter()
    run = ChoreographyRun(deployment, contract.wrap(dispatcher), delivery_faults, seed)
    with run.active():  # its bus answers the deployment's events client
        try:
            if trigger is None:
                run.start(saga_id, json.loads(text))  # type: ignore[arg-type]
            else:
                saga_id = run.trigger(trigger, json.loads(text))
        except ValidationError:
            return SagaResult(
                saga=cloud.saga.name, execution=saga_id, status="FAILED", error=INVALID_INPUT_ERROR,
                cause="The saga input must be a JSON object; no step ran.", raw_output=None, states=[], dlq=[], history=[],
                virtual_seconds=0.0, wall_seconds=time.perf_counter() - started, mode="choreography",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ValidationException":  # the Started event is over PutEvents' 256 KB
                from stepsaga.errors import StartExecutionError

                raise StartExecutionError("ValidationException", f"the Started event is too large for PutEvents: {exc}") from None
            raise
        run.settle()
        wall = time.perf_counter() - started
        log = read_log(run.log_table, saga_id)
        dlq = _drain(deployment.sqs, cloud.queue_url, lambda body: body.get("saga_id") == saga_id and "execution_arn" not in body)
        undelivered = _drain(deployment.sqs, deployment.event_dlq[0], lambda body: (body.get("detail") or {}).get("saga_id") == saga_id, raw=True)
        records = list({r.get("record_id", id(r)): r for r in dlq}.values())  # a record sent twice (a retried emit) once
        # The saga took until its end event (the log's batching window after it is not the saga's); a saga that
        # never ended took until the run settled.
        took = (log.ended_ms - int(run.epoch * 1000)) / 1000 if log.ended_ms is not None else run.clock.now
        return build_choreography_result(
            deployment.plan, log, dispatcher.calls, records, undelivered, max(0.0, took), wall, int(run.epoch * 1000),
            contract.violations, allow_contract_violations,
        )


def _drain(sqs: Any, url: str, mine: Any, raw: bool = False) -> list[dict[str, Any]]:
    """Read and delete a queue's messages that belong to this run (``mine(body)``); others stay."""
    if not url:
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            return out
        for m in fresh:
            seen.add(m["MessageId"])
            try:
                body = json.loads(m["Body"])
            except ValueError:
                continue
            if not isinstance(body, dict) or not mine(body):
                continue
            attributes = {k: v.get("StringValue") for k, v in (m.get("MessageAttributes") or {}).items()}
            out.append({"body": m["Body"], "attributes": attributes} if raw else body)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
