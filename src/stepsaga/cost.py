"""What a saga costs a month on AWS in each mode, for the happy and the compensated path: ``stepsaga cost``.

The counts come from the saga itself, never from a hand-written table:

* **orchestration**: the compiled ASL is walked the way the machine runs it (``walk_asl``): every state
  entered is a state transition (Standard bills each one, retries included), every ``lambda:invoke`` Task
  entered is a Lambda invocation. An Express execution bills its requests and its duration, estimated as the
  Lambda calls' assumed durations (plus any retry waits) at the smallest memory it bills (64 MB);
* **choreography**: the plan (``stepsaga.choreography.plan``) is played event by event (``play_plan``): each
  event is a ``PutEvents`` entry, billed per 64 KB chunk of its size; each delivery to a consumer's queue
  is EventBridge's ``SendMessage``, the event source mapping's ``ReceiveMessage`` and ``DeleteMessage``; each
  delivery runs a Lambda; the saga log's projection runs once per event; the delivery ledger writes a claim,
  an outcome and a completion per delivery, the saga log an item and its summary per event. Each queue is
  also long-polled while idle.

The **happy path** has no retries. The **compensated path** is the longest: the last compensatable step fails
with an error that is not a business error (``UNEXPECTED_ERROR``, which only a ``States.ALL`` retrier retries),
so every compensation runs. Prices are in ``stepsaga/data/prices.json``, each with its unit, AWS page and the
date it was read; free tiers are not deducted, and what both modes pay alike (the handlers' own DynamoDB
calls, the trigger, CloudWatch Logs, KMS) is not counted. Standard library only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stepsaga.choreography.plan import Consumer, Plan
    from stepsaga.model import Saga

#: Billing months are taken as 30 days.
DAYS_PER_MONTH = 30
SECONDS_PER_MONTH = DAYS_PER_MONTH * 24 * 60 * 60
#: The assumed average duration of every Lambda invocation (handler, adapter, projection), in ms.
DEFAULT_LAMBDA_MS = 100
#: The input's size when no ``--input`` is given, and each step's and compensation's result size, in bytes
#: of compact JSON (the reference order, workflows/inputs/order.json, is about 260 bytes).
DEFAULT_INPUT_BYTES = 1024
DEFAULT_RESULT_BYTES = 256
#: The size of a failure's ``Cause``: the Lambda Python runtime's error JSON with a short stack trace.
CAUSE_BYTES = 512
#: The error the compensated path fails with: not a business error, retried only by ``States.ALL``.
UNEXPECTED_ERROR = "UnexpectedError"
#: Errors ``States.ALL`` does not match (the ASL specification; ``stepsaga.orchestration`` catches them by name).
NOT_MATCHED_BY_ALL = ("States.DataLimitExceeded", "States.Runtime")
#: Idle long pollers per queue: "When traffic is low, Lambda scales back the processing to five concurrent
#: batches, and can optimize to as few as 2" (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
#: Five is the upper bound AWS documents, so the polling line is an upper bound.
IDLE_POLLERS_PER_QUEUE = 5
#: Each long poll waits up to 20 seconds, SQS's maximum
#: (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html).
LONG_POLL_SECONDS = 20
#: The adapter writes a delivery's ledger row (``<consumer>#<event_id>``) three times: the claim, which starts
#: the first attempt (a conditional put); the outcome, before PutEvents; the completion
#: (``stepsaga.choreography.ledger``). A row is well under 1 KB (one write unit each) unless its outcome
#: holds large events: counted at one unit, so a lower bound for large events.
LEDGER_WRITES_PER_DELIVERY = 3
#: The saga log writes per event: its item, holding the event's detail (the choreography's execution history,
#: one write unit per KB of it), and the update of the saga's small summary item (one unit)
#: (``stepsaga.choreography.projection``).
LOG_WRITES_PER_EVENT = 2
#: The template's functions run on x86_64 (``stepsaga.sam.resources``); Lambda's x86 price applies.
LAMBDA_ARCHITECTURE = "x86_64"

#: Where a saga's events come from on the sample envelope; only their sizes matter.
_SAMPLE_UUID = "00000000-0000-4000-8000-000000000000"
_SAMPLE_ENVELOPE = {"version": "0", "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": []}


# --- prices -----------------------------------------------------------------------------------


def load_prices() -> dict[str, Any]:
    """The price file shipped with the package (``stepsaga/data/prices.json``)."""
    from importlib.resources import files

    return json.loads(files("stepsaga").joinpath("data", "prices.json").read_text(encoding="utf-8"))


# --- the orchestration's path through its compiled ASL ---------------------------------------


@dataclass(frozen=True, slots=True)
class AslPath:
    """The states an execution enters, in order (a retried state once per attempt), and what it calls."""

    states: tuple[str, ...]
    lambda_invocations: int
    sqs_sends: int
    retry_wait_seconds: float

    @property
    def transitions(self) -> int:
        """State transitions as Standard bills them: every state entered, every retry too."""
        return len(self.states)


def matching_retrier(retriers: list[dict[str, Any]], error: str) -> dict[str, Any] | None:
    """The first retrier (or catcher) whose ``ErrorEquals`` matches an error, as ASL picks it; None if none does."""
    for r in retriers:
        names = r["ErrorEquals"]
        if error in names or ("States.ALL" in names and error not in NOT_MATCHED_BY_ALL):
            return r
    return None


def retry_waits(retrier: dict[str, Any] | None) -> list[float]:
    """The waits before each retry a retrier makes, without jitter (an upper bound with FULL jitter)."""
    if retrier is None:
        return []
    out, wait = [], float(retrier.get("IntervalSeconds", 1))
    for _ in range(retrier.get("MaxAttempts", 3)):
        cap = retrier.get("MaxDelaySeconds")
        out.append(min(wait, cap) if cap else wait)
        wait *= retrier.get("BackoffRate", 2.0)
    return out


def walk_asl(doc: dict[str, Any], failures: dict[str, str] | None = None) -> AslPath:
    """Follow a compiled machine from StartAt to its end, for a JSON object input.

    ``failures`` maps a Task to the error it fails with on every attempt; every other Task succeeds. A failing
    Task is retried by its first matching retrier (each retry is a state entered), then caught by its first
    matching catcher. The only Choice the compiler writes, ``CheckSagaInput``, takes its first rule: the
    input is a JSON object.
    """
    from stepsaga.names import CHECK_INPUT
    from stepsaga.orchestration import LAMBDA_INVOKE, SQS_SEND

    failures = failures or {}
    states: dict[str, Any] = doc["States"]
    name: str | None = doc["StartAt"]
    entered: list[str] = []
    calls = sends = 0
    waited = 0.0
    while name is not None:
        if len(entered) > 100 * len(states):
            raise ValueError(f"the machine does not end: {' -> '.join(entered[-5:])} ...")
        state = states[name]
        kind = state["Type"]
        entered.append(name)
        nxt = None if state.get("End") else state.get("Next")
        if kind == "Task":
            error = failures.get(name)
            waits = retry_waits(matching_retrier(state.get("Retry", []), error)) if error else []
            entered.extend([name] * len(waits))
            waited += sum(waits)
            calls += (1 + len(waits)) * (state["Resource"] == LAMBDA_INVOKE)
            sends += (1 + len(waits)) * (state["Resource"] == SQS_SEND)
            if error:
                catcher = matching_retrier(state.get("Catch", []), error)
                nxt = catcher["Next"] if catcher else None  # uncaught: the execution fails here
        elif kind == "Choice":
            if name != CHECK_INPUT:
                raise ValueError(f"state {name}: cost estimates know only the compiler's own Choice, {CHECK_INPUT}")
            nxt = state["Choices"][0]["Next"]
        elif kind in ("Succeed", "Fail"):
            nxt = None
        elif kind not in ("Pass", "Wait"):
            raise ValueError(f"state {name}: cost estimates do not cover {kind} states")
        name = nxt
    return AslPath(tuple(entered), calls, sends, waited)


# --- the choreography's path through its plan ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Published:
    """One event put on the bus: its ``PutEvents`` entry size and the SQS message each delivery carries."""

    name: str
    producer: str
    detail: dict[str, Any]  # as stepsaga.choreography.events.EventDetail has it, with sample ids
    entry_bytes: int
    message_bytes: int
    detail_bytes: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event delivered to one consumer's queue, and the size of the SQS message that carries it."""

    event: str
    consumer: str
    message_bytes: int


@dataclass(frozen=True, slots=True)
class EventFlow:
    """A choreography path: the events in the order they are put, their deliveries, and the retries."""

    events: tuple[Published, ...]
    deliveries: tuple[Delivery, ...]  # the saga log's included; an EventTrigger's event to SagaStart too
    retried: tuple[int, ...]  # the message size of each redelivery of a failing step (its retrier's attempts)

    @property
    def handler_deliveries(self) -> int:
        """Deliveries to a consumer that runs a handler and claims the delivery in the ledger (all but the log)."""
        from stepsaga.choreography.plan import SAGA_LOG

        return sum(d.consumer != SAGA_LOG for d in self.deliveries)

    @property
    def log_deliveries(self) -> int:
        """Deliveries to the saga log's projection: one per event."""
        return len(self.deliveries) - self.handler_deliveries


def sized(value: Any) -> int:
    """Bytes of a value's compact JSON, UTF-8, as EventBridge and SQS count a payload."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def padded(size: int, key: str = "data") -> dict[str, str]:
    """A JSON object of exactly ``size`` bytes (or the smallest one, ``{"data":""}``, below that)."""
    empty = sized({key: ""})
    return {key: "x" * max(0, size - empty)}


def sample_detail(saga: str, seq: int, producer: str, about: str | None, saga_input: dict[str, Any],
                  state: dict[str, Any], business_error: bool | None) -> dict[str, Any]:
    """An event's detail as ``stepsaga.choreography.events.EventDetail`` has it, with sample ids: for its size.

    ``state`` holds the saga's ``results``, ``compensated`` and ``error`` so far.
    """
    return {
        "saga": saga, "saga_id": _SAMPLE_UUID, "correlation_id": _SAMPLE_UUID,
        "causation_id": _SAMPLE_UUID if seq else None, "event_id": _SAMPLE_UUID, "seq": seq,
        "producer": producer, "step": about, "attempt": 1 if about else None,
        "attempts": [{"number": 1, "started_ms": 1767225600000, "outcome": "ok", "error": None, "cause": None, "waited": 0.0}] if about else [],
        "input": saga_input, "results": dict(state["results"]), "compensated": dict(state["compensated"]),
        "error": state["error"], "business_error": business_error, "compensation_error": None, "time_ms": 1767225600000,
    }


def play_plan(p: Plan, saga_input: dict[str, Any], result_bytes: int, failing: str | None = None,
              error: str = UNEXPECTED_ERROR) -> EventFlow:
    """Play a saga's choreography: ``failing`` (a step) fails with ``error`` on every attempt, all else succeeds.

    Events carry the saga's state (input, results, compensations, error) as ``stepsaga.choreography.events``
    defines their detail, so a later event is larger; sizes are measured on that detail and on the event
    EventBridge hands to SQS (its envelope around the detail).
    """
    from stepsaga.choreography.config import consumer_config
    from stepsaga.choreography.plan import ABORTED, STARTED

    saga = p.saga
    business = failing is not None and error in saga.step(failing).business_errors
    state: dict[str, Any] = {"results": {}, "compensated": {}, "error": None}
    events: list[Published] = []
    deliveries: list[Delivery] = []
    retried: list[int] = []
    queue: list[tuple[Published, bool | None]] = []  # events put and not yet delivered, with business_error

    def put(name: str, producer: str, flag: bool | None, about: str | None) -> None:
        detail = sample_detail(saga.name, len(events), producer, about, saga_input, state, flag)
        source = p.event(name).source
        # A PutEvents entry counts its Source, DetailType and Detail (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
        entry = sum(len(text.encode("utf-8")) for text in (source, name, json.dumps(detail, separators=(",", ":"), ensure_ascii=False)))
        message = {**_SAMPLE_ENVELOPE, "id": _SAMPLE_UUID, "detail-type": name, "source": source, "detail": detail}
        event = Published(name, producer, detail, entry, sized(message), sized(detail))
        events.append(event)
        queue.append((event, flag))

    def react(c: Consumer, message_bytes: int) -> None:
        if c.kind == "start":
            return put(p.event_of(STARTED).name, c.name, None, None)
        if c.name == failing:
            retried.extend([message_bytes] * len(retry_waits(matching_retrier(consumer_config(p, c)["retry"], error))))
            state["error"] = {"Error": error, "Cause": "x" * max(0, CAUSE_BYTES - sized(error))}
            for name in c.on_failure:
                put(name, c.name, business, c.name)
            if ("business" if business else "error") in c.aborts:
                put(p.event_of(ABORTED).name, c.name, None, None)
            return
        state["results" if c.kind == "step" else "compensated"][c.name] = {"output": padded(result_bytes)}
        for name in c.on_success:
            put(name, c.name, None, c.name)

    start = next((c for c in p.consumers if c.kind == "start"), None)
    if start is not None:  # an EventTrigger's event, put by its own producer, reaches SagaStart's queue
        size = sized({**_SAMPLE_ENVELOPE, "id": _SAMPLE_UUID, "detail-type": "x", "source": "x", "detail": saga_input})
        deliveries.append(Delivery("(the EventTrigger's event)", start.name, size))
        react(start, size)
    else:  # the HTTP trigger's PutEvents integration, or the user's own code, puts Started
        put(p.event_of(STARTED).name, "trigger", None, None)
    while queue:
        event, flag = queue.pop(0)
        for c in p.consumers:
            if c.kind != "start" and any(t.event == event.name and t.business_error in (None, flag) for t in c.triggers):
                deliveries.append(Delivery(event.name, c.name, event.message_bytes))
                if c.kind != "log":
                    react(c, event.message_bytes)
    return EventFlow(tuple(events), tuple(deliveries), tuple(retried))


# --- line items --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assumptions:
    """What the estimate assumes about the saga's running, besides the prices."""

    per_day: int
    lambda_ms: int
    memory_mb: int
    input_bytes: int
    result_bytes: int

    @property
    def sagas_per_month(self) -> int:
        """Sagas started in a month of ``DAYS_PER_MONTH`` days."""
        return self.per_day * DAYS_PER_MONTH


@dataclass(frozen=True, slots=True)
class LineItem:
    """One billed quantity: per saga (None for a monthly quantity that does not scale with sagas), per month, cost."""

    item: str
    price: str  # the key in prices.json
    per_saga: float | None
    monthly: float
    usd: float


@dataclass(frozen=True, slots=True)
class PathCost:
    """The line items of one mode on one path, and their sum."""

    mode: str  # "orchestration-standard", "orchestration-express", "choreography"
    path: str  # "happy", "compensated"
    lines: tuple[LineItem, ...]
    detail: dict[str, Any]  # what was counted: states entered, or events put and delivered

    @property
    def total(self) -> float:
        """Monthly USD of all line items."""
        return sum(line.usd for line in self.lines)


MODE_TITLES = {
    "orchestration-standard": "orchestration, Step Functions Standard",
    "orchestration-express": "orchestration, Step Functions Express",
    "choreography": "choreography, EventBridge + SQS",
}
PATH_TITLES = {"happy": "happy path", "compensated": "compensated path"}


class _Lines:
    """Collects line items: a count per saga (or a fixed monthly count) times a price."""

    def __init__(self, prices: dict[str, Any], sagas: int) -> None:
        self.prices, self.sagas, self.lines = prices["prices"], sagas, []

    def per_saga(self, item: str, price: str, count: float) -> None:
        monthly = count * self.sagas
        self.lines.append(LineItem(item, price, count, monthly, monthly * self.prices[price]["value"]))

    def monthly(self, item: str, price: str, count: float) -> None:
        self.lines.append(LineItem(item, price, None, count, count * self.prices[price]["value"]))


def _lambda_lines(lines: _Lines, invocations: int, a: Assumptions, prices: dict[str, Any], who: str) -> None:
    step = prices["billing"]["lambda_duration_ms_step"]["value"]
    billed_s = math.ceil(a.lambda_ms / step) * step / 1000
    lines.per_saga(f"Lambda requests ({who})", "lambda_request", invocations)
    lines.per_saga("Lambda duration, GB-seconds (x86)", "lambda_gb_second_x86", invocations * billed_s * a.memory_mb / 1024)


def orchestration_costs(path: AslPath, a: Assumptions, prices: dict[str, Any], name: str) -> list[PathCost]:
    """The Standard and the Express cost of one path of the compiled machine."""
    billing = prices["billing"]
    detail = {"states": list(path.states), "lambda_invocations": path.lambda_invocations}
    out = []
    std = _Lines(prices, a.sagas_per_month)
    std.per_saga("Step Functions state transitions", "stepfunctions_standard_transition", path.transitions)
    _lambda_lines(std, path.lambda_invocations, a, prices, "steps and compensations")
    if path.sqs_sends:
        std.per_saga("SQS requests (repair records)", "sqs_standard_request", path.sqs_sends)
    out.append(PathCost("orchestration-standard", name, tuple(std.lines), detail))

    step_ms = billing["express_duration_ms_step"]["value"]
    duration_ms = path.lambda_invocations * a.lambda_ms + path.retry_wait_seconds * 1000
    billed_s = math.ceil(duration_ms / step_ms) * step_ms / 1000
    memory_mb = billing["express_memory_mb_step"]["value"]  # the smallest chunk: a saga's state is far below it
    exp = _Lines(prices, a.sagas_per_month)
    exp.per_saga("Step Functions Express requests", "stepfunctions_express_request", 1)
    exp.per_saga(f"Express duration, GB-seconds ({billed_s:g} s at {memory_mb} MB)", "stepfunctions_express_gb_second", billed_s * memory_mb / 1024)
    _lambda_lines(exp, path.lambda_invocations, a, prices, "steps and compensations")
    if path.sqs_sends:
        exp.per_saga("SQS requests (repair records)", "sqs_standard_request", path.sqs_sends)
    out.append(PathCost("orchestration-express", name, tuple(exp.lines), {**detail, "billed_seconds": billed_s}))
    return out


def choreography_cost(p: Plan, flow: EventFlow, a: Assumptions, prices: dict[str, Any], name: str) -> PathCost:
    """The choreography's cost of one path of its plan."""
    billing = prices["billing"]
    eb_chunk, sqs_chunk = billing["eventbridge_chunk_bytes"]["value"], billing["sqs_chunk_bytes"]["value"]
    wru = billing["dynamodb_write_unit_bytes"]["value"]
    # SendMessage and ReceiveMessage carry the message; DeleteMessage carries only a receipt handle. A retry
    # is a ChangeMessageVisibility (the retrier's wait) and another ReceiveMessage.
    sqs = sum(2 * chunks(d.message_bytes, sqs_chunk) + 1 for d in flow.deliveries)
    sqs += sum(1 + chunks(size, sqs_chunk) for size in flow.retried)
    queues = len(p.consumers)  # one per consumer: rule -> queue -> function
    idle = queues * IDLE_POLLERS_PER_QUEUE * SECONDS_PER_MONTH / LONG_POLL_SECONDS

    lines = _Lines(prices, a.sagas_per_month)
    lines.per_saga("EventBridge events put (64 KB chunks)", "eventbridge_custom_event", sum(chunks(e.entry_bytes, eb_chunk) for e in flow.events))
    lines.per_saga("SQS requests: send, receive, delete per delivery", "sqs_standard_request", sqs)
    lines.monthly(f"SQS requests: idle long polls ({queues} queues x {IDLE_POLLERS_PER_QUEUE} pollers, {LONG_POLL_SECONDS} s)",
                  "sqs_standard_request", idle)
    _lambda_lines(lines, flow.handler_deliveries + len(flow.retried) + flow.log_deliveries, a, prices, "consumers and the saga log")
    lines.per_saga("DynamoDB writes: delivery ledger (WRU)", "dynamodb_on_demand_write_unit", LEDGER_WRITES_PER_DELIVERY * flow.handler_deliveries)
    lines.per_saga("DynamoDB writes: saga log (WRU)", "dynamodb_on_demand_write_unit",
                   sum(chunks(e.detail_bytes, wru) + LOG_WRITES_PER_EVENT - 1 for e in flow.events))
    detail = {
        "events": [{"detail-type": e.name, "producer": e.producer, "entry_bytes": e.entry_bytes, "message_bytes": e.message_bytes,
                    "detail_bytes": e.detail_bytes} for e in flow.events],
        "deliveries": [{"event": d.event, "consumer": d.consumer} for d in flow.deliveries],
        "retries": len(flow.retried),
        "queues": queues,
    }
    return PathCost("choreography", name, tuple(lines.lines), detail)


def chunks(size: int, chunk: int) -> int:
    """Billed units of a payload: one per started chunk, at least one."""
    return max(1, math.ceil(size / chunk))


# --- the estimate ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Estimate:
    """Every mode's cost on every path of one saga, and what it was computed from."""

    saga: str
    assumptions: Assumptions
    failing: str | None  # the step that fails on the compensated path; None when nothing is compensatable
    deployed: tuple[str, ...]  # the modes (keys of MODE_TITLES) the saga's own ``mode`` deploys
    costs: tuple[PathCost, ...]
    prices: dict[str, Any]

    def cost(self, mode: str, path: str) -> PathCost | None:
        """One mode's cost on one path, or None when the saga has no such path."""
        return next((c for c in self.costs if c.mode == mode and c.path == path), None)


def estimate(saga: Saga, per_day: int, *, lambda_ms: int | None = None, memory_mb: int | None = None,
             saga_input: dict[str, Any] | None = None, result_bytes: int | None = None,
             prices: dict[str, Any] | None = None) -> Estimate:
    """The monthly cost of a saga in each mode, on the happy and the compensated path.

    Left None: ``lambda_ms`` is ``DEFAULT_LAMBDA_MS``, ``memory_mb`` the template's ``LAMBDA_MEMORY_MB``,
    ``saga_input`` a JSON object of ``DEFAULT_INPUT_BYTES``, ``result_bytes`` ``DEFAULT_RESULT_BYTES``, and the
    prices those of ``stepsaga/data/prices.json``.
    """
    from stepsaga.choreography.plan import plan
    from stepsaga.functions import LAMBDA_MEMORY_MB
    from stepsaga.orchestration import to_asl

    prices = prices if prices is not None else load_prices()
    saga_input = saga_input if saga_input is not None else padded(DEFAULT_INPUT_BYTES, "order")
    result_bytes = DEFAULT_RESULT_BYTES if result_bytes is None else result_bytes
    a = Assumptions(per_day, lambda_ms or DEFAULT_LAMBDA_MS, memory_mb or LAMBDA_MEMORY_MB, sized(saga_input), result_bytes)
    doc, p = json.loads(to_asl(saga)), plan(saga)
    failing = saga.compensatable[-1].name if saga.compensatable else None
    paths = {"happy": None, **({"compensated": failing} if failing else {})}
    costs: list[PathCost] = []
    for path, fails in paths.items():
        walked = walk_asl(doc, {fails: UNEXPECTED_ERROR} if fails else None)
        costs.extend(orchestration_costs(walked, a, prices, path))
        costs.append(choreography_cost(p, play_plan(p, saga_input, result_bytes, fails), a, prices, path))
    deployed = tuple(f"orchestration-{saga.workflow_type.lower()}" if m == "orchestration" else m for m in saga.modes)
    return Estimate(saga.name, a, failing, deployed, tuple(costs), prices)


# --- output ------------------------------------------------------------------------------------


def to_json(e: Estimate) -> dict[str, Any]:
    """The estimate as plain JSON data (``stepsaga cost --json``); numbers rounded to six decimals."""
    a = e.assumptions
    return {
        "saga": e.saga,
        "region": e.prices["region"],
        "currency": e.prices["currency"],
        "per_day": a.per_day,
        "days_per_month": DAYS_PER_MONTH,
        "sagas_per_month": a.sagas_per_month,
        "assumptions": {
            "lambda_ms": a.lambda_ms, "memory_mb": a.memory_mb, "lambda_architecture": LAMBDA_ARCHITECTURE,
            "input_bytes": a.input_bytes, "result_bytes": a.result_bytes, "happy_path_retries": 0,
            "failing_step": e.failing, "failing_error": UNEXPECTED_ERROR if e.failing else None,
            "express_memory_mb": e.prices["billing"]["express_memory_mb_step"]["value"],
            "idle_pollers_per_queue": IDLE_POLLERS_PER_QUEUE, "long_poll_seconds": LONG_POLL_SECONDS,
            "ledger_writes_per_delivery": LEDGER_WRITES_PER_DELIVERY, "log_writes_per_event": LOG_WRITES_PER_EVENT,
        },
        "deployed": list(e.deployed),
        "costs": [
            {
                "mode": c.mode, "path": c.path, "total_usd": _usd(c.total),
                "lines": [{"item": line.item, "price": line.price, "per_saga": None if line.per_saga is None else _usd(line.per_saga),
                           "monthly": _usd(line.monthly), "usd": _usd(line.usd)} for line in c.lines],
                "counted": c.detail,
            }
            for c in e.costs
        ],
        "totals": {mode: {path: _usd(c.total) for path in PATH_TITLES if (c := e.cost(mode, path))} for mode in MODE_TITLES},
    }


def render_text(e: Estimate) -> str:
    """The estimate as the tables ``stepsaga cost`` prints: each mode and path, then the totals side by side."""
    a = e.assumptions
    out = [
        f"{e.saga}: {a.per_day:,} sagas a day, {a.sagas_per_month:,} a month of {DAYS_PER_MONTH} days; "
        f"{e.prices['region']} prices in {e.prices['currency']} (stepsaga/data/prices.json)",
        f"assumed: every Lambda invocation runs {a.lambda_ms} ms at {a.memory_mb} MB ({LAMBDA_ARCHITECTURE}); input {a.input_bytes:,} bytes, "
        f"each result {a.result_bytes:,} bytes; an Express execution lasts as long as its Lambda calls (and retry waits); "
        "no retries on the happy path"
        + (f"; on the compensated path {e.failing} fails with {UNEXPECTED_ERROR} (not a business error), so every compensation runs"
           if e.failing else "; no compensated path: no step has a compensation"),
        "not counted: free tiers; what both modes pay alike (the handlers' own DynamoDB calls, the trigger, CloudWatch Logs, KMS)",
    ]
    width = max(len(line.item) for c in e.costs for line in c.lines) + 2
    for c in e.costs:
        out += ["", f"{MODE_TITLES[c.mode]}, {PATH_TITLES[c.path]}: {_counted(c)}", *_table(c, width)]
    out += ["", f"{'monthly total, ' + e.prices['currency']:<44}{'happy path':>14}{'compensated path':>18}"]
    for mode, title in MODE_TITLES.items():
        cells = [f"{c.total:,.2f}" if (c := e.cost(mode, path)) else "-" for path in PATH_TITLES]
        mark = "  (deployed)" if mode in e.deployed else ""
        out.append(f"  {title:<42}{cells[0]:>14}{cells[1]:>18}{mark}")
    return "\n".join(out) + "\n"


def _counted(c: PathCost) -> str:
    if c.mode == "choreography":
        names = [e["detail-type"] for e in c.detail["events"]]
        return f"{len(names)} events ({', '.join(names)}), {len(c.detail['deliveries'])} deliveries"
    if c.mode == "orchestration-express":
        return f"{c.detail['lambda_invocations']} Lambda calls, billed {c.detail['billed_seconds']:g} s"
    return f"{len(c.detail['states'])} state transitions ({' -> '.join(c.detail['states'])})"


def _table(c: PathCost, width: int) -> list[str]:
    rows = [f"  {'line item':<{width}}{'per saga':>10}{'per month':>16}{'USD/month':>12}"]
    for line in c.lines:
        per = "-" if line.per_saga is None else f"{line.per_saga:,.6g}"
        monthly = f"{line.monthly:,.0f}" if abs(line.monthly - round(line.monthly)) < 1e-6 else f"{line.monthly:,.1f}"
        rows.append(f"  {line.item:<{width}}{per:>10}{monthly:>16}{line.usd:>12,.2f}")
    rows.append(f"  {'total':<{width}}{'':>10}{'':>16}{c.total:>12,.2f}")
    return rows


def _usd(value: float) -> float:
    """A number for --json: six decimals, so that float noise (45000.00000000001) does not show."""
    return round(value, 6)
