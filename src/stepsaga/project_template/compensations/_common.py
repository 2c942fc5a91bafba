"""What the compensation handlers share: a lenient saga event, and giving a booking's capacity back.

This folder is one Lambda code folder (its SAM ``CodeUri``), deployed without ``tasks/``: it has its own
``_common``, imported as a top-level module (``from _common import ...``), as Lambda imports it.

A compensation runs after a failure, maybe one in the middle of its step, maybe before its step ever ran. So
it reads the state it undoes every time, is a no-op when there is nothing to undo, and succeeds whatever it is
given: the saga's Fail state keeps the original error, and a compensation that raises would end the saga in
``SagaCompensationFailed`` instead.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

logger = Logger()

# One DynamoDB resource per execution environment, made on first use (tasks/_common.py says why).
_resource: Any = None
_tables: dict[str, Any] = {}  # table name -> its Table, made from _resource

NOTHING_TO_UNDO = "nothing to undo"


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


class Undo:
    """What a compensation reads of its payload, leniently: a missing or malformed field is None, never an error."""

    def __init__(self, raw: Any) -> None:
        event = raw if isinstance(raw, dict) else {}
        data = event.get("input")
        self.saga_id: str | None = _text(event.get("saga_id"))
        self.step: str | None = _text(event.get("step"))
        self.compensates: str | None = _text(event.get("compensates"))
        self.idempotency_key: str | None = _text(event.get("idempotency_key"))
        self.trip_id: str | None = _text(data.get("trip_id")) if isinstance(data, dict) else None
        error = event.get("error")
        self.error: str | None = _text(error.get("Error")) if isinstance(error, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def cancel(undo: Undo, *, env_var: str, capacity: str) -> dict[str, Any]:
    """Cancel this saga's booking of the trip and give its ``capacity`` back, once; a no-op when there is none.

    Returns ``{"cancelled": True, "booking_id", "quantity"}``, or ``{"cancelled": False, "reason"}``. A booking made
    by another saga execution is left alone. Looked up by trip, not by the step's result: the step may have
    booked and then crashed before returning one.
    """
    logger.append_keys(saga_id=undo.saga_id, step=undo.step, compensates=undo.compensates, error=undo.error)
    if undo.trip_id is None or undo.saga_id is None:
        return {"cancelled": False, "reason": NOTHING_TO_UNDO}
    rows = table(env_var)
    pk = f"BOOKING#{undo.trip_id}"
    row = rows.get_item(Key={"pk": pk}, ConsistentRead=True).get("Item")
    if row is None:
        return {"cancelled": False, "reason": NOTHING_TO_UNDO}
    if row.get("saga_id") != undo.saga_id:
        logger.warning("booking left alone: another saga made it", extra={"booking_saga": row.get("saga_id")})
        return {"cancelled": False, "reason": "booked by another saga"}
    done = {"cancelled": True, "booking_id": row["booking_id"], "quantity": int(row["quantity"])}
    if row.get("status") == "CANCELLED":
        return done
    name = os.environ[env_var]
    try:
        dynamodb().meta.client.transact_write_items(TransactItems=[
            # ADD rather than SET x = x + n: a capacity row deleted meanwhile cannot wedge the compensation.
            {"Update": {"TableName": name, "Key": {"pk": row["capacity_key"]}, "UpdateExpression": "ADD #left :n",
                        "ExpressionAttributeNames": {"#left": capacity}, "ExpressionAttributeValues": {":n": row["quantity"]}}},
            # The BOOKED guard is what gives the capacity back once, even under concurrent duplicates.
            {"Update": {"TableName": name, "Key": {"pk": pk}, "UpdateExpression": "SET #status = :cancelled, cancelled_at = :now",
                        "ConditionExpression": "#status = :booked AND saga_id = :saga",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {":cancelled": "CANCELLED", ":booked": "BOOKED", ":saga": undo.saga_id,
                                                      ":now": datetime.now(timezone.utc).isoformat(timespec="seconds")}}},
        ])
    except ClientError as exc:
        reasons = exc.response.get("CancellationReasons") or [{}, {}]
        again = rows.get_item(Key={"pk": pk}, ConsistentRead=True).get("Item") or {}
        if reasons[-1].get("Code") != "ConditionalCheckFailed" or again.get("status") != "CANCELLED":
            raise  # transient: the compensation's retries run it again
        return done
    logger.info("booking cancelled", extra={"booking_id": row["booking_id"], "quantity": int(row["quantity"])})
    return done
