"""Read a ``Saga`` back from the ASL stepsaga compiles (``stepsaga.orchestration``), or say why it cannot be read.

The reader follows the compiled shape: ``BeginSaga`` and ``CheckSagaInput``, one Lambda Task per step named
after it (``FunctionName`` ``${<Step>FunctionArn}``) chained by Next to ``SagaSucceeded``, each Catch into
the reverse compensation chain (a business-error Catch first, then ``States.DataLimitExceeded`` and
``States.ALL`` into the step's own compensation) or, for a retriable step, into its ``<Step>DeadLetter``.
From each Task it reads the step's retries (undoing the compiler's no-retry guard and the saga's transient
retry), timeouts and comment; from the dead-letter record the saga's name; from the saga id path the
workflow type. The candidates for what the ASL leaves ambiguous (the saga's transient retry, its default
task timeout and compensation retry) are tried in a fixed order, and a reading counts only when compiling it
gives ASL semantically equal to the original (``stepsaga.asl.equal``).

ASL does not hold a saga's tables, triggers, mode or events, nor a handler whose Task has a Comment of its
own; a handler is then named after the state (``tasks.<state>.handler``) and listed in ``Reading.guessed``.
"""

from __future__ import annotations

import re
from collections import Counter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stepsaga.asl.equal import differences
from stepsaga.errors import DefinitionError, LintError
from stepsaga.model import (
    DATA_LIMIT_EXCEEDED,
    DEFAULT_COMPENSATION_RETRY,
    DEFAULT_RETRIABLE_RETRY,
    DEFAULT_TRANSIENT_RETRY,
    Compensation,
    Retry,
    Saga,
    Step,
    no_retry_guard,
)
from stepsaga.names import (
    BEGIN,
    CHECK_INPUT,
    FAILED,
    SUCCEEDED,
    dead_letter_state,
    function_reference,
    snake_case,
)
from stepsaga.orchestration import LAMBDA_INVOKE, SQS_SEND, to_asl

_ACTION = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+"
# The comments the compiler writes when a step or compensation has none of its own (orchestration.py).
_PLAIN = re.compile(rf"Calls ({_ACTION})\.")
_UNDONE = re.compile(rf"Calls ({_ACTION}); undone by [A-Za-z0-9]+\.")
_RETRIABLE = re.compile(rf"Calls ({_ACTION}); past the point of no return, so a failure is dead-lettered, not compensated\.")
_UNDOES = re.compile(rf"Undoes [A-Za-z0-9]+ by calling ({_ACTION}); a no-op when there is nothing to undo\.")
_RETRIER_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy"}


class NotASaga(Exception):
    """The ASL is not stepsaga's compiled form of a saga; ``args[0]`` says why, as a sentence."""


class Reading:
    """A saga read from ASL: the ``saga``, whether its compiled ASL is byte-identical to the text read
    (``identical``), and the states whose handler had to be named after the state (``guessed``)."""

    __slots__ = ("saga", "identical", "guessed")

    def __init__(self, saga: Saga, identical: bool, guessed: tuple[str, ...]) -> None:
        self.saga, self.identical, self.guessed = saga, identical, guessed


class _Task:
    """What one step's or compensation's Task says: its comment's handler, retries, timeouts."""

    __slots__ = ("name", "state", "action", "comment", "retries", "timeout", "heartbeat")

    def __init__(self, name: str, state: dict[str, Any], pattern: re.Pattern[str], folder: str) -> None:
        self.name, self.state = name, state
        comment = state.get("Comment")
        match = pattern.fullmatch(comment) if isinstance(comment, str) else None
        self.action = match.group(1) if match else None
        self.comment = None if match else comment
        if self.action is None:
            self.action = f"{folder}.{snake_case(name)}.handler"
        self.retries = [_retry(r, name) for r in state.get("Retry", [])]
        self.timeout = state.get("TimeoutSeconds")
        self.heartbeat = state.get("HeartbeatSeconds")


def read_saga(doc: dict[str, Any], text: str, name: str) -> Reading:
    """The saga whose compiled ASL is semantically equal to ``doc`` (``text`` is its JSON text, for byte identity).

    ``name`` is the saga's name when the ASL does not hold it (a saga without a dead-letter queue).
    Raises ``NotASaga`` saying why no saga compiles to this ASL.
    """
    states = doc.get("States", {})
    if doc.get("StartAt") != BEGIN or not isinstance(states.get(BEGIN), dict) or not isinstance(states.get(CHECK_INPUT), dict):
        raise NotASaga(f"it does not start as stepsaga's compiled sagas do ({BEGIN}, then {CHECK_INPUT})")
    choices = states[CHECK_INPUT].get("Choices") or [{}]
    steps, comps = _walk(states, choices[0].get("Next"))
    saga_name = _saga_name(states) or name
    comment = doc.get("Comment")
    first = steps[0][1].state.get("Parameters", {}).get("Payload", {})
    base = {
        "comment": None if comment == f"Saga {saga_name}" else comment,
        "workflow_type": "EXPRESS" if first.get("saga_id.$") == "$$.Execution.Id" else "STANDARD",
        "timeout_seconds": doc.get("TimeoutSeconds"),
    }
    tasks = [t for _, t, _ in steps] + [c for c in comps.values()]
    timeouts = Counter(t.timeout for t in tasks)
    default_timeout = max(timeouts, key=lambda t: (timeouts[t], t == 60))
    reasons: list[str] = []
    for transient in _transient_candidates(steps):
        try:
            saga = _saga(saga_name, base, steps, comps, transient, default_timeout)
        except _Unreadable as exc:
            reasons.append(str(exc))
            continue
        except DefinitionError as exc:
            reasons.append(f"the Saga it reads as is rejected: {exc.problems[0]}")
            continue
        try:
            compiled = to_asl(saga)
        except LintError as exc:  # pragma: no cover - a readable saga compiles to clean ASL
            reasons.append(f"its Saga compiles to ASL the linter rejects: {exc.problems[0]}")
            continue
        import json

        found = differences(doc, json.loads(compiled), limit=3)
        if not found:
            guessed = tuple(t.name for t in tasks if t.comment is not None)
            return Reading(saga, compiled == text, guessed)
        reasons.append("the Saga it reads as compiles to other ASL: " + "; ".join(found))
    raise NotASaga(reasons[0] if reasons else "no step Task was found")


class _Unreadable(Exception):
    """One candidate reading does not fit the ASL."""


def _lambda_task(states: dict[str, Any], name: str) -> bool:
    state = states.get(name)
    return (
        isinstance(state, dict) and state.get("Type") == "Task" and state.get("Resource") == LAMBDA_INVOKE
        and isinstance(state.get("Parameters"), dict) and state["Parameters"].get("FunctionName") == function_reference(name)
    )


def _walk(states: dict[str, Any], first: Any) -> tuple[list[tuple[str, _Task, dict[str, Any]]], dict[str, _Task]]:
    """The steps in order, each (kind, task, routing), and the compensations by name."""
    steps: list[tuple[str, _Task, dict[str, Any]]] = []
    comps: dict[str, _Task] = {}
    entry_before, name, seen = FAILED, first, set()
    while name != SUCCEEDED:
        if name in seen or not isinstance(name, str) or not _lambda_task(states, name):
            raise NotASaga(f"state {name!r}, reached from {CHECK_INPUT} by Next, is not a step: stepsaga's steps are "
                           f"Tasks calling {LAMBDA_INVOKE} with FunctionName {function_reference(str(name))}")
        seen.add(name)
        state = states[name]
        catch = state.get("Catch", [])
        tail = catch[-2:] if len(catch) >= 2 else []
        if len(tail) != 2 or [c.get("ErrorEquals") for c in tail] != [[DATA_LIMIT_EXCEEDED], ["States.ALL"]] or tail[0].get("Next") != tail[1].get("Next"):
            raise NotASaga(f"step {name} does not end its Catch with {DATA_LIMIT_EXCEEDED} and States.ALL into one state, as stepsaga's steps do")
        target = tail[1]["Next"]
        if target == dead_letter_state(name):
            steps.append(("retriable", _Task(name, state, _RETRIABLE, "tasks"), {}))
        else:
            routing: dict[str, Any] = {"business": None}
            if len(catch) == 3:
                if catch[0].get("Next") != entry_before:
                    raise NotASaga(f"step {name}'s first Catch goes to {catch[0].get('Next')!r}, not to {entry_before}, where a business error of it would go")
                routing["business"] = list(catch[0].get("ErrorEquals", []))
            elif len(catch) != 2:
                raise NotASaga(f"step {name} has {len(catch)} Catch entries; stepsaga's steps have 2, or 3 with business errors")
            if target != entry_before:
                if not _lambda_task(states, target):
                    raise NotASaga(f"step {name}'s Catch goes to {target!r}, which is not a compensation Task")
                routing["compensation"] = target
                comps[target] = _Task(target, states[target], _UNDOES, "compensations")
            steps.append(("compensated" if target != entry_before else "plain", _Task(name, state, _UNDONE if target != entry_before else _PLAIN, "tasks"), routing))
            entry_before = target
        name = state.get("Next")
    if not steps:
        raise NotASaga(f"{CHECK_INPUT} leads to no step")
    return steps, comps


def _saga_name(states: dict[str, Any]) -> str | None:
    for state in states.values():
        if isinstance(state, dict) and state.get("Resource") == SQS_SEND:
            body = state.get("Parameters", {}).get("MessageBody", {})
            if isinstance(body, dict) and isinstance(body.get("saga"), str):
                return body["saga"]
    return None


def _retry(r: Any, state: str) -> Retry:
    if not isinstance(r, dict) or set(r) - _RETRIER_FIELDS or "ErrorEquals" not in r:
        raise NotASaga(f"state {state} has a retrier with fields a stepsaga Retry does not write")
    return Retry(
        list(r["ErrorEquals"]),
        interval_seconds=r.get("IntervalSeconds", 1),
        max_attempts=r.get("MaxAttempts", 3),
        backoff_rate=r.get("BackoffRate", 2.0),
        max_delay_seconds=r.get("MaxDelaySeconds"),
        jitter=r.get("JitterStrategy"),
    )


def _is_guard(r: Retry) -> bool:
    return r.max_attempts == 0 and r.interval_seconds == 1 and r.backoff_rate == 2.0 and r.max_delay_seconds is None and r.jitter is None


def _unguard(retries: list[Retry], business: list[str] | None) -> list[tuple[list[Retry], list[str]]]:
    """The readings of a Task's retriers as (the retries before the compiler's no-retry guard, the business errors
    the guard shows): a first ``MaxAttempts: 0`` retrier may be the guard (``no_retry_guard``) or the user's own."""
    out = []
    if retries and _is_guard(retries[0]):
        rest = retries[1:]
        errors = business if business is not None else [e for e in retries[0].errors if e != DATA_LIMIT_EXCEEDED]
        if list(no_retry_guard(rest, errors)) == retries:
            out.append((rest, errors))
    errors = business or []
    if list(no_retry_guard(retries, errors)) == retries:
        out.append((retries, errors))
    if not out:
        raise _Unreadable("its retriers are not what a stepsaga step's retries compile to")
    return out


def _own_retries(task: _Task, business: list[str] | None, transient: Retry | None) -> tuple[list[Retry], list[str]]:
    """A step's own retries and business errors: the first reading of its retriers the DSL accepts (a business
    error is never one of the step's own retries)."""
    for rest, errors in _unguard(task.retries, business):
        try:
            own = _untransient(rest, transient, task.name)
        except _Unreadable:
            continue
        if not set(errors) & {e for r in own for e in r.errors}:
            return own, errors
    raise _Unreadable(f"step {task.name}'s retriers are not what a stepsaga step's retries compile to")


def _untransient(retries: list[Retry], transient: Retry | None, state: str) -> list[Retry]:
    """A step's own retries, without the saga's transient retry the compiler appended (``Saga.retries_for``)."""
    catch_all = [r for r in retries if "States.ALL" in r.errors]
    specific = [r for r in retries if "States.ALL" not in r.errors]
    if retries != specific + catch_all:
        raise _Unreadable(f"step {state} retries States.ALL before other errors, which a stepsaga step never does")
    if transient is None:
        return retries
    t = transient
    if specific:
        covered = {e for r in specific[:-1] for e in r.errors}
        left = [e for e in t.errors if e not in covered]
        if left and specific[-1] == Retry(left, t.interval_seconds, t.max_attempts, t.backoff_rate, t.max_delay_seconds, t.jitter):
            return specific[:-1] + catch_all
    covered = {e for r in specific for e in r.errors}
    if any(e not in covered for e in t.errors):
        raise _Unreadable(f"step {state} does not retry the saga's transient errors")
    return retries


def _transient_candidates(steps: list[tuple[str, _Task, dict[str, Any]]]) -> list[Retry | None]:
    """The saga's transient retry: the default first, then each step's last specific retrier (most errors first), then none."""
    seen: list[Retry | None] = [DEFAULT_TRANSIENT_RETRY]
    found = []
    for _, task, routing in steps:
        specific = [r for r in task.retries if "States.ALL" not in r.errors and not _is_guard(r)]
        if specific and specific[-1] not in found:
            found.append(specific[-1])
    for r in sorted(found, key=lambda r: -len(r.errors)):
        if r not in seen:
            seen.append(r)
    seen.append(None)
    return seen


def _most_common(values: list[tuple[Retry, ...]], default: tuple[Retry, ...]) -> tuple[Retry, ...]:
    if not values:
        return default
    counts = Counter(values)
    return max(counts, key=lambda v: (counts[v], v == default))


def _saga(name: str, base: dict[str, Any], steps: list[tuple[str, _Task, dict[str, Any]]], comps: dict[str, _Task],
          transient: Retry | None, default_timeout: Any) -> Saga:
    comp_retry = {c: tuple(_unguard(t.retries, None)[0][0]) for c, t in comps.items()}
    saga_comp_retry = _most_common(list(comp_retry.values()), (DEFAULT_COMPENSATION_RETRY,))
    own: dict[str, tuple[list[Retry], list[str]]] = {}
    for kind, task, routing in steps:
        own[task.name] = _own_retries(task, routing.get("business"), transient)
    retriable_own = [own[t.name][0] for kind, t, _ in steps if kind == "retriable"]
    retriable_default: tuple[Retry, ...] = () if any(not r for r in retriable_own) else (DEFAULT_RETRIABLE_RETRY,)

    def timeouts(task: _Task) -> dict[str, Any]:
        return {"timeout_seconds": None if task.timeout == default_timeout else task.timeout, "heartbeat_seconds": task.heartbeat}

    built = []
    for kind, task, routing in steps:
        retries, business = own[task.name]
        if kind == "retriable" and tuple(retries) == retriable_default:
            retries = []
        compensation = None
        if routing.get("compensation"):
            c = comps[routing["compensation"]]
            compensation = Compensation(c.name, c.action, retry=None if comp_retry[c.name] == saga_comp_retry else list(comp_retry[c.name]),
                                        comment=c.comment, **timeouts(c))
        built.append(Step(task.name, task.action, compensation=compensation, retry=retries, business_errors=business,
                          retriable=kind == "retriable", comment=task.comment, **timeouts(task)))
    if not isinstance(default_timeout, int):
        raise _Unreadable("its Tasks have no TimeoutSeconds, which every stepsaga Task has")
    return Saga(name, built, task_timeout_seconds=default_timeout, transient_retry=transient,
                compensation_retry=list(saga_comp_retry), retriable_retry=list(retriable_default), **base)
