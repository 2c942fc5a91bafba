"""The Lambda ``Timeout`` of a step's function, always shorter than its Task's deadline.

When a Task times out, Step Functions stops waiting but the Lambda keeps running: a payment handler
could then write *after* its compensation ran. So the function must be stopped by Lambda before the
Task can time out. The Task's clock starts before Lambda's: a cold start's Init phase (extensions,
runtime, the module's top-level code) may take up to 10 seconds and is not counted in the function's
timeout, and the invoke itself takes time. Hence the function gets the Task's deadline minus the Init
limit minus one second for the call (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).

A Task's deadline is its ``TimeoutSeconds``, or its ``HeartbeatSeconds`` when that is shorter: a Lambda
invoked with ``arn:aws:states:::lambda:invoke`` has no task token and never sends a heartbeat.

Only the standard library: the model checks these bounds on the compile path.
"""

from __future__ import annotations

#: Lambda's limit on the Init phase of an on-demand function, outside the function's own timeout.
LAMBDA_INIT_LIMIT_SECONDS = 10
#: Slack for the invoke call between Step Functions and Lambda.
INVOKE_SLACK_SECONDS = 1
#: How much shorter than its Task's deadline a function's timeout is.
TIMEOUT_MARGIN_SECONDS = LAMBDA_INIT_LIMIT_SECONDS + INVOKE_SLACK_SECONDS
#: Lambda's range for a function timeout.
LAMBDA_MIN_TIMEOUT_SECONDS = 1
LAMBDA_MAX_TIMEOUT_SECONDS = 900
#: The shortest Task deadline that leaves a function at least a one-second timeout.
MIN_TASK_DEADLINE_SECONDS = TIMEOUT_MARGIN_SECONDS + LAMBDA_MIN_TIMEOUT_SECONDS


def task_deadline(timeout_seconds: int, heartbeat_seconds: int | None = None) -> int:
    """Seconds after which Step Functions fails the Task: its timeout, or a shorter heartbeat."""
    return min(timeout_seconds, heartbeat_seconds) if heartbeat_seconds else timeout_seconds


def function_timeout(timeout_seconds: int, heartbeat_seconds: int | None = None) -> int:
    """The Lambda ``Timeout`` (seconds) for a Task with this timeout and heartbeat.

    Raises ValueError when the deadline is shorter than ``MIN_TASK_DEADLINE_SECONDS``; the model
    rejects such definitions first.
    """
    deadline = task_deadline(timeout_seconds, heartbeat_seconds)
    if deadline < MIN_TASK_DEADLINE_SECONDS:
        raise ValueError(f"a Task deadline of {deadline} s leaves its function no timeout; use {MIN_TASK_DEADLINE_SECONDS} s or more")
    return min(deadline - TIMEOUT_MARGIN_SECONDS, LAMBDA_MAX_TIMEOUT_SECONDS)


def deadline_problems(value: object, where: str, what: str) -> list[tuple[str, str, str]]:
    """(field, what is wrong, what to write instead) when a Task deadline is too short for its function."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value < MIN_TASK_DEADLINE_SECONDS:
        return [(where, (
            f"is {value}, too short for the Lambda behind the Task: its function must time out first, "
            f"{TIMEOUT_MARGIN_SECONDS} s earlier (a cold start may take {LAMBDA_INIT_LIMIT_SECONDS} s before the "
            f"function's own timeout starts), or it could still write after Step Functions timed the {what} out and moved on"
        ), f"write {where.rsplit('.', 1)[-1]}={MIN_TASK_DEADLINE_SECONDS} or more")]
    return []
