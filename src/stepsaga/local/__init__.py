"""The embedded runtime: compiled ASL on moto's Step Functions interpreter, handlers in-process.

Importing this package loads boto3 and moto; the compile path never does.
"""

from stepsaga.local.cloud import EmbeddedCloud, SeedError, default_seed, load_seed, seed_items
from stepsaga.local.contract import Change, ContractViolation, ContractViolationError
from stepsaga.local.faults import CrashAfter, Exit, Fail, Fault, FaultError, FunctionTimeout, Timeout, parse_fault
from stepsaga.local.result import Attempt, SagaFailedError, SagaResult, StateRun

__all__ = [
    "Attempt",
    "Change",
    "ContractViolation",
    "ContractViolationError",
    "CrashAfter",
    "EmbeddedCloud",
    "Exit",
    "Fail",
    "Fault",
    "FaultError",
    "FunctionTimeout",
    "SagaFailedError",
    "SagaResult",
    "SeedError",
    "StateRun",
    "Timeout",
    "default_seed",
    "load_seed",
    "parse_fault",
    "seed_items",
]
