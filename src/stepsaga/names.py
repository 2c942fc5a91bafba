"""The names the compiler gives: reserved states, derived states, placeholders and file names.

This is the one home of the contract between the compiled ASL, the SAM template, the local runtime and the
reports. The state names and placeholders are part of the compiled output, and golden-tested. Standard
library only, so the compile path stays light.
"""

from __future__ import annotations

import re

# --- the states the compiler adds around the steps ------------------------------------------------

#: Keeps the input and starts the saga's records; also fails an input over half the payload quota.
BEGIN = "BeginSaga"
#: Lets only a JSON object input start the saga.
CHECK_INPUT = "CheckSagaInput"
#: The Fail state for an input that is not a JSON object.
INPUT_REJECTED = "SagaInputRejected"
SUCCEEDED = "SagaSucceeded"
#: The Fail state of a compensated saga: the original error and cause.
FAILED = "SagaFailed"
#: The Fail state of a saga whose compensation failed for good.
COMPENSATION_FAILED = "SagaCompensationFailed"
COMPENSATION_RECORD_NOT_SENT = "CompensationRecordNotSent"
STEP_RECORD_NOT_SENT = "StepRecordNotSent"

#: State names the compiler uses itself; steps may not take them.
RESERVED_STATE_NAMES = (
    BEGIN, CHECK_INPUT, INPUT_REJECTED, SUCCEEDED, FAILED, COMPENSATION_FAILED,
    COMPENSATION_RECORD_NOT_SENT, STEP_RECORD_NOT_SENT,
)

#: Suffix of the state that sends a failed step's or compensation's repair record to the queue.
DEAD_LETTER_SUFFIX = "DeadLetter"
#: Suffix of the state that keeps a repair record in the execution history when it cannot be sent.
REPAIR_RECORD_SUFFIX = "RepairRecord"
#: Suffixes of the per-step states the compiler derives; step names may not end in them.
RESERVED_SUFFIXES = (DEAD_LETTER_SUFFIX, REPAIR_RECORD_SUFFIX)


def dead_letter_state(name: str) -> str:
    """The state that dead-letters a failed step or compensation: SendNotification -> SendNotificationDeadLetter."""
    return name + DEAD_LETTER_SUFFIX


def repair_record_state(name: str) -> str:
    """The state that keeps a repair record in the history when sending it failed: X -> XRepairRecord."""
    return name + REPAIR_RECORD_SUFFIX


def is_dead_letter_state(name: str) -> bool:
    """Whether a state name is one the compiler derived with `dead_letter_state`."""
    return name.endswith(DEAD_LETTER_SUFFIX)


# --- the errors the compiled ASL raises itself ----------------------------------------------------

#: The error of an execution whose compensation failed for good.
COMPENSATION_FAILED_ERROR = "SagaCompensationFailed"
#: The error of an execution whose input is not a JSON object; no step ran.
INVALID_INPUT_ERROR = "InvalidSagaInput"
#: The error of an execution whose step dead-lettered and whose repair record could not be sent.
RECORD_NOT_SENT_ERROR = "RepairRecordNotSent"

# --- DefinitionSubstitutions placeholders ---------------------------------------------------------
# https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-statemachine.html#sam-statemachine-definitionsubstitutions

_FUNCTION_ARN_SUFFIX = "FunctionArn"
#: The placeholder of the dead-letter queue's URL.
DLQ_PLACEHOLDER = "DeadLetterQueueUrl"
#: A ``${Key}`` placeholder in ASL text; group 1 is the key.
PLACEHOLDER_PATTERN = r"\$\{([^}]+)\}"


def function_placeholder(state_name: str) -> str:
    """The DefinitionSubstitutions key of the Lambda behind a state: ProcessPayment -> ProcessPaymentFunctionArn."""
    return state_name + _FUNCTION_ARN_SUFFIX


def placeholder_state(key: str) -> str | None:
    """The state whose Lambda a placeholder key stands for (the inverse of `function_placeholder`), or None."""
    if key.endswith(_FUNCTION_ARN_SUFFIX) and len(key) > len(_FUNCTION_ARN_SUFFIX):
        return key[: -len(_FUNCTION_ARN_SUFFIX)]
    return None


def substitution(key: str) -> str:
    """How a placeholder key is written in the ASL: DeadLetterQueueUrl -> ``${DeadLetterQueueUrl}``."""
    return "${" + key + "}"


def function_reference(state_name: str) -> str:
    """The FunctionName a Task of the state sends: ProcessPayment -> ``${ProcessPaymentFunctionArn}``."""
    return substitution(function_placeholder(state_name))


def referenced_state(function_name: str) -> str | None:
    """The state of an unfilled FunctionName (the inverse of `function_reference`), or None."""
    match = re.fullmatch(PLACEHOLDER_PATTERN, function_name)
    return placeholder_state(match.group(1)) if match else None


# --- files ----------------------------------------------------------------------------------------

#: The extension of a compiled definition; `stepsaga check` looks for every ``*`` + this in asl/.
ASL_SUFFIX = ".asl.json"


def snake_case(name: str) -> str:
    """OrderSaga -> order_saga: the file stem of a saga's compiled outputs."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def asl_file_name(saga_name: str) -> str:
    """The file a saga compiles to, in asl/: OrderSaga -> order_saga.asl.json."""
    return snake_case(saga_name) + ASL_SUFFIX


#: The extension of a saga's choreography document (``stepsaga compile --mode choreography -o DIR/``).
CHOREOGRAPHY_SUFFIX = ".choreography.json"


def choreography_file_name(saga_name: str) -> str:
    """The file a saga's choreography document is written to in a folder: OrderSaga -> order_saga.choreography.json."""
    return snake_case(saga_name) + CHOREOGRAPHY_SUFFIX


#: The folder of the committed event schemas; each saga has a folder in it (`schema_path`).
SCHEMAS_DIR = "schemas"
#: The extension of an event's JSON Schema; `stepsaga check` looks for every ``*`` + this in a saga's folder.
SCHEMA_SUFFIX = ".json"


def schema_path(saga_name: str, detail_type: str) -> str:
    """An event's JSON Schema, relative to schemas/: (OrderSaga, PaymentFailed) -> order_saga/PaymentFailed.json."""
    return f"{snake_case(saga_name)}/{detail_type}{SCHEMA_SUFFIX}"


# --- choreography: the resources a choreography adds, and what its functions are told ------------
# (The events' own names come from the definition: stepsaga.choreography.plan.)

#: The partition key of the delivery ledger: ``<consumer>#<event_id>``, one row per event a consumer took.
LEDGER_KEY = "delivery"
#: The ledger's TTL attribute (epoch seconds): rows outlive every redelivery, then DynamoDB drops them.
LEDGER_TTL_ATTRIBUTE = "expires_at"
#: The saga log's keys: the saga id, and the entry (``SAGA`` for the summary, ``EVENT#<seq>#<detail-type>``).
SAGA_LOG_KEYS = ("saga_id", "entry")

#: The environment of a consumer Lambda: its configuration (stepsaga.choreography.config) as JSON,
#: the handler the adapter calls (``module.function`` in the code folder), and its resources.
CONSUMER_CONFIG_ENV = "STEPSAGA_CONSUMER"
CONSUMER_HANDLER_ENV = "STEPSAGA_HANDLER"
EVENT_BUS_ENV = "EVENT_BUS_NAME"
LEDGER_TABLE_ENV = "DELIVERY_LEDGER_TABLE"
SAGA_LOG_TABLE_ENV = "SAGA_LOG_TABLE"
DEAD_LETTER_QUEUE_ENV = "DEAD_LETTER_QUEUE_URL"

#: The Lambda Handler of every consumer: the adapter, which calls the function's own handler.
ADAPTER_HANDLER = "stepsaga.choreography.adapter.handler"
#: The Lambda Handler of the saga log's projection.
PROJECTION_HANDLER = "stepsaga.choreography.projection.handler"
#: The Lambda Handler that starts a saga from an EventTrigger's event.
START_HANDLER = "stepsaga.choreography.start.handler"
