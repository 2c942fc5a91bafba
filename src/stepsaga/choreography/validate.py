"""The rules a saga's choreography must keep: event names and sources, and what SQS and Lambda can hold.

Event names and sources are checked for every saga (the local runtime can run any saga as a
choreography). The limits of the services a choreography deploys on are checked when the saga's
``mode`` deploys one, and by the local runtime before a choreography run (``deploy_problems``).
Standard library only: on the compile path.
"""

from __future__ import annotations

import json
import math
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from stepsaga.model import Retry, Saga

from stepsaga.choreography import limits
from stepsaga.errors import Problem
from stepsaga.lambda_timeout import TIMEOUT_MARGIN_SECONDS, function_timeout

# Event names are detail-types, schema names and parts of CloudFormation logical IDs: PascalCase words.
_EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_MAX_EVENT_NAME = 64
# A source names the producer's bounded context: printable ASCII without spaces; "aws." is AWS's own.
_SOURCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-/:]*")


def choreography_problems(saga: Saga) -> list[Problem]:
    """Every problem of the saga's events, and of its deployment limits when ``saga.mode`` deploys a choreography."""
    problems = event_problems(saga)
    if "choreography" in saga.modes and not problems:
        problems += deploy_problems(saga)
    return problems


def event_problems(saga: Saga) -> list[Problem]:
    """Names and sources of the saga's events: well-formed, and each name used once."""
    from stepsaga.choreography.plan import RESERVED_CONSUMERS, event_names

    out: list[Problem] = []
    for index, step in enumerate(saga.steps):
        for name, field in ((step.name, "name"), (getattr(step.compensation, "name", None), "compensation.name")):
            if name in RESERVED_CONSUMERS:
                out.append(Problem(saga.name, step.name, field, f"is {name!r}, the name of a consumer the choreography adds itself",
                                   f"write another name, such as {name + 'Step'!r}"))
    names = event_names(saga)
    labels: dict[str, list[str]] = {}
    for name, source, kind, state, where in names:
        labels.setdefault(name, []).append(_label(kind, state))
    for name, source, kind, state, where in names:
        if not where:  # a default: well-formed, and moved aside when defaults clash (plan.event_names)
            continue
        step, field = _owner(saga, state, where)
        if not isinstance(name, str) or not _EVENT_NAME.fullmatch(name) or len(name) > _MAX_EVENT_NAME:
            out.append(Problem(saga.name, step, field, (
                f"is {name!r}, but an event name is letters and digits starting with a letter, at most {_MAX_EVENT_NAME} "
                "characters (it is the EventBridge detail-type, the schema's name and part of resource names)"),
                f"write a past-tense PascalCase name such as {_pascal(str(name)) or 'PaymentCaptured'!r}"))
            continue
        mine = _label(kind, state)
        others = [label for label in labels[name] if label != mine]
        if others:
            out.append(Problem(saga.name, step, field, f"is {name!r}, already the name of {others[0]}",
                               "give every event of the saga its own name"))
    checked: set[str] = set()
    for name, source, kind, state, where in event_names(saga):
        if source in checked:
            continue
        checked.add(source)
        step, _ = _owner(saga, state, where)
        field = "events.source"
        if not isinstance(source, str) or not _SOURCE.fullmatch(source) or len(source) > limits.MAX_SOURCE_LENGTH:
            out.append(Problem(saga.name, step if step else None, field, (
                f"is {source!r}, but an EventBridge source is 1 to {limits.MAX_SOURCE_LENGTH} printable characters "
                "without spaces, naming the bounded context that emits the event"), "write a source such as 'shop.payments'"))
        elif source.lower().startswith("aws."):
            out.append(Problem(saga.name, step if step else None, field, f"is {source!r}, but sources starting with 'aws.' are AWS's own",
                               f"write a source of your own, such as {source[4:] or 'shop.orders'!r}"))
    return out


def deploy_problems(saga: Saga) -> list[Problem]:
    """What a choreography cannot deploy: retry waits past SQS's visibility limit, attempts past its
    ``maxReceiveCount``, consumer Lambdas past 900 s, or a consumer configuration past Lambda's 4 KB
    of environment variables."""
    from stepsaga.choreography.plan import plan

    out: list[Problem] = []
    for step in saga.steps:
        out += _consumer_problems(saga, step.name, "", saga.retries_for(step), step.timeout_seconds or saga.task_timeout_seconds,
                                  step.heartbeat_seconds)
        comp = step.compensation
        if comp is not None:
            out += _consumer_problems(saga, step.name, "compensation.", saga.compensation_retries_for(comp),
                                      comp.timeout_seconds or saga.task_timeout_seconds, comp.heartbeat_seconds)
    if out:
        return out
    from stepsaga.choreography.config import consumer_config

    the_plan = plan(saga)
    for consumer in the_plan.handlers:
        size = len(json.dumps(consumer_config(the_plan, consumer), separators=(",", ":")).encode())
        # The configuration shares the 4 KB with the table variables and the adapter's own few.
        if size > limits.MAX_ENVIRONMENT_BYTES - 1024:
            field = "compensation" if consumer.kind == "compensation" else "retry"
            out.append(Problem(saga.name, consumer.step, field, (
                f"gives the consumer {consumer.name} a configuration of {size} bytes, more than the "
                f"{limits.MAX_ENVIRONMENT_BYTES - 1024} bytes of Lambda's 4 KB of environment variables it may take"),
                "use fewer retriers or shorter event and error names"))
    return out


def _consumer_problems(saga: Saga, step: str, prefix: str, retries: Iterable[Retry], timeout: int, heartbeat: int | None) -> list[Problem]:
    out: list[Problem] = []
    retries = list(retries)
    for i, r in enumerate(retries):
        if r.max_attempts == 0:
            continue
        longest = _longest_wait(r)
        if longest > limits.MAX_VISIBILITY_TIMEOUT_SECONDS:
            wait = f"up to {longest:,.0f} s" if longest < 1e12 else "without bound"
            out.append(Problem(saga.name, step, f"{prefix}retry", (
                f"waits {wait} before a retry of {', '.join(r.errors)}, but in a choreography a retry waits in "
                f"SQS as the message's visibility timeout, at most {limits.MAX_VISIBILITY_TIMEOUT_SECONDS} s (12 hours)"),
                f"write max_delay_seconds={limits.MAX_VISIBILITY_TIMEOUT_SECONDS} or less, or fewer max_attempts"))
    attempts = 1 + sum(r.max_attempts for r in retries)
    if attempts + limits.SPARE_RECEIVES > limits.MAX_RECEIVE_COUNT:
        out.append(Problem(saga.name, step, f"{prefix}retry", (
            f"allows {attempts} attempts, but a choreography's queue dead-letters a message after at most "
            f"{limits.MAX_RECEIVE_COUNT} receives ({limits.SPARE_RECEIVES} kept for deliveries that are not attempts)"),
            f"lower max_attempts to {limits.MAX_RECEIVE_COUNT - limits.SPARE_RECEIVES - 1} in all"))
    consumer_timeout = function_timeout(timeout, heartbeat) + limits.CONSUMER_TIMEOUT_MARGIN_SECONDS
    if consumer_timeout > limits.MAX_LAMBDA_TIMEOUT_SECONDS:
        longest_task = limits.MAX_LAMBDA_TIMEOUT_SECONDS - limits.CONSUMER_TIMEOUT_MARGIN_SECONDS + TIMEOUT_MARGIN_SECONDS
        out.append(Problem(saga.name, step, f"{prefix}timeout_seconds", (
            f"gives the handler {function_timeout(timeout, heartbeat)} s, but in a choreography it runs inside its consumer "
            f"Lambda with {limits.CONSUMER_TIMEOUT_MARGIN_SECONDS} s more to record the attempt, and a Lambda runs at most "
            f"{limits.MAX_LAMBDA_TIMEOUT_SECONDS} s"),
            f"write timeout_seconds={longest_task} or less (set task_timeout_seconds on the saga for every step)"))
    return out


def _longest_wait(r: Retry) -> float:
    """The longest single wait of a retrier, without jitter: its last retry's, or MaxDelaySeconds."""
    try:
        wait = r.interval_seconds * r.backoff_rate ** (r.max_attempts - 1)
    except OverflowError:
        wait = math.inf
    return min(wait, r.max_delay_seconds) if r.max_delay_seconds else wait


_KIND_LABELS = {
    "started": "the saga's start event", "completed": "the saga's completed event", "aborted": "the saga's aborted event",
    "compensation_failed": "the saga's compensation-failed event", "step_succeeded": "the success event of {}",
    "step_failed": "the failure event of {}", "compensated": "the done event of {}",
}


def _label(kind: str, state: str | None) -> str:
    return _KIND_LABELS[kind].format(state)


def _owner(saga: Saga, state: str | None, where: str) -> tuple[str | None, str]:
    """(the step, the field) that names an event, for messages."""
    if state is None:
        return None, where
    for step in saga.steps:
        if step.name == state:
            return step.name, where
        if step.compensation is not None and step.compensation.name == state:
            return step.name, where
    return None, where


def _pascal(text: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", text) if p).lstrip("0123456789")
