"""The saga log: every event of a saga projected into one DynamoDB table, the choreography's execution history.

A choreography has no orchestrator to ask how a saga is doing. The ``SagaLog`` consumer reacts to every
event of the saga (``{"source": [...], "detail": {"saga": [<Saga>]}}``) and writes, keyed by saga id:

* one item per event, ``entry = EVENT#<seq>#<detail-type>``: who emitted it (``producer``), what caused it
  (``causation_id``), the attempts, the error, and the whole detail as JSON: events arrive out of order
  and more than once, and the item is the same whichever copy writes it;
* one summary item, ``entry = SAGA``: the saga's status (``RUNNING``, then ``SUCCEEDED`` on Completed,
  ``FAILED`` on Aborted or CompensationFailed), its error and cause, and when it started and ended. A terminal
  status is never overwritten by an event that arrives after it.

``read_log`` reads it back in causal order (``seq``) and tells who reacted to each event (the producers of
the events it caused). This is the CQRS read side; the timeline of ``stepsaga run --mode choreography`` is
printed from it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from stepsaga.names import COMPENSATION_FAILED_ERROR, SAGA_LOG_KEYS, SAGA_LOG_TABLE_ENV

SUMMARY = "SAGA"
RUNNING, SUCCEEDED, FAILED = "RUNNING", "SUCCEEDED", "FAILED"


def event_entry(seq: int, detail_type: str) -> str:
    """The sort key of an event's item: ``EVENT#000003#PaymentProcessed`` (sorts in causal order)."""
    return f"EVENT#{seq:06d}#{detail_type}"


def terminal_status(kind: str) -> str | None:
    """The saga status an event of this kind ends the saga with (``stepsaga.choreography.plan`` kinds), or None."""
    return {"completed": SUCCEEDED, "aborted": FAILED, "compensation_failed": FAILED}.get(kind)


class Projection:
    """Writes events into the saga log. ``table`` is a boto3 DynamoDB ``Table``; ``kinds`` maps the saga's own
    detail-types to their kinds (``started``, ``completed``, ``aborted``, ``compensation_failed``), to tell the
    start and the ends; every other event is a step's or a compensation's."""

    def __init__(self, table: Any, kinds: dict[str, str]) -> None:
        self.table, self.kinds = table, kinds

    @classmethod
    def from_config(cls, table: Any, config: dict[str, Any]) -> Projection:
        """The saga log's projection from its configuration (``stepsaga.choreography.config.service_config``)."""
        return cls(table, {config[kind]: kind for kind in ("started", "completed", "aborted", "compensation_failed")})

    def project(self, event: dict[str, Any]) -> None:
        """Project one EventBridge event (the envelope, decoded); writing the same event twice changes nothing."""
        self.project_all([event])

    def project_all(self, events: list[dict[str, Any]]) -> None:
        """Project events (EventBridge envelopes, decoded): their items in batches of 25 (``BatchWriteItem``, every
        unprocessed item sent again), then one summary update per saga among them."""
        saga_key, entry_key = SAGA_LOG_KEYS
        items = {}
        for event in events:
            detail, detail_type = event["detail"], event["detail-type"]
            item = {
                saga_key: detail["saga_id"],
                entry_key: event_entry(int(detail["seq"]), detail_type),
                "detail_type": detail_type,
                "source": event["source"],
                "seq": int(detail["seq"]),
                "event_id": detail["event_id"],
                "causation_id": detail.get("causation_id") or "",
                "producer": detail["producer"],
                "time_ms": int(detail["time_ms"]),
                "detail": json.dumps(detail, separators=(",", ":"), sort_keys=True),
            }
            items[(item[saga_key], item[entry_key])] = item  # a copy in the same batch is one item: BatchWriteItem refuses duplicates
        with self.table.batch_writer() as batch:  # boto3 sends unprocessed items again
            for item in items.values():
                batch.put_item(Item=item)
        by_saga: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            by_saga.setdefault(event["detail"]["saga_id"], []).append(event)
        for saga_id, mine in by_saga.items():
            self._summarise(saga_id, mine)

    def _summarise(self, saga_id: str, events: list[dict[str, Any]]) -> None:
        """One update of a saga's summary for some of its events: its start, and its end when one of them is."""
        saga_key, entry_key = SAGA_LOG_KEYS
        first = min(events, key=lambda e: int(e["detail"]["seq"]))
        start = next((e for e in events if self.kinds.get(e["detail-type"]) == "started"), None)
        end = next((e for e in events if terminal_status(self.kinds.get(e["detail-type"], "")) is not None), None)
        names = {"#s": "status"}
        values: dict[str, Any] = {":saga": first["detail"]["saga"], ":t": int((start or first)["detail"]["time_ms"])}
        # Out of order, another event may come first: the Started event's time is the start, whenever it arrives.
        started = "started_ms = :t" if start is not None else "started_ms = if_not_exists(started_ms, :t)"
        if end is None:
            expression = f"SET saga = :saga, #s = if_not_exists(#s, :running), {started}"
            values[":running"] = RUNNING
        else:
            detail, detail_type = end["detail"], end["detail-type"]
            error, cause = _outcome(detail, self.kinds[detail_type])
            expression = (f"SET saga = :saga, #s = :status, ended_ms = :end, {started}, "
                          "error_name = :error, error_cause = :cause, ended_by = :by")
            values.update({":status": terminal_status(self.kinds[detail_type]), ":end": int(detail["time_ms"]), ":error": error or "",
                           ":cause": cause or "", ":by": detail_type})
        self.table.update_item(Key={saga_key: saga_id, entry_key: SUMMARY}, UpdateExpression=expression,
                               ExpressionAttributeNames=names, ExpressionAttributeValues=values)


def _outcome(detail: dict[str, Any], kind: str) -> tuple[str | None, str | None]:
    """The error and cause a saga ends with, as the orchestration's Fail states give them."""
    error = detail.get("error") or {}
    if kind == "aborted":
        return error.get("Error"), error.get("Cause")
    if kind == "compensation_failed":
        comp = detail.get("compensation_error") or {}
        # SagaCompensationFailed's Cause in the ASL: States.Format('{} while compensating {}: {}', ...)
        return COMPENSATION_FAILED_ERROR, f"{comp.get('Error')} while compensating {error.get('Error')}: {comp.get('Cause')}"
    return None, None


@dataclass
class LoggedEvent:
    """One event of the saga log, with who reacted to it."""

    seq: int
    detail_type: str
    source: str
    producer: str
    causation_id: str | None
    event_id: str
    time_ms: int
    detail: dict[str, Any]
    reacted: list[str] = field(default_factory=list)


@dataclass
class SagaLog:
    """A saga as its log tells it: the summary and the events in causal order."""

    saga_id: str
    status: str  # RUNNING | SUCCEEDED | FAILED, or "UNKNOWN" when the log has no summary (nothing reached it)
    error: str | None
    cause: str | None
    started_ms: int | None
    ended_ms: int | None
    events: list[LoggedEvent]

    @property
    def last(self) -> LoggedEvent | None:
        """The event with the highest seq."""
        return self.events[-1] if self.events else None


def read_log(table: Any, saga_id: str) -> SagaLog:
    """Read one saga's log (a DynamoDB ``Query`` on the saga id, every page) in causal order."""
    saga_key, entry_key = SAGA_LOG_KEYS
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"KeyConditionExpression": "#k = :id", "ExpressionAttributeNames": {"#k": saga_key},
                              "ExpressionAttributeValues": {":id": saga_id}, "ConsistentRead": True}
    while True:
        page = table.query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    summary = next((i for i in items if i[entry_key] == SUMMARY), None)
    events = [
        LoggedEvent(int(i["seq"]), i["detail_type"], i["source"], i["producer"], i.get("causation_id") or None, i["event_id"],
                    int(i["time_ms"]), json.loads(i["detail"]))
        for i in sorted((i for i in items if i[entry_key] != SUMMARY), key=lambda i: i[entry_key])
    ]
    by_id = {e.event_id: e for e in events}
    for e in events:
        if e.causation_id in by_id and e.producer not in by_id[e.causation_id].reacted:
            by_id[e.causation_id].reacted.append(e.producer)
    if summary is None:
        return SagaLog(saga_id, "UNKNOWN", None, None, None, None, events)
    return SagaLog(
        saga_id, summary["status"], summary.get("error_name") or None, summary.get("error_cause") or None,
        int(summary["started_ms"]) if "started_ms" in summary else None,
        int(summary["ended_ms"]) if "ended_ms" in summary else None, events,
    )


# --- on Lambda -------------------------------------------------------------------------------------

_PROJECTION: Projection | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The saga log's Lambda (``Handler: stepsaga.choreography.projection.handler``): an SQS batch of events.

    A record that fails (not a saga event, a DynamoDB error) is reported in ``batchItemFailures`` and comes back.
    """
    global _PROJECTION
    if _PROJECTION is None:
        import boto3

        from stepsaga.names import CONSUMER_CONFIG_ENV

        config = json.loads(os.environ[CONSUMER_CONFIG_ENV])
        _PROJECTION = Projection.from_config(boto3.resource("dynamodb").Table(os.environ[SAGA_LOG_TABLE_ENV]), config)
    return project_batch(_PROJECTION, event)


def project_batch(projection: Projection, event: dict[str, Any]) -> dict[str, Any]:
    """Project an SQS batch of EventBridge events; ``{"batchItemFailures": [...]}`` for the records that failed."""
    from aws_lambda_powertools.utilities.parser.models import SqsModel

    from stepsaga.choreography.events import parse_delivery

    failures, good = [], []
    for record in SqsModel.model_validate(event).Records:
        try:
            delivered = parse_delivery(str(record.body))
            good.append((record.messageId, json.loads(delivered.model_dump_json(by_alias=True))))
        except Exception as exc:  # noqa: BLE001 - a bad record comes back, then goes to the dead-letter queue
            print(json.dumps({"level": "ERROR", "message": "event not projected", "messageId": record.messageId, "error": str(exc)}))
            failures.append({"itemIdentifier": record.messageId})
    try:
        projection.project_all([e for _, e in good])
    except Exception as exc:  # noqa: BLE001 - the writes are idempotent: the whole batch comes back
        print(json.dumps({"level": "ERROR", "message": "events not projected", "error": str(exc)}))
        failures.extend({"itemIdentifier": m} for m, _ in good)
    return {"batchItemFailures": failures}
