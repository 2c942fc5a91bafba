"""Shared helpers for the order-saga task Lambdas (this folder is one SAM CodeUri)."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import parse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

logger = Logger(service="order-saga")

# One resource per cold start; None until first use so tests can create it inside moto.
_resource: Any = None

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
CENT = Decimal("0.01")


class BusinessError(Exception):
    """Base for errors whose class name is the ASL error name the saga catches."""


class InvalidOrder(BusinessError):
    """The order input is invalid or clashes with an existing order."""


class SagaConflict(BusinessError):
    """A row for this order belongs to another saga execution (should never happen after ValidateOrder)."""


def dynamodb() -> Any:
    """Return the process-wide DynamoDB resource, creating it on first use."""
    global _resource
    if _resource is None:
        _resource = boto3.resource("dynamodb")
    return _resource


def table(env_var: str) -> Any:
    """Return the Table named by the given environment variable (read at call time)."""
    return dynamodb().Table(os.environ[env_var])


def money(value: Decimal) -> str:
    """Render an amount as a 2-decimal string; DynamoDB may normalise '33.00' to '33'."""
    return str(Decimal(value).quantize(CENT))


def short_hash(key: str) -> str:
    """Return a stable 16-hex-digit digest of an idempotency key."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def now_iso() -> str:
    """Return the current UTC time as ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError("must be 1-64 characters of letters, digits, '.', '_', ':' or '-'")
    return value


Id = Annotated[str, AfterValidator(_check_id)]


class SagaError(BaseModel):
    """The Error/Cause pair Step Functions hands to a Catch."""

    model_config = ConfigDict(extra="ignore")
    Error: str | None = None
    Cause: str | None = None


class SagaEvent(BaseModel):
    """The payload the compiled state machine sends to every saga Lambda."""

    model_config = ConfigDict(extra="ignore")
    saga_id: str = Field(min_length=1)
    step: str = Field(min_length=1)
    idempotency_key: str = Field(min_length=1)
    input: dict[str, Any]
    results: dict[str, Any] | None = None
    error: SagaError | None = None


class OrderItem(BaseModel):
    """One order line."""

    model_config = ConfigDict(extra="ignore")
    sku: Id
    quantity: int = Field(strict=True, ge=1, le=1000)
    unit_price: Decimal = Field(gt=0, decimal_places=2, max_digits=12, allow_inf_nan=False)


class PaymentDetails(BaseModel):
    """Tokenised card details."""

    model_config = ConfigDict(extra="ignore")
    card_token: str = Field(min_length=1, max_length=256)


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
        if not _CURRENCY.match(value):
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


def _describe(exc: ValidationError, limit: int = 10) -> str:
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "order"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    if exc.error_count() > limit:
        parts.append(f"... and {exc.error_count() - limit} more")
    return "; ".join(parts)


def parse_order(data: dict[str, Any]) -> OrderInput:
    """Validate the saga input, raising InvalidOrder with every bad field named."""
    try:
        return parse(event=data, model=OrderInput)
    except ValidationError as exc:
        raise InvalidOrder(f"invalid order: {_describe(exc)}") from None
