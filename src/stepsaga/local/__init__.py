"""The embedded runtime: compiled ASL on moto's Step Functions interpreter, handlers in-process.

The fault kinds and the errors are imported eagerly and load neither boto3 nor moto, so that declaring
faults (``from stepsaga.local import Fail``, ``import stepsaga.local.faults``) stays light. The names that
need the engine (``EmbeddedCloud``, the seed helpers, the contract check, the result types) are loaded on
first use, through the module's ``__getattr__``; only they import boto3 and moto. The compile path never
imports this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from stepsaga.errors import ContractViolationError, FaultError, SagaFailedError, SeedError
from stepsaga.local.faults import (
    CrashAfter,
    Delay,
    DeliveryFault,
    Duplicate,
    Exit,
    Fail,
    Fault,
    FunctionTimeout,
    Reorder,
    Timeout,
    Undeliverable,
    parse_fault,
)

if TYPE_CHECKING:
    from stepsaga.local.cloud import EmbeddedCloud, default_seed, load_seed, seed_items
    from stepsaga.local.contract import Change, ContractViolation
    from stepsaga.local.result import Attempt, SagaResult, StateRun

# name -> the module that defines it, imported on first access
_LAZY = {
    "EmbeddedCloud": "stepsaga.local.cloud",
    "default_seed": "stepsaga.local.cloud",
    "load_seed": "stepsaga.local.cloud",
    "seed_items": "stepsaga.local.cloud",
    "Change": "stepsaga.local.contract",
    "ContractViolation": "stepsaga.local.contract",
    "Attempt": "stepsaga.local.result",
    "SagaResult": "stepsaga.local.result",
    "StateRun": "stepsaga.local.result",
}

__all__ = [
    "Attempt",
    "Change",
    "ContractViolation",
    "ContractViolationError",
    "CrashAfter",
    "Delay",
    "DeliveryFault",
    "Duplicate",
    "EmbeddedCloud",
    "Exit",
    "Fail",
    "Fault",
    "FaultError",
    "FunctionTimeout",
    "Reorder",
    "SagaFailedError",
    "SagaResult",
    "SeedError",
    "StateRun",
    "Timeout",
    "Undeliverable",
    "default_seed",
    "load_seed",
    "parse_fault",
    "seed_items",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'stepsaga.local' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
