"""The handler adapter: what turns a saga's own Lambda handler into a choreography consumer.

A step's or compensation's handler (``tasks/``, ``compensations/``) runs unchanged in both modes. In a
choreography its Lambda is this adapter (``Handler: stepsaga.choreography.adapter.handler``, shipped in the
stepsaga layer), fed by an SQS event source with ``ReportBatchItemFailures``. For each message it:

1. unwraps the SQS record and the EventBridge envelope (powertools' parser models: ``SqsModel`` and the
   saga's ``SagaEventBridgeEvent``); a message that is not a saga event is reported failed, so SQS
   dead-letters it after ``maxReceiveCount`` receives;
2. takes the event in the delivery ledger (``stepsaga.choreography.ledger``): a copy already taken is skipped;
3. calls the handler with the orchestration's payload: ``{"saga_id", "step", "idempotency_key", "input",
   "results"}`` (compensations also ``"compensates"`` and ``"error"``), the idempotency key
   ``<saga_id>:<State>`` the same on every attempt;
4. on an error, applies the step's own Retry (ASL semantics, ``stepsaga.choreography.retry``): a retry hands
   the message back with a visibility timeout of the backoff's wait; when the retriers give up, or for a
   declared business error, it emits the failure event;
5. emits its outcome with ``PutEvents``, each event validated against its model first and measured against
   EventBridge's 256 KB, after recording it in the ledger; a failed or partly failed ``PutEvents`` hands the
   message back (``PutEventsFailed``), never drops it. A failure for good of a retriable step or a
   compensation also sends a repair record to the saga's dead-letter queue.

The watchdog: on Lambda the handler gets the orchestration's function timeout (``handler_timeout``); when it
runs past it, the adapter reports ``Sandbox.Timedout`` for the attempt, as Lambda would have, with time left
to record it. An attempt that never reported (the process exited) is found by the next delivery and is
``Runtime.ExitError``.

The local runtime builds the same ``Adapter`` with its own clients, clock and handler call
(``stepsaga.local.choreography``), so what runs locally is this code.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from stepsaga.choreography.events import (
    EventDetail,
    SagaError,
    StateResult,
    event_id,
    fits,
    parse_delivery,
    put_events_entry,
    request_size,
    validate_event_entry,
)
from stepsaga.choreography.ledger import Claim, Delivery, Ledger
from stepsaga.choreography.limits import MAX_PUT_EVENTS_BYTES, MAX_PUT_EVENTS_ENTRIES, MAX_VISIBILITY_TIMEOUT_SECONDS
from stepsaga.choreography.retry import next_wait
from stepsaga.lambda_errors import exited_message, function_error_payload, platform_error_payload, runtime_json, stack_trace, timed_out_message
from stepsaga.names import (
    CONSUMER_CONFIG_ENV,
    CONSUMER_HANDLER_ENV,
    DEAD_LETTER_QUEUE_ENV,
    EVENT_BUS_ENV,
    LEDGER_TABLE_ENV,
)

DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class AttemptFailed(Exception):
    """An attempt failed with an error Lambda or Step Functions names itself, with its Cause text.

    Raised by a handler call for ``States.Timeout``, ``Sandbox.Timedout``, ``Lambda.<Code>`` and function errors
    whose payload is already written; a handler's own exception needs no wrapping.
    """

    def __init__(self, error: str, cause: str | None) -> None:
        super().__init__(error, cause)
        self.error, self.cause = error, cause


class ProcessExited(BaseException):
    """The function's process died during the attempt: nothing after it runs (the local stand-in for a real exit)."""


class PutEventsFailed(Exception):
    """PutEvents failed or rejected an entry: the message is handed back and the same events emitted again."""


class EventTooLarge(Exception):
    """An event the consumer must emit is over EventBridge's 256 KB even without the step's result."""


class InvalidDelivery(Exception):
    """A message that is not an event this consumer reacts to."""


class Adapter:
    """One consumer: its configuration (``stepsaga.choreography.config``), clients and handler call.

    ``call(payload, context)`` runs the handler once; ``events``/``sqs`` are boto3 clients, ``ledger_table`` a
    boto3 DynamoDB ``Table``; ``now`` gives the time in epoch seconds (the local runtime's is virtual).
    """

    def __init__(
        self,
        config: dict[str, Any],
        call: Callable[[dict[str, Any], Any], Any],
        *,
        events: Any,
        sqs: Any,
        ledger_table: Any,
        bus: str,
        dead_letter_queue_url: str | None,
        now: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        lease_seconds: float = 900.0,
    ) -> None:
        if config.get("version") != 1:
            raise ValueError(f"{CONSUMER_CONFIG_ENV} has version {config.get('version')!r}; this adapter reads version 1: redeploy the stack")
        self.config, self.call = config, call
        self.events, self.sqs, self.bus, self.dead_letter_queue_url = events, sqs, bus, dead_letter_queue_url
        self.now, self.rng, self.lease_seconds = now, rng or random.Random(), lease_seconds
        self.ledger = Ledger(ledger_table, config["consumer"], lambda: int(self.now() * 1000))
        from stepsaga.choreography.plan import EventSpec

        self._specs = tuple(EventSpec(e["name"], config["sources"][e["name"]], e["kind"], e["state"]) for e in config["emits"])

    # --- the batch -----------------------------------------------------------------------------

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Process an SQS batch; returns ``{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}``.

        https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
        """
        from aws_lambda_powertools.utilities.parser.models import SqsModel

        batch = SqsModel.model_validate(event)
        failures = []
        for record in batch.Records:
            try:
                done = self.process(record.messageId, record.receiptHandle, str(record.body), record.eventSourceARN, context)
            except (PutEventsFailed, InvalidDelivery, EventTooLarge, ClientError) as exc:
                _log("delivery not processed; the message comes back", message_id=record.messageId, error=type(exc).__name__, detail=str(exc))
                done = False
            if not done:
                failures.append({"itemIdentifier": record.messageId})
        return {"batchItemFailures": failures}

    def process(self, message_id: str, receipt_handle: str, body: str, queue_arn: str, context: Any) -> bool:
        """One message: True when it may be deleted, False when it must come back (a retry, or a failure)."""
        try:
            delivered = parse_delivery(body)
        except ValueError as exc:
            raise InvalidDelivery(f"message {message_id} is not a saga event: {exc}") from None
        cause = delivered.detail
        if cause.saga != self.config["saga"] or delivered.detail_type not in self.config["triggers"]:
            raise InvalidDelivery(f"{self.config['consumer']} does not react to {delivered.detail_type} of saga {cause.saga}")
        request_id = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
        claim: Claim = self.ledger.claim(cause.event_id, cause.saga_id, message_id, self.lease_seconds, len(self.config["retry"]), request_id)
        if claim.duplicate:
            _log("duplicate delivery skipped", event_id=cause.event_id, reason=claim.reason)
            return True
        row = claim.row
        if claim.started:  # first sight: the claim started attempt 1
            return self._attempt(row, cause, queue_arn, receipt_handle, context, started=True)
        if row.outcome is not None:  # the handler ran; emitting its outcome failed last time
            return self._emit(row, row.outcome)
        if row.running:  # the last attempt never reported: its process exited
            cause_text = platform_error_payload("Runtime.ExitError", exited_message(row.request_id or "unknown", None))
            wait = self._failed(row, cause, "Runtime.ExitError", cause_text)
            if wait is not None:
                elapsed = self.now() - row.started_ms / 1000
                remaining = wait - elapsed
                if remaining > 0:  # the retry is not due yet: wait the rest in the queue
                    self._hand_back(queue_arn, receipt_handle, remaining)
                    return False
            else:
                return self._emit(row, row.outcome or {})
        return self._attempt(row, cause, queue_arn, receipt_handle, context)

    # --- an attempt ----------------------------------------------------------------------------

    def _attempt(self, row: Delivery, cause: EventDetail, queue_arn: str, receipt_handle: str, context: Any, started: bool = False) -> bool:
        request_id = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
        if not started:
            self.ledger.start_attempt(row, request_id, self.lease_seconds)
        payload = self._payload(cause)
        try:
            result = json.loads(runtime_json(self.call(payload, context)))
        except AttemptFailed as exc:
            error, cause_text = exc.error, exc.cause
        except (TypeError, ValueError) as exc:  # the result is not JSON: Lambda's marshal error
            error, cause_text = "Runtime.MarshalError", function_error_payload("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id, [])
        except Exception as exc:  # noqa: BLE001 - every handler exception is a function error, as on Lambda
            error = getattr(exc, "error_type", None) or type(exc).__name__
            cause_text = function_error_payload(error, str(exc), request_id, stack_trace(exc, _HERE))
        else:
            row.attempts.append({"number": row.attempt, "started_ms": row.started_ms, "outcome": "ok", "error": None, "cause": None, "waited": 0.0})
            outcome = self._success(row, cause, result)
            if outcome is not None:
                self.ledger.record_outcome(row, outcome)
                return self._emit(row, outcome)
            row.attempts.pop()  # the attempt failed after all: its result does not fit in an event
            error, cause_text = DATA_LIMIT_EXCEEDED, (
                f"The result of {self.config['consumer']} makes its event larger than EventBridge's {MAX_PUT_EVENTS_BYTES} bytes")
        wait = self._failed(row, cause, error, cause_text)
        if wait is not None:
            self._hand_back(queue_arn, receipt_handle, wait)
            return False
        return self._emit(row, row.outcome or {})

    def _failed(self, row: Delivery, cause: EventDetail, error: str, cause_text: str | None) -> float | None:
        """Apply the retriers to a failed attempt: the wait before a retry (recorded), or None after recording
        the failure for good as the row's outcome."""
        wait = None if error in self.config["business_errors"] else next_wait(self.config["retry"], row.counts, error, self.rng)
        if wait is not None:  # the message comes back after whole seconds: that is the wait the attempt gets
            wait = float(min(MAX_VISIBILITY_TIMEOUT_SECONDS, max(0, math.ceil(wait))))
        attempt = {"number": row.attempt, "started_ms": row.started_ms, "outcome": "timeout" if error == "States.Timeout" else "error",
                   "error": error, "cause": cause_text, "waited": wait or 0.0}
        if wait is not None:
            self.ledger.record_retry(row, attempt, self.lease_seconds + wait)
            _log("attempt failed, retrying", consumer=self.config["consumer"], attempt=row.attempt, error=error, wait=wait)
            return wait
        row.attempts.append(attempt)
        outcome = self._failure(row, cause, error, cause_text)
        self.ledger.record_outcome(row, outcome)
        _log("failed for good", consumer=self.config["consumer"], attempt=row.attempt, error=error)
        return None

    def _hand_back(self, queue_arn: str, receipt_handle: str, wait: float) -> None:
        # ChangeMessageVisibility takes whole seconds up to 12 hours; the model keeps waits within it.
        seconds = min(MAX_VISIBILITY_TIMEOUT_SECONDS, max(0, math.ceil(wait)))
        self.sqs.change_message_visibility(QueueUrl=queue_url(queue_arn), ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)

    # --- payloads and outcomes -------------------------------------------------------------------

    def _payload(self, cause: EventDetail) -> dict[str, Any]:
        name = self.config["consumer"]
        payload: dict[str, Any] = {
            "saga_id": cause.saga_id,
            "step": name,
            "idempotency_key": f"{cause.saga_id}:{name}",
            "input": cause.input,
            "results": {k: v.model_dump() for k, v in cause.results.items()},
        }
        if self.config["kind"] == "compensation":
            payload["compensates"] = self.config["step"]
            payload["error"] = cause.error.model_dump() if cause.error is not None else None
        return payload

    def _detail(self, cause: EventDetail, row: Delivery, detail_type: str, seq: int, **changes: Any) -> EventDetail:
        values: dict[str, Any] = {
            "saga": cause.saga, "saga_id": cause.saga_id, "correlation_id": cause.correlation_id,
            "causation_id": cause.event_id, "event_id": event_id(cause.saga, cause.saga_id, detail_type), "seq": seq,
            "producer": self.config["consumer"], "step": self.config["consumer"], "attempt": row.attempt,
            "attempts": row.attempts, "input": cause.input, "results": cause.results, "compensated": cause.compensated,
            "error": cause.error, "business_error": None, "compensation_error": None, "time_ms": int(self.now() * 1000),
        }
        values.update(changes)
        return EventDetail.model_validate(values)

    def _entries(self, cause: EventDetail, row: Delivery, names: list[str], own: dict[str, Any], saga: dict[str, Any]) -> list[dict[str, Any]]:
        """PutEvents entries: the consumer's own event (``own`` changes), then the saga's (``saga`` changes)."""
        out = []
        for offset, name in enumerate(names):
            changes = own if offset == 0 else {**own, "step": None, "attempt": None, "attempts": [], **saga}
            detail = self._detail(cause, row, name, cause.seq + 1 + offset, **changes)
            out.append(put_events_entry(name, self.config["sources"][name], detail, self.bus))
        return out

    def _success(self, row: Delivery, cause: EventDetail, result: Any) -> dict[str, Any] | None:
        """The events of a success, or None when they are too large for EventBridge."""
        mine = {self.config["consumer"]: StateResult(output=result)}
        if self.config["kind"] == "compensation":
            # the done event carries the original error on to the next compensation, and to Aborted
            own: dict[str, Any] = {"compensated": {**cause.compensated, **mine}}
        else:
            own = {"results": {**cause.results, **mine}, "error": None}
        entries = self._entries(cause, row, list(self.config["on_success"]), own, {})
        return {"entries": entries, "record": None} if fits(entries) else None

    def _failure(self, row: Delivery, cause: EventDetail, error: str, cause_text: str | None) -> dict[str, Any]:
        """The events (and repair record) of a failure for good."""
        failed = SagaError(Error=error, Cause=cause_text)
        record = None
        names = list(self.config["on_failure"])
        if self.config["kind"] == "compensation":
            # CompensationFailed: the original error stays, the compensation's own is beside it
            entries = self._entries(cause, row, names, {"compensation_error": failed}, {})
            record = self._record("CompensationFailed", cause, {
                "failed_compensation": self.config["consumer"],
                "error": cause.error.model_dump() if cause.error is not None else None,
                "compensation_error": failed.model_dump(),
                "compensations_done": {k: v.model_dump() for k, v in cause.compensated.items()},
                "compensations_pending": list(self.config["pending"]),
            })
        else:
            business = error in self.config["business_errors"]
            if ("business" if business else "error") in self.config["aborts"]:
                names.append(self.config["aborted"])
            # Aborted keeps the error (the saga ends with it); Completed, after a dead-lettered retriable step, none
            aborting = len(names) > 1 and names[1] == self.config["aborted"]
            after = {"business_error": None} if aborting else {"error": None, "business_error": None}
            entries = self._entries(cause, row, names, {"error": failed, "business_error": business}, after)
            if self.config["retriable"]:
                record = self._record("StepFailed", cause, {"step": self.config["consumer"], "error": failed.model_dump()})
        if not fits(entries):
            raise EventTooLarge(
                f"{self.config['consumer']} must emit {', '.join(names)} ({request_size(entries)} bytes), over EventBridge's "
                f"{MAX_PUT_EVENTS_BYTES} bytes even without its own result: the saga's input and results are too large")
        return {"entries": entries, "record": record}

    def _record(self, kind: str, cause: EventDetail, fields: dict[str, Any]) -> dict[str, Any]:
        """The repair record, with the orchestration's keys (no execution ARN: a choreography has none)."""
        record = {"kind": kind, "saga": cause.saga, "saga_id": cause.saga_id}
        record.update({k: fields[k] for k in ("step", "failed_compensation") if k in fields})
        record.update({"input": cause.input, "results": {k: v.model_dump() for k, v in cause.results.items()}})
        record.update({k: v for k, v in fields.items() if k not in ("step", "failed_compensation")})
        record["record_id"] = event_id(cause.saga, cause.saga_id, f"record/{kind}/{self.config['consumer']}")
        return record

    # --- emitting ----------------------------------------------------------------------------

    def _emit(self, row: Delivery, outcome: dict[str, Any]) -> bool:
        """Send the repair record, put the events, mark the row done; PutEventsFailed hands the message back."""
        if outcome.get("record") is not None:
            if not self.dead_letter_queue_url:
                raise RuntimeError(f"{self.config['consumer']} dead-letters but has no {DEAD_LETTER_QUEUE_ENV}: redeploy the stack")
            self.sqs.send_message(QueueUrl=self.dead_letter_queue_url, MessageBody=json.dumps(outcome["record"], separators=(",", ":")))
        entries = outcome.get("entries", [])
        for entry in entries:  # no malformed event leaves: each against its own model (EventValidationError)
            validate_event_entry(self.config["saga"], self._specs, entry)
        for start in range(0, len(entries), MAX_PUT_EVENTS_ENTRIES):
            chunk = entries[start : start + MAX_PUT_EVENTS_ENTRIES]
            response = self.events.put_events(Entries=chunk)
            if response.get("FailedEntryCount"):
                errors = [e.get("ErrorCode") for e in response.get("Entries", []) if e.get("ErrorCode")]
                raise PutEventsFailed(f"PutEvents rejected {response['FailedEntryCount']} of {len(chunk)} entries: {', '.join(errors)}")
        self.ledger.complete(row)
        return True


def queue_url(queue_arn: str) -> str:
    """An SQS queue's URL from its ARN (``arn:aws:sqs:<region>:<account>:<name>``)."""
    _, partition, _, region, account, name = queue_arn.split(":", 5)
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{domain}/{account}/{name}"


_LOGGER: Any = None


def _log(message: str, **fields: Any) -> None:
    # powertools' Logger: JSON lines, at the level POWERTOOLS_LOG_LEVEL (or Lambda's log level) sets.
    global _LOGGER
    if _LOGGER is None:
        from aws_lambda_powertools import Logger

        _LOGGER = Logger(service="stepsaga-adapter")
    _LOGGER.info(message, extra=fields)


# --- on Lambda -------------------------------------------------------------------------------------


class _Watchdog:
    """Stops the handler at its function timeout, in the Lambda's main thread (SIGALRM), so the adapter can
    report ``Sandbox.Timedout`` with the seconds Lambda would have: the consumer's own timeout is longer."""

    class Fired(BaseException):  # not an Exception: the handler's own ``except Exception`` must not swallow it
        pass

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def call(self, handler: Callable[[Any, Any], Any], payload: Any, context: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return handler(payload, context)

        def fire(signum: int, frame: Any) -> None:
            raise _Watchdog.Fired()

        previous = signal.signal(signal.SIGALRM, fire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            return handler(payload, context)
        except _Watchdog.Fired:
            request_id = getattr(context, "aws_request_id", "unknown")
            raise AttemptFailed("Sandbox.Timedout", platform_error_payload("Sandbox.Timedout", timed_out_message(request_id, self.seconds))) from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


_ADAPTER: Adapter | None = None


def _from_environment() -> Adapter:
    """The consumer of this Lambda, built once per execution environment from its variables."""
    import importlib

    import boto3

    config = json.loads(os.environ[CONSUMER_CONFIG_ENV])
    module_name, _, function_name = os.environ[CONSUMER_HANDLER_ENV].rpartition(".")
    own_handler = getattr(importlib.import_module(module_name), function_name)
    watchdog = _Watchdog(config["handler_timeout"])
    return Adapter(
        config,
        lambda payload, context: watchdog.call(own_handler, payload, context),
        events=boto3.client("events"),
        sqs=boto3.client("sqs"),
        ledger_table=boto3.resource("dynamodb").Table(os.environ[LEDGER_TABLE_ENV]),
        bus=os.environ[EVENT_BUS_ENV],
        dead_letter_queue_url=os.environ.get(DEAD_LETTER_QUEUE_ENV),
        lease_seconds=lease_seconds(config),
    )


def lease_seconds(config: dict[str, Any]) -> float:
    """How long a delivery holds its event beyond a retry's wait: the queue's visibility timeout (its message
    is back by then, or the function is gone) and a minute more."""
    from stepsaga.choreography import delivery

    return delivery.visibility_timeout(config) + 60.0


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point of every consumer: ``Handler: stepsaga.choreography.adapter.handler``."""
    global _ADAPTER
    if _ADAPTER is None:
        _ADAPTER = _from_environment()
    return _ADAPTER.handle(event, context)
