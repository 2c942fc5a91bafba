"""The numbers of a consumer's delivery: its Lambda's timeout, its queue's visibility timeout and redrive.

The template (``stepsaga.sam``) and the local runtime both read these, so a queue redrives locally after the
receives it redrives after on AWS. Standard library only.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stepsaga.choreography.limits import (
    CONSUMER_TIMEOUT_MARGIN_SECONDS,
    MAX_LAMBDA_TIMEOUT_SECONDS,
    MAX_RECEIVE_COUNT,
    MAX_VISIBILITY_TIMEOUT_SECONDS,
    SPARE_RECEIVES,
)

#: The timeout of the consumers that call no handler of the saga (the saga log, the start), in seconds.
INTERNAL_CONSUMER_TIMEOUT_SECONDS = 30
#: Receives before a message of the saga log's or the start's queue is dead-lettered: their writes are
#: idempotent, so a message that fails this often will not succeed by itself.
INTERNAL_MAX_RECEIVE_COUNT = 5
#: AWS's advice for an SQS event source: a visibility timeout of at least six times the function's timeout.
#: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
VISIBILITY_TIMEOUT_FACTOR = 6


def consumer_timeout(config: dict[str, Any]) -> int:
    """The consumer Lambda's ``Timeout`` in seconds: the handler's timeout plus the adapter's margin."""
    if config["kind"] not in ("step", "compensation"):
        return INTERNAL_CONSUMER_TIMEOUT_SECONDS
    return min(MAX_LAMBDA_TIMEOUT_SECONDS, int(config["handler_timeout"]) + CONSUMER_TIMEOUT_MARGIN_SECONDS)


def visibility_timeout(config: dict[str, Any]) -> int:
    """The queue's ``VisibilityTimeout`` in seconds: six times the consumer's timeout, at most 12 hours."""
    return visibility_timeout_for(consumer_timeout(config))


def visibility_timeout_for(timeout: int) -> int:
    """Six times a consumer function's timeout (seconds), at most 12 hours."""
    return min(MAX_VISIBILITY_TIMEOUT_SECONDS, VISIBILITY_TIMEOUT_FACTOR * timeout)


def attempts(config: dict[str, Any]) -> int:
    """The most attempts a step or compensation makes: one, plus every retrier's ``MaxAttempts``."""
    return 1 + sum(int(r.get("MaxAttempts", 3)) for r in config.get("retry", ()))


def max_receive_count(config: dict[str, Any]) -> int:
    """The redrive policy's ``maxReceiveCount``: every attempt, and spare receives for deliveries that are not
    attempts (a PutEvents that failed after the handler returned, a duplicate that waited)."""
    if config["kind"] not in ("step", "compensation"):
        return INTERNAL_MAX_RECEIVE_COUNT
    return min(MAX_RECEIVE_COUNT, attempts(config) + SPARE_RECEIVES)


#: Messages per invocation of a step's or compensation's consumer: one, so that each attempt has the whole
#: function timeout (a batch of ten slow attempts would outlive it, and a message handed back for want of
#: time would spend a receive that is not an attempt).
HANDLER_BATCH_SIZE = 1
#: Messages per invocation of the saga log's projection and of the start: their work per message is small.
SERVICE_BATCH_SIZE = 10
#: The saga log's event source gathers events for a second before invoking the projection: one invocation
#: (and one write of a page) for the events of a saga that come close together. Steps and compensations do not
#: wait. https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html#services-sqs-batchfailurereporting
LOG_BATCHING_WINDOW_SECONDS = 1


def batch_size(config: dict[str, Any]) -> int:
    """The event source mapping's ``BatchSize`` for a consumer."""
    return HANDLER_BATCH_SIZE if config["kind"] in ("step", "compensation") else SERVICE_BATCH_SIZE


def batching_window(config: dict[str, Any]) -> int:
    """The event source mapping's ``MaximumBatchingWindowInSeconds`` for a consumer (0: invoke at once)."""
    return LOG_BATCHING_WINDOW_SECONDS if config["kind"] == "log" else 0
