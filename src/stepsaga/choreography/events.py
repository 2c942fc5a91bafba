"""The domain events of a choreography as pydantic v2 models, in EventBridge's envelope.

Every event of every saga has the same detail (``EventDetail``): who the saga is, which event caused
this one, and the saga's state so far, carried with the event (event-carried state), so no consumer
needs a central store::

    {"saga": "OrderSaga", "saga_id": "...", "correlation_id": "<saga_id>", "causation_id": "<event_id of the cause>",
     "event_id": "...", "seq": 3, "producer": "ProcessPayment", "step": "ProcessPayment", "attempt": 2,
     "attempts": [{"number": 1, "started_ms": ..., "outcome": "error", "error": "PaymentGatewayTimeout", "cause": "...",
                   "waited": 2.0}, {"number": 2, "started_ms": ..., "outcome": "ok", "error": null, "cause": null, "waited": 0.0}],
     "input": {...}, "results": {"ValidateOrder": {"output": {...}}}, "compensated": {},
     "error": null, "business_error": null, "compensation_error": null, "time_ms": 1767225600000}

``results`` and ``compensated`` have the orchestration's shape (``{<State>: {"output": ...}}``), so a handler
sees the same payload in both modes. ``seq`` is the event's place in the saga's causal chain (``Started`` is 0):
a saga's events form one chain, so ``seq`` orders them even when EventBridge delivers them out of order.
``event_id`` is derived from the saga id and the detail-type, so an event emitted again (a retried
``PutEvents``) is the same event, and every consumer skips it.

The envelope (``SagaEventBridgeEvent``) is powertools' ``EventBridgeModel`` with this detail, the model its
parser unwraps deliveries with. ``entry_size`` measures a ``PutEvents`` entry as EventBridge does.

Each kind of event (``stepsaga.choreography.plan``: started, step_succeeded, ...) narrows the detail
(``DETAIL_BY_KIND``): a failure event requires ``error`` and ``business_error``, a success event has no
error, ``Started`` has no cause, ``seq`` 0 and no step. ``event_models(plan)`` gives one envelope model per
event of a saga, with its ``source``, ``detail-type``, ``detail.saga`` and (for a step's or compensation's
event) ``detail.step`` fixed; ``validate_entry`` checks a ``PutEvents`` entry against them, so that no
malformed event leaves, and the JSON Schemas (``stepsaga.choreography.schemas``) are generated from them.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from stepsaga.choreography import plan as _plan
from stepsaga.choreography.limits import MAX_PUT_EVENTS_BYTES
from stepsaga.errors import EventValidationError

if TYPE_CHECKING:
    from stepsaga.choreography.plan import Plan

#: The namespace of event ids (uuid5): the same saga id and detail-type give the same id everywhere.
EVENT_ID_NAMESPACE = uuid.UUID("5d3b0c8e-6d0c-4a53-9a57-5b1ac0e2f6a1")


class SagaError(BaseModel):
    """An error as Step Functions hands it to a Catch: its name and cause."""

    model_config = ConfigDict(extra="forbid")
    Error: str = Field(min_length=1, description="The error name: an exception class, Lambda's own, or a States error.")
    Cause: str | None = Field(default=None, description="The cause: the Lambda runtime's JSON error, or a message.")


class Attempt(BaseModel):
    """One attempt of the consumer that emitted the event: when it started, how it ended, the wait after it."""

    model_config = ConfigDict(extra="forbid")
    number: int = Field(ge=1)
    started_ms: int = Field(ge=0, description="When the attempt started, in milliseconds since the epoch.")
    outcome: Literal["ok", "error", "timeout"]
    error: str | None = None
    cause: str | None = None
    waited: float = Field(default=0.0, ge=0, description="Seconds waited after it before the next attempt (the retrier's backoff).")


class StateResult(BaseModel):
    """A step's or compensation's result, as the orchestration keeps it: the handler's return value."""

    model_config = ConfigDict(extra="forbid")
    output: Any = None


class EventDetail(BaseModel):
    """The detail of every domain event of a saga (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    saga: str = Field(min_length=1, description="The saga's name; every rule of the saga matches it.")
    saga_id: str = Field(min_length=1, max_length=256, description="Fixed when the saga starts; carried by every event.")
    correlation_id: str = Field(min_length=1, max_length=256, description="The saga id.")
    causation_id: str | None = Field(description="The event_id of the event whose reaction emitted this one; None for Started.")
    event_id: str = Field(min_length=1, description="This event's own id, the same when it is emitted again.")
    seq: int = Field(ge=0, description="The event's place in the saga's causal chain.")
    producer: str = Field(min_length=1, description="Who emitted it: a step, a compensation, or the start.")
    step: str | None = Field(default=None, description="The step or compensation the event is about.")
    attempt: int | None = Field(default=None, ge=1, description="The attempt whose outcome the event reports.")
    attempts: list[Attempt] = Field(default_factory=list, description="Every attempt of the producer, the last one included.")
    input: dict[str, Any] = Field(description="The saga's input, as it started.")
    results: dict[str, StateResult] = Field(default_factory=dict)
    compensated: dict[str, StateResult] = Field(default_factory=dict)
    error: SagaError | None = Field(default=None, description="The error that failed the step (and that the saga ends with).")
    business_error: bool | None = Field(default=None, description="On a failure event: whether the error is a declared business error.")
    compensation_error: SagaError | None = Field(default=None, description="On CompensationFailed: the compensation's own error.")
    time_ms: int = Field(ge=0, description="When it was emitted, in milliseconds since the epoch (EventBridge's time has seconds only).")


class SagaEventBridgeEvent(EventBridgeModel):
    """A saga's event as EventBridge delivers it: powertools' envelope with the saga's detail."""

    detail: EventDetail  # type: ignore[assignment]


# --- the detail of each kind of event --------------------------------------------------------


class StartedDetail(EventDetail):
    """The start of a saga: its first event, caused by no other and about no step."""

    causation_id: None = Field(description="None: the start of a saga has no cause.")
    seq: Literal[0] = Field(description="0: the first event of the saga's causal chain.")
    step: None = Field(default=None, description="None: the start is about no step.")
    error: None = Field(default=None, description="None: nothing has failed yet.")
    business_error: None = Field(default=None, description="None: nothing has failed yet.")
    compensation_error: None = Field(default=None, description="None: nothing has failed yet.")


class _CausedDetail(EventDetail):
    """An event emitted in reaction to another one: it names its cause and comes later in the chain."""

    causation_id: str = Field(min_length=1, description="The event_id of the event whose reaction emitted this one.")
    seq: int = Field(ge=1, description="The event's place in the saga's causal chain (Started is 0).")


class _AttemptDetail(_CausedDetail):
    """An event that reports the outcome of one attempt of a step or compensation."""

    step: str = Field(min_length=1, description="The step or compensation the attempt ran.")
    attempt: int = Field(ge=1, description="The attempt whose outcome the event reports.")
    compensation_error: None = Field(default=None, description="None: no compensation failed.")


class StepSucceededDetail(_AttemptDetail):
    """A step succeeded: its action returned, without error."""

    error: None = Field(default=None, description="None: the step succeeded.")
    business_error: None = Field(default=None, description="None: the step succeeded.")


class StepFailedDetail(_AttemptDetail):
    """A step failed for good, with an error that is or is not one of its declared business errors."""

    error: SagaError = Field(description="The error the step failed with.")
    business_error: bool = Field(description="Whether the error is one of the step's declared business errors.")


class CompensatedDetail(_AttemptDetail):
    """A compensation undid its step, because of the error the saga failed with."""

    error: SagaError = Field(description="The error that failed the saga, which the compensation undoes.")


class CompletedDetail(_CausedDetail):
    """The saga completed: every step ran (a retriable last step may have been dead-lettered, its error kept)."""

    compensation_error: None = Field(default=None, description="None: nothing was compensated.")


class AbortedDetail(_CausedDetail):
    """The saga was aborted: a step failed and what it had done was undone (or there was nothing to undo)."""

    error: SagaError = Field(description="The error the saga failed with.")
    compensation_error: None = Field(default=None, description="None: every compensation succeeded.")


class CompensationFailedDetail(_CausedDetail):
    """A compensation failed for good: the chain stops, and a repair record goes to the dead-letter queue."""

    error: SagaError = Field(description="The error the saga failed with.")
    compensation_error: SagaError = Field(description="The compensation's own error.")


#: The detail model of each kind of event (the kinds of stepsaga.choreography.plan).
DETAIL_BY_KIND: dict[str, type[EventDetail]] = {
    _plan.STARTED: StartedDetail,
    _plan.STEP_SUCCEEDED: StepSucceededDetail,
    _plan.STEP_FAILED: StepFailedDetail,
    _plan.COMPENSATED: CompensatedDetail,
    _plan.COMPLETED: CompletedDetail,
    _plan.ABORTED: AbortedDetail,
    _plan.COMPENSATION_FAILED: CompensationFailedDetail,
}

#: The keys a PutEvents request entry may have.
#: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html
PUT_EVENTS_ENTRY_KEYS = ("Time", "Source", "Resources", "DetailType", "Detail", "EventBusName", "TraceHeader")

# event_models per plan: building models is slow, and validate_entry runs before every PutEvents. A process
# has a plan or a few (a Lambda has one); the oldest goes past _MODELS_KEPT, so a test run cannot grow it.
_MODELS: dict[tuple[str, tuple[Any, ...]], dict[str, type[SagaEventBridgeEvent]]] = {}
_MODELS_KEPT = 32


def event_models(plan: Plan) -> dict[str, type[SagaEventBridgeEvent]]:
    """One envelope model per event of the saga, by detail-type, in plan order.

    Each fixes (``Literal``) the event's ``source`` and ``detail-type``, and its detail's ``saga``; the
    detail of a step's or compensation's event also fixes ``step`` to that state. The model's name is the
    detail-type, its detail model's ``<detail-type>Detail``: they title the JSON Schemas.
    """
    return models_for(plan.saga.name, plan.events)


def models_for(saga: str, specs: Any) -> dict[str, type[SagaEventBridgeEvent]]:
    """``event_models`` from the saga's name and some of its events (``EventSpec``): what a consumer's adapter
    knows of the events it emits, from its configuration."""
    key = (saga, tuple(specs))
    cached = _MODELS.get(key)
    if cached is not None:
        return cached
    out: dict[str, type[SagaEventBridgeEvent]] = {}
    for spec in key[1]:
        kind = DETAIL_BY_KIND[spec.kind]
        fields: dict[str, Any] = {"saga": (Literal[saga], Field(description=f"The saga's name: {saga}."))}
        if spec.state is not None:
            fields["step"] = (Literal[spec.state], Field(description=kind.model_fields["step"].description))
        detail = create_model(f"{spec.name}Detail", __base__=kind, __doc__=kind.__doc__, **fields)
        out[spec.name] = create_model(
            spec.name,
            __base__=SagaEventBridgeEvent,
            __doc__=f"The {spec.name} event of {saga}, as EventBridge delivers it. {kind.__doc__}",
            source=(Literal[spec.source], Field(description=f"The event's source: {spec.source}.")),
            detail_type=(Literal[spec.name], Field(alias="detail-type", description=f"The event's detail-type: {spec.name}.")),
            # A bare $ref, as the registry's own schemas write detail (a description beside it would need allOf in draft 4).
            detail=(detail, ...),
        )
    _MODELS[key] = out
    while len(_MODELS) > _MODELS_KEPT:
        del _MODELS[next(iter(_MODELS))]
    return out


def detail_model(plan: Plan, detail_type: str) -> type[EventDetail]:
    """The detail model of one event of the saga; KeyError if the saga has no such event."""
    return event_models(plan)[detail_type].model_fields["detail"].annotation  # type: ignore[return-value]


def validate_entry(plan: Plan, entry: dict[str, Any]) -> None:
    """``validate_event_entry`` against every event of the saga."""
    validate_event_entry(plan.saga.name, plan.events, entry)


def validate_event_entry(saga_name: str, specs: Any, entry: dict[str, Any]) -> None:
    """Raise ``EventValidationError`` unless a ``PutEvents`` entry is a valid event of the saga.

    The entry is ``{"Source", "DetailType", "Detail", "EventBusName"}`` (``put_events_entry``): its
    detail-type must be one of the saga's events, its source that event's, its detail (JSON text) valid for
    that event's detail model, and the whole entry within PutEvents' 256 KB. The error names the event and
    every wrong field. The saga input is not checked against the trigger's schema: the trigger did that.
    """
    saga = saga_name
    by_name = {spec.name: spec for spec in specs}
    if not isinstance(entry, dict):
        raise EventValidationError(saga, None, [("entry", f"is {type(entry).__name__}, not a PutEvents entry (a dict)")])
    unknown = [k for k in entry if k not in PUT_EVENTS_ENTRY_KEYS]
    problems = [(repr(k), f"is not a key of a PutEvents entry ({', '.join(PUT_EVENTS_ENTRY_KEYS)})") for k in unknown]
    name = entry.get("DetailType")
    models = models_for(saga, tuple(by_name.values()))
    if name not in models:
        import difflib

        close = difflib.get_close_matches(str(name), list(models), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; its events are {', '.join(models)}"
        raise EventValidationError(saga, None, [*problems, ("DetailType", f"is {name!r}, not an event of the saga{hint}")])
    spec = by_name[name]
    if entry.get("Source") != spec.source:
        problems.append(("Source", f"is {entry.get('Source')!r}, but {name} is emitted with source {spec.source!r}"))
    bus = entry.get("EventBusName")
    if bus is not None and (not isinstance(bus, str) or not bus):
        problems.append(("EventBusName", f"is {bus!r}, not the name or ARN of an event bus"))
    text = entry.get("Detail")
    try:
        data = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError as exc:
        problems.append(("Detail", f"is not JSON ({exc.msg} at position {exc.pos})"))
        data = None
    else:
        if not isinstance(data, dict):
            problems.append(("Detail", f"is {type(text).__name__ if not isinstance(text, str) else 'JSON ' + type(data).__name__}, "
                                       "not the JSON text of an object"))
            data = None
    if data is not None:
        try:
            # Strict, on the JSON text: what EventBridge delivers is JSON, and "yes" is not a boolean there.
            models[name].model_fields["detail"].annotation.model_validate_json(text, strict=True)  # type: ignore[union-attr]
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                where = ".".join(["detail", *(str(part) for part in error["loc"])])
                problems.append((where, _say(error)))
    if not problems and entry_size(entry) > MAX_PUT_EVENTS_BYTES:
        problems.append(("Detail", f"makes the entry {entry_size(entry)} bytes, more than PutEvents' {MAX_PUT_EVENTS_BYTES}"))
    if problems:
        raise EventValidationError(saga, name, problems)


def _say(error: Any) -> str:
    """A pydantic error as the rest of a sentence that starts with the field: ``is missing``, ``must ...``."""
    if error["type"] == "missing":
        return "is missing"
    if error["type"] == "extra_forbidden":
        return "is not a field of the event"
    return f"is {error['input']!r}: {error['msg'][:1].lower()}{error['msg'][1:]}"


def event_id(saga: str, saga_id: str, detail_type: str) -> str:
    """The id of a saga's event: uuid5 of saga, saga id and detail-type, stable across re-emissions."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{saga}/{saga_id}/{detail_type}"))


def put_events_entry(detail_type: str, source: str, detail: EventDetail, bus: str) -> dict[str, Any]:
    """The ``PutEvents`` entry of an event: ``{"Source", "DetailType", "Detail", "EventBusName"}``.

    The detail is the model's compact JSON (``exclude_none`` is not used: every key is always present).
    """
    return {
        "Source": source,
        "DetailType": detail_type,
        "Detail": detail.model_dump_json(),
        "EventBusName": bus,
    }


def entry_size(entry: dict[str, Any]) -> int:
    """The size EventBridge counts for a ``PutEvents`` entry, in bytes.

    Time counts 14 bytes when present; Source, DetailType and Detail their UTF-8 bytes; each Resources ARN
    its UTF-8 bytes. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
    """
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        if entry.get(key) is not None:
            size += len(str(entry[key]).encode("utf-8"))
    for arn in entry.get("Resources") or ():
        size += len(arn.encode("utf-8"))
    return size


def request_size(entries: list[dict[str, Any]]) -> int:
    """The size of a ``PutEvents`` request: the sum of its entries' sizes, in bytes."""
    return sum(entry_size(e) for e in entries)


def fits(entries: list[dict[str, Any]]) -> bool:
    """Whether a ``PutEvents`` request is within EventBridge's 256 KB."""
    return request_size(entries) <= MAX_PUT_EVENTS_BYTES


def parse_delivery(body: str | dict[str, Any]) -> SagaEventBridgeEvent:
    """An EventBridge event (an SQS message body, or already decoded) as the saga's model.

    Raises ``pydantic.ValidationError`` (a ValueError) when it is not a saga event.
    """
    data = json.loads(body) if isinstance(body, str) else body
    return SagaEventBridgeEvent.model_validate(data)
