"""Shared helpers for the order-saga compensation Lambdas (this folder is one SAM CodeUri)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, BeforeValidator, ConfigDict

logger = Logger(service="order-saga")

# Made once per execution environment and reused by every invocation (docs/guide.md, "Writing handlers the way
# Lambda rewards"): a boto3 resource costs milliseconds to build, and so does a Table. Made on first use, not at
# import, so that importing a handler (a unit test, `stepsaga check`) needs no region or credentials.
_resource: Any = None
_tables: dict[str, Any] = {}  # table name -> its Table, made from _resource

CENT = Decimal("0.01")
NOTHING_TO_UNDO = "nothing to undo"

# The same rules as tasks/_common.py, applied with fullmatch (re.match("^...$") accepts a trailing "\n").
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_TOKEN = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]{1,256}")

#: The saga-input fields each task's effect depends on, as tasks/_common.py hashes them.
ORDER_FIELDS = ("order_id", "customer_id", "currency", "items")
PAYMENT_FIELDS = ("order_id", "currency", "items", "payment")
RESERVATION_FIELDS = ("order_id", "items")


def dynamodb() -> Any:
    """Return the execution environment's DynamoDB resource, creating it on first use."""
    global _resource
    if _resource is None:
        _resource = boto3.resource("dynamodb")
        _tables.clear()  # Tables of an earlier resource
    return _resource


def table(env_var: str) -> Any:
    """Return the Table named by the given environment variable (read at call time), made once per name."""
    resource = dynamodb()
    name = os.environ[env_var]
    found = _tables.get(name)
    if found is None:
        found = _tables[name] = resource.Table(name)
    return found


def money(value: Any) -> str:
    """Render an amount as a 2-decimal string; DynamoDB may normalise '33.00' to '33'."""
    return str(Decimal(value).quantize(CENT))


def now_iso() -> str:
    """Return the current UTC time as ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def payload_hash(data: Any, fields: tuple[str, ...]) -> str:
    """Return the SHA-256 hex digest of the canonical JSON of `fields` of the saga input.

    The same digest as tasks/_common.py's, which the tasks store with each effect.
    """
    picked = {f: data.get(f) for f in fields} if isinstance(data, dict) else data
    text = json.dumps(picked, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _text(pattern: re.Pattern[str]) -> BeforeValidator:
    # A value a task would have rejected can own no row: it becomes None, never an error.
    return BeforeValidator(lambda v: v if isinstance(v, str) and pattern.fullmatch(v) else None)


def _error(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    return {k: v for k in ("Error", "Cause") if isinstance(v := value.get(k), str)}


class SagaError(BaseModel):
    """The Error/Cause pair Step Functions hands to a Catch."""

    model_config = ConfigDict(extra="ignore")
    Error: str | None = None
    Cause: str | None = None


class SagaEvent(BaseModel):
    """The payload the compiled state machine sends to a compensation, read leniently.

    A compensation must succeed when it has nothing to undo, whatever it is given, so no field is
    required and a malformed one reads as missing: `of()` never raises.
    """

    model_config = ConfigDict(extra="ignore")
    saga_id: Annotated[str | None, _text(_TOKEN)] = None
    step: Annotated[str | None, _text(_TOKEN)] = None
    idempotency_key: Annotated[str | None, _text(_TOKEN)] = None
    input: Any = None
    error: Annotated[SagaError | None, BeforeValidator(_error)] = None

    @classmethod
    def of(cls, event: Any) -> SagaEvent:
        """Read any JSON value as an event; one that is not an object is an event with no fields."""
        return parse(event=event if isinstance(event, dict) else {}, model=cls)

    @property
    def order_id(self) -> str | None:
        """The order id from the saga input, or None when the input never had a usable one."""
        # Compensations may run after InvalidOrder, so the input is not trusted to be valid.
        value = self.input.get("order_id") if isinstance(self.input, dict) else None
        return value if isinstance(value, str) and _ID.fullmatch(value) else None

    def not_ours(self, row: dict[str, Any], what: str, fields: tuple[str, ...]) -> str | None:
        """Why `row` is not this saga's effect for this payload, or None when it is ours to undo.

        Ours means written by this saga id for a payload with the same hash of `fields`: the same
        idempotency key with another payload was refused by the task, so its row is someone else's.
        Rows written before hashes were stored have none and are matched by saga id alone.
        """
        if self.saga_id is None or row.get("saga_id") != self.saga_id:
            return f"{what} belongs to another saga"
        stored = row.get("payload_hash")
        if stored is not None and stored != payload_hash(self.input, fields):
            return f"{what} was made for a different payload under this saga id; left as it is"
        return None
