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
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from stepsaga.choreography.limits import MAX_PUT_EVENTS_BYTES

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
