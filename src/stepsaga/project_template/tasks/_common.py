"""What the task handlers share: the saga event, the trip, and booking capacity in DynamoDB.

This folder is one Lambda code folder (its SAM ``CodeUri``): Lambda puts it first on ``sys.path`` and imports
``book_flight`` and ``_common`` as top-level modules, so a handler writes ``from _common import ...``. The
other folders of the project (``compensations/``, ``workflows/``) are not deployed with it.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime, timezone
from typing import Annotated, Any, TypeVar

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import parse
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

# The service name is POWERTOOLS_SERVICE_NAME, which the template (and stepsaga's local runtime) sets to the saga's.
logger = Logger()

# One DynamoDB resource per execution environment, reused by every invocation it serves: building one costs
# milliseconds, each time. Made on first use rather than at import, because making it resolves the region and
# the credentials, and `stepsaga check` (or a unit test) imports every handler where there are none.
_resource: Any = None
_tables: dict[str, Any] = {}  # table name -> its Table, made from _resource

_deserialize = TypeDeserializer().deserialize
Model = TypeVar("Model", bound=BaseModel)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class BusinessError(Exception):
    """An outcome the saga declares (``business_errors=``): the step did not apply, and changed nothing.

    Lambda reports an exception by its class name (``errorType``), which is the error name the saga's Catch
    matches: a subclass's name must be the one written in the step's ``business_errors``.
    """


class InvalidTrip(BusinessError):
    """The trip is malformed, or names a flight or a hotel that does not exist."""


class TripConflict(Exception):
    """The trip is already booked by another saga execution. Not a business error: the saga compensates."""


class InvalidSagaEvent(Exception):
    """The payload is not what the compiled state machine sends (a direct invoke, or a stale deploy)."""


def dynamodb() -> Any:
    """The execution environment's DynamoDB resource, made on first use."""
    global _resource
    if _resource is None:
        _resource = boto3.resource("dynamodb")
        _tables.clear()
    return _resource


def table(env_var: str) -> Any:
    """The Table named by an environment variable (``FLIGHTS_TABLE``), read at each call, made once per name."""
    name = os.environ[env_var]
    found = _tables.get(name)
    if found is None:
        found = _tables[name] = dynamodb().Table(name)
    return found


def _id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError("must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or a digit")
    return value


Id = Annotated[str, AfterValidator(_id)]


class SagaEvent(BaseModel):
    """The payload the compiled state machine sends every step (docs/guide.md, "What a handler receives")."""

    model_config = ConfigDict(extra="ignore")
    saga_id: str = Field(min_length=1)
    step: str = Field(min_length=1)
    idempotency_key: str = Field(min_length=1)
    input: Any = None
    results: dict[str, Any] = Field(default_factory=dict)


class FlightRequest(BaseModel):
    """The seats to book on one flight."""

    model_config = ConfigDict(extra="forbid")
    number: Id
    seats: int = Field(strict=True, ge=1, le=9)


class HotelRequest(BaseModel):
    """The rooms to book at one hotel."""

    model_config = ConfigDict(extra="forbid")
    hotel_id: Id
    rooms: int = Field(strict=True, ge=1, le=9)


class Trip(BaseModel):
    """The saga's input."""

    model_config = ConfigDict(extra="forbid")
    trip_id: Id
    traveller: str = Field(min_length=1, max_length=100)
    flight: FlightRequest
    hotel: HotelRequest


def _parse(data: Any, model: type[Model], error: type[Exception], what: str) -> Model:
    """``data`` as ``model`` (powertools' parser, a pydantic model), or ``error`` naming every bad field."""
    if not isinstance(data, dict):  # only a JSON object: powertools' parser would also decode a JSON string
        raise error(f"invalid {what}: must be a JSON object, got {type(data).__name__}")
    try:
        return parse(event=data, model=model)
    except ValidationError as exc:
        fields = (f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise error(f"invalid {what}: {'; '.join(fields)}") from None


def parse_event(raw: Any) -> SagaEvent:
    """The state machine's payload, or InvalidSagaEvent naming every bad field."""
    return _parse(raw, SagaEvent, InvalidSagaEvent, "saga event")


def parse_trip(data: Any) -> Trip:
    """The saga input as a Trip, or InvalidTrip naming every bad field (a business error: nothing was booked)."""
    return _parse(data, Trip, InvalidTrip, "trip")


def booking_id(prefix: str, idempotency_key: str) -> str:
    """A booking reference derived from the idempotency key: every retry of the step computes the same one."""
    return f"{prefix}-{hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]}"


def _stored(rows: Any, trip_id: str, event: SagaEvent) -> dict[str, Any] | None:
    """This trip's booking, if this call (same idempotency key) already made it; TripConflict if another did."""
    row = rows.get_item(Key={"pk": f"BOOKING#{trip_id}"}, ConsistentRead=True).get("Item")
    if row is not None and row.get("idempotency_key") != event.idempotency_key:
        raise TripConflict(f"trip {trip_id} is already booked by saga {row.get('saga_id')}")
    return row


def book(event: SagaEvent, trip_id: str, *, env_var: str, capacity_key: str, capacity: str, quantity: int,
         booking: dict[str, Any], no_capacity: type[BusinessError], what: str) -> dict[str, Any]:
    """Take ``quantity`` from the ``capacity`` attribute of row ``capacity_key`` and store ``booking``, atomically.

    ``what`` names the capacity row in error messages (``flight LH100``).
    Returns the booking row (``pk`` ``BOOKING#<trip_id>``, status ``BOOKED``). A repeated call with the same
    idempotency key returns the stored row and takes nothing more. Raises ``InvalidTrip`` when the capacity row
    does not exist and ``no_capacity`` when it has less than ``quantity`` left: the transaction was cancelled,
    so nothing changed, as the business-error contract demands.
    """
    rows = table(env_var)
    if (row := _stored(rows, trip_id, event)) is not None:
        logger.info("repeated call: returning the stored booking")
        return row
    row = {**booking, "pk": f"BOOKING#{trip_id}", "trip_id": trip_id, "capacity_key": capacity_key, "quantity": quantity,
           "status": "BOOKED", "saga_id": event.saga_id, "idempotency_key": event.idempotency_key,
           "booked_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    name = os.environ[env_var]
    try:
        # The resource's client (de)serialises attribute values: plain Python values go in.
        dynamodb().meta.client.transact_write_items(TransactItems=[
            {"Update": {
                "TableName": name, "Key": {"pk": capacity_key},
                "UpdateExpression": "SET #left = #left - :n",
                # attribute_exists keeps an unknown flight from being created with negative seats.
                "ConditionExpression": "attribute_exists(pk) AND #left >= :n",
                "ExpressionAttributeNames": {"#left": capacity}, "ExpressionAttributeValues": {":n": quantity},
                # The old row tells "no such flight" from "not enough seats" without a second read.
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }},
            {"Put": {"TableName": name, "Item": row, "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        held, put = (exc.response.get("CancellationReasons") or [{}, {}])[:2]
        if put.get("Code") == "ConditionalCheckFailed" and (found := _stored(rows, trip_id, event)) is not None:
            return found  # a concurrent duplicate of this call booked first
        if held.get("Code") != "ConditionalCheckFailed":
            raise  # TransactionConflict and the like are transient: Step Functions retries the Lambda error
        old = {k: _deserialize(v) for k, v in held.get("Item", {}).items()}
        if capacity not in old:
            raise InvalidTrip(f"{what} does not exist") from None
        raise no_capacity(f"{what} has {int(old[capacity])} {capacity.removesuffix('_left')} left, {quantity} asked") from None
    logger.info("booked", extra={"booking_id": row["booking_id"], "quantity": quantity})
    return row
