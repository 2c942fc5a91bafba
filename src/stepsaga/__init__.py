"""stepsaga: the saga pattern on AWS Step Functions, defined in Python.

Only the definition model is imported here, so that compiling never loads boto3 or moto.
"""

from stepsaga.errors import DefinitionError, LintError, LoadError, Problem, StepsagaError
from stepsaga.model import (
    DEFAULT_COMPENSATION_RETRY,
    DEFAULT_RETRIABLE_RETRY,
    DEFAULT_TRANSIENT_RETRY,
    Compensation,
    EventTrigger,
    HttpTrigger,
    Retry,
    Saga,
    SagaEvents,
    Step,
    StepEvents,
    Table,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_COMPENSATION_RETRY",
    "DEFAULT_RETRIABLE_RETRY",
    "DEFAULT_TRANSIENT_RETRY",
    "Compensation",
    "DefinitionError",
    "EventTrigger",
    "HttpTrigger",
    "LintError",
    "LoadError",
    "Problem",
    "Retry",
    "Saga",
    "SagaEvents",
    "Step",
    "StepEvents",
    "StepsagaError",
    "Table",
]
