"""SQS on the choreography's virtual clock: visibility timeouts and delays cost no wall time.

moto's SQS reads the time through ``moto.sqs.models.unix_time`` and ``unix_time_millis`` (a message's
``visible_at``, ``delayed_until``, receive timestamps and retention, ``models.py:152-197``). While a
choreography run is active in the current context (``using(clock)``), both read the run's virtual clock;
everywhere else moto keeps the real time. ``next_visible_ms`` tells the local event source mapping when the
next hidden message of a queue becomes visible, so it can wake up then instead of polling.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Any, Final

from moto.sqs import models as _sqs_models
from moto.sqs.models import sqs_backends

from stepsaga.local._moto.run import Patch

#: The active run's clock: epoch milliseconds, as float.
_NOW_MS: contextvars.ContextVar[Callable[[], float] | None] = contextvars.ContextVar("stepsaga_sqs_clock", default=None)


@contextlib.contextmanager
def using(now_ms: Callable[[], float]) -> Iterator[None]:
    """moto's SQS reads ``now_ms()`` (epoch milliseconds) for the time inside the block, in this context."""
    token = _NOW_MS.set(now_ms)
    try:
        yield
    finally:
        _NOW_MS.reset(token)


def _millis(original: Callable[..., float], *args: Any, **kwargs: Any) -> float:
    now = _NOW_MS.get()
    return original(*args, **kwargs) if now is None or args or kwargs else now()


def _seconds(original: Callable[..., float], *args: Any, **kwargs: Any) -> float:
    now = _NOW_MS.get()
    return original(*args, **kwargs) if now is None or args or kwargs else now() / 1000.0


def next_visible_ms(account: str, region: str, queue_name: str, now_ms: float) -> float | None:
    """When the earliest message of a queue that is hidden at ``now_ms`` (in flight, or delayed) becomes
    visible, in epoch milliseconds; None when no message is hidden. moto shows a message only once the time
    is past ``visible_at`` (``models.py:189-193``): wake up just after the time returned."""
    queue = sqs_backends[account][region].get_queue(queue_name)
    times = []
    for message in queue._messages:  # models.py:256
        hidden_until = max(message.visible_at, getattr(message, "delayed_until", 0) or 0)
        if hidden_until >= now_ms:
            times.append(hidden_until)
    return min(times) if times else None


def visible_count(account: str, region: str, queue_name: str) -> int:
    """How many messages a receive could take from a queue now (visible and not delayed)."""
    queue = sqs_backends[account][region].get_queue(queue_name)
    return sum(1 for m in queue._messages if m.visible and not m.delayed)


def _wrap(kind: Callable[..., float]) -> Callable[[Any], Any]:
    def make(original: Callable[..., float]) -> Any:
        patched = functools.wraps(original)(functools.partial(kind, original))
        return patched

    return make


PATCHES: Final[tuple[Patch, ...]] = (
    (_sqs_models, "unix_time_millis", _wrap(_millis)),
    (_sqs_models, "unix_time", _wrap(_seconds)),
)
