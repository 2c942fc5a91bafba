"""ASL's Retry, applied by a consumer: which retrier an error meets, and how long to wait before the next attempt.

A choreography has no state machine to retry a step, so the adapter applies the step's own retriers
(the orchestration's, as ASL JSON in the consumer's configuration) the way Step Functions does:

* the first retrier whose ``ErrorEquals`` matches the error decides; if it has spent its ``MaxAttempts``
  (retries, default 3), the step fails: later retriers are not tried;
* ``States.ALL`` matches every error but ``States.DataLimitExceeded`` and ``States.Runtime``;
  ``States.TaskFailed`` matches every error but ``States.Timeout`` (and those two);
* each retrier counts its own retries; the wait before retry *n* of a retrier is
  ``IntervalSeconds * BackoffRate ** (n - 1)`` (defaults 1 s and 2.0), capped at ``MaxDelaySeconds``, and with
  ``JitterStrategy: FULL`` a random wait between 0 and that.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html,
https://states-language.net/spec.html#retrying-after-error. Standard library only.
"""

from __future__ import annotations

import random

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

#: Errors no wildcard matches: an oversized result (the same result would come back) and an internal error.
UNMATCHED_BY_WILDCARDS = ("States.DataLimitExceeded", "States.Runtime")


def matches(error_equals: Sequence[str], error: str) -> bool:
    """Whether a retrier's (or catcher's) ``ErrorEquals`` matches an error name, as Step Functions decides."""
    if error in error_equals:
        return True
    if error in UNMATCHED_BY_WILDCARDS:
        return False
    if "States.ALL" in error_equals:
        return True
    return "States.TaskFailed" in error_equals and error != "States.Timeout"


def next_wait(retriers: Sequence[dict[str, Any]], counts: list[int], error: str, rng: random.Random | None = None) -> float | None:
    """Seconds to wait before retrying after ``error``, or None when the step has failed for good.

    ``retriers`` are ASL JSON objects; ``counts`` the retries each one has spent so far, updated in place
    when a retry is granted. ``rng`` draws the FULL jitter (default: ``random``).
    """
    for index, retrier in enumerate(retriers):
        if not matches(retrier["ErrorEquals"], error):
            continue
        spent = counts[index]
        if spent >= retrier.get("MaxAttempts", 3):
            return None
        wait = float(retrier.get("IntervalSeconds", 1)) * float(retrier.get("BackoffRate", 2.0)) ** spent
        cap = retrier.get("MaxDelaySeconds")
        if cap is not None:
            wait = min(wait, float(cap))
        if retrier.get("JitterStrategy") == "FULL":
            wait = (rng or random).uniform(0.0, wait)
        counts[index] = spent + 1
        return wait
    return None
