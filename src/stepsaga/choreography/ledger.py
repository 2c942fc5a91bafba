"""The delivery ledger: each consumer takes each event once, and counts its attempts across deliveries.

EventBridge and SQS deliver at least once, so the same event can reach a consumer twice, and one SQS
message comes back after every failed attempt. One DynamoDB row per (consumer, event) — key
``<consumer>#<event_id>`` — holds what the retries need to survive a delivery:

* ``status``: ``IN_PROGRESS`` until the consumer has emitted its outcome, then ``DONE`` (a later copy of the
  event is skipped);
* ``owner``: the SQS message that holds the row (its ``messageId``), with ``lease_ms``: while the lease runs,
  a copy of the event in another message is a duplicate and is dropped — the owner's message is still in
  its queue, and comes back (or is dead-lettered) by itself. When the lease has run out (the owner went to
  the dead-letter queue), a copy takes the row over;
* ``attempt``, ``running``, ``counts`` (retries spent per retrier), ``attempts`` (each finished attempt and
  the wait after it): the step's Retry, counted once whatever the deliveries. ``running`` is set before the handler is
  called and cleared after; a delivery that finds it set knows the attempt ended without a word (the
  function's process exited) and reports it as Lambda does, ``Runtime.ExitError``;
* ``outcome``: the events to emit (and the repair record to send), written before ``PutEvents``, so that a
  delivery after a failed ``PutEvents`` emits the same events without calling the handler again.

Every write is conditional on the owner, so two deliveries never both run an attempt. Rows expire
(``expires_at``, DynamoDB TTL) after SQS's retention, when no copy of the event can arrive any more.
See docs/decisions.md for why this is not Powertools' idempotency utility.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from stepsaga.names import LEDGER_KEY, LEDGER_TTL_ATTRIBUTE

#: How long a row outlives its last write, in seconds: SQS's longest retention, 14 days.
ROW_LIFETIME_SECONDS = 14 * 24 * 60 * 60
IN_PROGRESS, DONE = "IN_PROGRESS", "DONE"


@dataclass
class Delivery:
    """A consumer's row for one event, as the ledger read it."""

    key: str
    owner: str
    status: str = IN_PROGRESS
    attempt: int = 0
    running: bool = False
    started_ms: int = 0
    request_id: str | None = None
    counts: list[int] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    outcome: dict[str, Any] | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Delivery:
        """A row as DynamoDB returns it (numbers are Decimals)."""
        return cls(
            key=item[LEDGER_KEY],
            owner=item.get("owner", ""),
            status=item.get("status", IN_PROGRESS),
            attempt=int(item.get("attempt", 0)),
            running=bool(item.get("running", False)),
            started_ms=int(item.get("started_ms", 0)),
            request_id=item.get("request_id"),
            counts=[int(c) for c in item.get("counts", [])],
            attempts=json.loads(item.get("attempts", "[]")),
            outcome=json.loads(item["outcome"]) if item.get("outcome") else None,
        )


@dataclass
class Claim:
    """What a delivery may do with an event: ``run`` it (the row is its own), or skip a ``duplicate``.

    ``duplicate`` is True when the consumer already emitted its outcome (``DONE``) or another message holds
    the row; ``row`` is the row either way.
    """

    row: Delivery
    duplicate: bool
    reason: str = ""
    started: bool = False  # the claim started the row's first attempt


class Ledger:
    """The ledger table of one consumer. ``table`` is a boto3 DynamoDB ``Table``; ``now_ms`` gives the time."""

    def __init__(self, table: Any, consumer: str, now_ms: Any) -> None:
        self.table, self.consumer, self.now_ms = table, consumer, now_ms

    def key(self, event_id: str) -> str:
        """The row key of an event for this consumer: ``<consumer>#<event_id>`` (IAM's LeadingKeys match the prefix)."""
        return f"{self.consumer}#{event_id}"

    def claim(self, event_id: str, saga_id: str, message_id: str, lease_seconds: float, counts: int, request_id: str) -> Claim:
        """Take the event's row for ``message_id``, creating it on first sight; see the module docstring.

        A new row is written with its first attempt started (``running``, attempt 1): one write for the common
        case. ``Claim.started`` says so; a row taken over or taken back has no attempt started yet.
        """
        key, now = self.key(event_id), self.now_ms()
        lease = now + int(lease_seconds * 1000)
        try:
            self.table.put_item(
                Item={
                    LEDGER_KEY: key, "consumer": self.consumer, "event_id": event_id, "saga_id": saga_id,
                    "status": IN_PROGRESS, "owner": message_id, "lease_ms": lease, "attempt": 1, "running": True,
                    "started_ms": now, "request_id": request_id, "counts": [0] * counts, "attempts": "[]",
                    LEDGER_TTL_ATTRIBUTE: self._expiry(now),
                },
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": LEDGER_KEY},
            )
            row = Delivery(key, message_id, attempt=1, running=True, started_ms=now, request_id=request_id, counts=[0] * counts)
            return Claim(row, duplicate=False, started=True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        item = self.table.get_item(Key={LEDGER_KEY: key}, ConsistentRead=True)["Item"]
        row = Delivery.from_item(item)
        if row.status == DONE:
            return Claim(row, duplicate=True, reason="already done")
        if row.owner != message_id and int(item.get("lease_ms", 0)) > now:
            return Claim(row, duplicate=True, reason=f"held by message {row.owner}")
        try:  # the owner's own redelivery, or a copy taking over a lapsed lease
            self.table.update_item(
                Key={LEDGER_KEY: key},
                UpdateExpression="SET #o = :me, lease_ms = :lease",
                ConditionExpression="#o = :was AND #s = :in_progress",
                ExpressionAttributeNames={"#o": "owner", "#s": "status"},
                ExpressionAttributeValues={":me": message_id, ":lease": lease, ":was": row.owner, ":in_progress": IN_PROGRESS},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return Claim(row, duplicate=True, reason="taken by another delivery")
        row.owner = message_id
        return Claim(row, duplicate=False)

    def start_attempt(self, row: Delivery, request_id: str, lease_seconds: float) -> None:
        """Record that attempt ``row.attempt + 1`` starts now (``running``), before the handler is called."""
        now = self.now_ms()
        row.attempt, row.running, row.started_ms, row.request_id = row.attempt + 1, True, now, request_id
        self._update(row, "SET attempt = :a, running = :t, started_ms = :now, request_id = :r, lease_ms = :lease",
                     {":a": row.attempt, ":t": True, ":now": now, ":r": request_id, ":lease": now + int(lease_seconds * 1000)})

    def record_retry(self, row: Delivery, attempt: dict[str, Any], lease_seconds: float) -> None:
        """Record a failed attempt that will be retried: the spent retries, the attempt and its wait."""
        row.running = False
        row.attempts.append(attempt)
        self._update(row, "SET running = :f, counts = :c, attempts = :a, lease_ms = :lease",
                     {":f": False, ":c": row.counts, ":a": json.dumps(row.attempts), ":lease": self.now_ms() + int(lease_seconds * 1000)})

    def record_outcome(self, row: Delivery, outcome: dict[str, Any]) -> None:
        """Record the events to emit (and the repair record), before emitting them."""
        row.running, row.outcome = False, outcome
        self._update(row, "SET running = :f, counts = :c, attempts = :a, outcome = :o",
                     {":f": False, ":c": row.counts, ":a": json.dumps(row.attempts), ":o": json.dumps(outcome, separators=(",", ":"))})

    def complete(self, row: Delivery) -> None:
        """The outcome is emitted: later copies of the event are skipped. The outcome itself is dropped."""
        row.status = DONE
        self._update(row, "SET #s = :done, #x = :expiry REMOVE outcome",
                     {":done": DONE, ":expiry": self._expiry(self.now_ms())}, {"#s": "status", "#x": LEDGER_TTL_ATTRIBUTE})

    def _update(self, row: Delivery, expression: str, values: dict[str, Any], names: dict[str, str] | None = None) -> None:
        # Only the delivery that holds the row may write it.
        self.table.update_item(
            Key={LEDGER_KEY: row.key},
            UpdateExpression=expression,
            ConditionExpression="#o = :me",
            ExpressionAttributeNames={"#o": "owner", **(names or {})},
            ExpressionAttributeValues={":me": row.owner, **values},
        )

    @staticmethod
    def _expiry(now_ms: int) -> int:
        return now_ms // 1000 + ROW_LIFETIME_SECONDS
