"""The local SQS event source mapping: a consumer's queue polled on the virtual clock, its Lambda invoked.

What Lambda's SQS event source does, kept here (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):

* it receives up to ``BatchSize`` (10) visible messages with every attribute, and invokes the function once
  with them as ``{"Records": [...]}`` in the documented record shape;
* with ``ReportBatchItemFailures`` it deletes the messages the function did not report in
  ``batchItemFailures``; the reported ones stay, and come back when their visibility timeout ends (the
  adapter sets it to a retry's wait); a function error (the process exited) deletes nothing;
* the queue's redrive policy moves a message received ``maxReceiveCount`` times to the dead-letter queue
  (moto's SQS does this on receive).

The poller wakes up when a message is sent to its queue, and when the earliest hidden message of the queue
becomes visible (``stepsaga.local._moto.sqs_clock``): no polling loop, no wall time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stepsaga.choreography.adapter import ProcessExited
from stepsaga.local._moto import sqs_clock
from stepsaga.local.bus import Scheduler
from stepsaga.local.engine import LambdaContext

#: moto shows a message once the time is past its ``visible_at`` (a float of milliseconds): the poller wakes a
#: microsecond after it, which the saga's millisecond times never show.
_PAST_VISIBLE_MS = 0.001



@dataclass
class Invocation:
    """One invocation of a consumer's Lambda by its event source, for the run's record."""

    at: float
    consumer: str
    messages: int
    failed: int
    outcome: str  # "ok" | "exited"


@dataclass
class QueuePoller:
    """The event source of one consumer: its queue and the function it invokes with a batch."""

    consumer: str
    function_name: str
    queue_url: str
    queue_arn: str
    queue_name: str
    invoke: Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
    timeout_seconds: float
    sqs: Any
    scheduler: Scheduler
    epoch: float
    account: str
    region: str
    batch_size: int = 10
    batching_window: float = 0.0  # seconds the source gathers messages before it invokes
    invocations: list[Invocation] = field(default_factory=list)
    _wake_at: float | None = None

    def delivered(self) -> None:
        """A message was sent to the queue: poll once the batching window has passed."""
        self.wake(self.scheduler.clock.now + self.batching_window)

    def wake(self, at: float | None = None) -> None:
        """Poll at virtual second ``at`` (now by default), unless a poll is already due by then."""
        when = self.scheduler.clock.now if at is None else at
        if self._wake_at is not None and self._wake_at <= when:
            return
        self._wake_at = when
        self.scheduler.at(when, lambda: self._poll(when))

    def _poll(self, scheduled: float) -> None:
        if self._wake_at != scheduled:
            return  # an earlier poll replaced this one
        self._wake_at = None
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size, AttributeNames=["All"], MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            self._next()
            return
        context = LambdaContext(
            function_name=self.function_name,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}",
            aws_request_id=str(uuid.uuid4()),
            timeout_seconds=self.timeout_seconds,
        )
        event = {"Records": [self._record(m) for m in messages]}
        try:
            result = self.invoke(event, context) or {}
        except ProcessExited:
            self.invocations.append(Invocation(self.scheduler.clock.now, self.consumer, len(messages), len(messages), "exited"))
            self._next()
            return
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        self.invocations.append(Invocation(self.scheduler.clock.now, self.consumer, len(messages), len(failed), "ok"))
        self._next()

    def _next(self) -> None:
        """Poll again now if the queue has visible messages, else when its next hidden one shows.

        The event source polls continuously; asking moto's queue directly finds what its next receive
        would, without an empty ReceiveMessage call.
        """
        if sqs_clock.visible_count(self.account, self.region, self.queue_name):
            self.wake()
            return
        now_ms = (self.epoch + self.scheduler.clock.now) * 1000
        hidden = sqs_clock.next_visible_ms(self.account, self.region, self.queue_name, now_ms)
        if hidden is not None:
            self.wake((hidden + _PAST_VISIBLE_MS) / 1000 - self.epoch)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", "0"),
                "SenderId": attributes.get("SenderId", "AIDAIENQZJOLO23YVJ4VO"),
                "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
            },
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }
