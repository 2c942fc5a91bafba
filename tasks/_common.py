"""Shared helpers for the order-saga task Lambdas (this folder is one SAM CodeUri)."""

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
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

logger = Logger(service="order-saga")

# Made once per execution environment and reused by every invocation (docs/guide.md, "Writing handlers the way
# Lambda rewards"): a boto3 resource costs milliseconds to build, and so does a Table. Made on first use, not at
# import, so that importing a handler (a unit test, `stepsaga check`) needs no region or credentials.
_resource: Any = None
_tables: dict[str, Any] = {}  # table name -> its Table, made from _resource

# Every pattern is applied with fullmatch: re.match("^...$") also accepts a trailing "\n", so
# "ord-1" and "ord-1\n" would be two orders, charged separately.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_CURRENCY = re.compile(r"[A-Z]{3}")
# The text form of an amount, as ORDER_SCHEMA allows it; Decimal() alone accepts " 1.00\n" and "1_0".
_AMOUNT = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,2})?")
# Saga ids, step names and idempotency keys come from the state machine: no whitespace, no control
# characters. Not narrower than that, so a key derived from an execution ARN still passes.
_TOKEN = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]{1,256}")
# Card tokens are opaque gateway references: printable ASCII, no spaces.
_CARD_TOKEN = re.compile(r"[!-~]{1,256}")
CENT = Decimal("0.01")

#: The saga-input fields each side effect depends on; their hash is stored with the effect and
#: compared when the same idempotency key comes again (compensations/_common.py keeps the same lists).
ORDER_FIELDS = ("order_id", "customer_id", "currency", "items")
PAYMENT_FIELDS = ("order_id", "currency", "items", "payment")
RESERVATION_FIELDS = ("order_id", "items")


class BusinessError(Exception):
    """Base for errors whose class name is the ASL error name the saga catches."""


class InvalidOrder(BusinessError):
    """The order input is invalid or clashes with an existing order."""


class SagaConflict(BusinessError):
    """A row for this order belongs to another saga execution (should never happen after ValidateOrder)."""


class InvalidSagaEvent(Exception):
    """The payload is not what the compiled state machine sends (a direct invoke, or a stale deploy)."""


class IdempotencyValidationError(Exception):
    """The idempotency key was already used with a different payload; nothing was done this time.

    Named as aws-lambda-powertools names the same error. Not a business error: the saga compensates,
    and each compensation leaves alone a row that was written for a different payload.
    """


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


def money(value: Decimal) -> str:
    """Render an amount as a 2-decimal string; DynamoDB may normalise '33.00' to '33'."""
    return str(Decimal(value).quantize(CENT))


def short_hash(key: str) -> str:
    """Return a stable 16-hex-digit digest of an idempotency key."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def now_iso() -> str:
    """Return the current UTC time as ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def payload_hash(data: Any, fields: tuple[str, ...]) -> str:
    """Return the SHA-256 hex digest of the canonical JSON of `fields` of the saga input.

    Canonical: sorted keys, no spaces, UTF-8. The raw input is hashed, as Powertools hashes the
    payload its JMESPath selects, so a compensation can compute the same digest without parsing.
    """
    picked = {f: data.get(f) for f in fields} if isinstance(data, dict) else data
    text = json.dumps(picked, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_replay(row: dict[str, Any], digest: str, key: str, what: str, hash_field: str = "payload_hash") -> None:
    """Raise IdempotencyValidationError when `row`, written under `key`, was for another payload.

    Rows written before payload hashes were stored have none and are accepted as they are.
    """
    stored = row.get(hash_field)
    if stored is not None and stored != digest:
        raise IdempotencyValidationError(
            f"idempotency key {key} was already used for {what} with a different payload; "
            "nothing was changed: start a new saga execution for the new payload"
        )


def _pattern(regex: re.Pattern[str], rule: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(rule)
        return value

    return AfterValidator(check)


def _amount_text(value: Any) -> Any:
    if isinstance(value, str) and not _AMOUNT.fullmatch(value):
        raise ValueError("must be digits with at most 2 decimals, like '12.50', with nothing around them")
    return value


Id = Annotated[str, _pattern(_ID, "must be 1-64 characters of letters, digits, '.', '_', ':' or '-'")]
Token = Annotated[str, _pattern(_TOKEN, "must be 1-256 characters with no whitespace or control characters")]


class SagaError(BaseModel):
    """The Error/Cause pair Step Functions hands to a Catch."""

    model_config = ConfigDict(extra="ignore")
    Error: str | None = None
    Cause: str | None = None


class SagaEvent(BaseModel):
    """The payload the compiled state machine sends to every saga Lambda."""

    model_config = ConfigDict(extra="ignore")
    saga_id: Token
    step: Token
    idempotency_key: Token
    # Any JSON value: a saga input that is not an object is InvalidOrder (parse_order), not a crash.
    input: Any = None
    results: dict[str, Any] | None = None
    error: SagaError | None = None


class OrderItem(BaseModel):
    """One order line."""

    model_config = ConfigDict(extra="ignore")
    sku: Id
    quantity: int = Field(strict=True, ge=1, le=1000)
    unit_price: Annotated[
        Decimal, BeforeValidator(_amount_text), Field(gt=0, decimal_places=2, max_digits=12, allow_inf_nan=False)
    ]


class PaymentDetails(BaseModel):
    """Tokenised card details."""

    model_config = ConfigDict(extra="ignore")
    card_token: Annotated[str, _pattern(_CARD_TOKEN, "must be 1-256 printable ASCII characters with no spaces")]


class OrderInput(BaseModel):
    """The original saga input."""

    model_config = ConfigDict(extra="ignore")
    order_id: Id
    customer_id: Id
    currency: str
    items: list[OrderItem] = Field(min_length=1, max_length=50)
    payment: PaymentDetails

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not _CURRENCY.fullmatch(value):
            raise ValueError(f"must be a 3-letter upper-case ISO 4217 code, got {value!r}")
        return value

    @field_validator("items")
    @classmethod
    def _unique_skus(cls, items: list[OrderItem]) -> list[OrderItem]:
        # One DynamoDB transaction cannot touch the same stock row twice.
        skus = [i.sku for i in items]
        dupes = sorted({s for s in skus if skus.count(s) > 1})
        if dupes:
            raise ValueError(f"each sku may appear once, repeated: {', '.join(dupes)}")
        return items

    @property
    def amount(self) -> Decimal:
        """Order total: sum of quantity * unit_price, to the cent."""
        return sum((i.quantity * i.unit_price for i in self.items), Decimal("0")).quantize(CENT)


def _describe(exc: ValidationError, whole: str = "order", limit: int = 10) -> str:
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or whole
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    if exc.error_count() > limit:
        parts.append(f"... and {exc.error_count() - limit} more")
    return "; ".join(parts)


_JSON_TYPES = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def parse_order(data: Any) -> OrderInput:
    """Validate the saga input, raising InvalidOrder with every bad field named.

    Any JSON value is accepted as `data`: one that is not an object is InvalidOrder too, so the
    saga fails with its declared business error before any side effect.
    """
    if not isinstance(data, dict):
        raise InvalidOrder(f"invalid order: the saga input must be a JSON object, got {_json_type(data)}")
    try:
        return parse(event=data, model=OrderInput)
    except ValidationError as exc:
        raise InvalidOrder(f"invalid order: {_describe(exc)}") from None


def parse_event(event: Any, invalid: type[Exception] = InvalidSagaEvent) -> SagaEvent:
    """Parse the payload the state machine sends, raising `invalid` with every bad field named.

    Only a JSON object is an event (Powertools' parser would also decode a JSON string).
    """
    if not isinstance(event, dict):
        raise invalid(f"invalid saga event: the event must be a JSON object, got {_json_type(event)}")
    try:
        return parse(event=event, model=SagaEvent)
    except ValidationError as exc:
        raise invalid(f"invalid saga event: {_describe(exc, 'event')}") from None
