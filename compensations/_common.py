"""Shared helpers for the order-saga compensation Lambdas (this folder is one SAM CodeUri)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

logger = Logger(service="order-saga")

# One resource per cold start; None until first use so tests can create it inside moto.
_resource: Any = None

CENT = Decimal("0.01")
NOTHING_TO_UNDO = "nothing to undo"


def dynamodb() -> Any:
    """Return the process-wide DynamoDB resource, creating it on first use."""
    global _resource
    if _resource is None:
        _resource = boto3.resource("dynamodb")
    return _resource


def table(env_var: str) -> Any:
    """Return the Table named by the given environment variable (read at call time)."""
    return dynamodb().Table(os.environ[env_var])


def money(value: Any) -> str:
    """Render an amount as a 2-decimal string; DynamoDB may normalise '33.00' to '33'."""
    return str(Decimal(value).quantize(CENT))


def now_iso() -> str:
    """Return the current UTC time as ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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

    @property
    def order_id(self) -> str | None:
        """The order id from the saga input, or None when the input never had a usable one."""
        # Compensations may run after InvalidOrder, so the input is not trusted to be valid.
        value = self.input.get("order_id")
        return value if isinstance(value, str) and value else None
