"""What a local run returns: status, output, error, the states and attempts, the timeline."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from stepsaga.errors import SagaFailedError
from stepsaga.local.engine import ExecutionOutcome
from stepsaga.model import Saga
from stepsaga.names import BEGIN, COMPENSATION_FAILED, FAILED, SUCCEEDED, is_dead_letter_state


@dataclass
class Attempt:
    """One try of a Task: when (virtual seconds), after which wait, and how it ended."""

    number: int
    at: float
    waited: float = 0.0
    outcome: str = "running"  # "ok" | "error" | "timeout"
    error: str | None = None
    cause: str | None = None
    injected: str | None = None  # the fault kind that fired, if any


@dataclass
class StateRun:
    """A state as entered: its kind in the saga, when, its attempts, and how it ended."""

    name: str
    kind: str  # "step" | "compensation" | "dead_letter" | "control" | "event" (a choreography's domain event)
    type: str  # the ASL state type; "Event" for a domain event
    at: float
    attempts: list[Attempt] = field(default_factory=list)
    note: str | None = None  # what the timeline says beside it: an event's producer and the consumers it triggered

    @property
    def succeeded(self) -> bool:
        """Whether the state finished without an error: a Task's last attempt was ok.

        A Task entered but never attempted (the run stopped first) and a Fail state did not succeed.
        """
        if self.attempts:
            return self.attempts[-1].outcome == "ok"
        return self.type not in ("Task", "Fail")

    @property
    def error(self) -> str | None:
        """The error of the last attempt, if it failed (None for a state with no attempts)."""
        return None if self.succeeded or not self.attempts else self.attempts[-1].error


@dataclass
class SagaResult:
    """The outcome of one local execution of a saga."""

    saga: str
    execution: str
    status: str
    error: str | None
    cause: str | None
    raw_output: str | None
    states: list[StateRun]
    dlq: list[dict[str, Any]]
    history: list[dict[str, Any]]
    virtual_seconds: float
    wall_seconds: float
    calls: list[Any] = field(default_factory=list, repr=False)
    #: the saga's compensations in the order a full undo runs them (the reverse of the steps)
    compensation_order: list[str] = field(default_factory=list, repr=False)
    #: handlers that raised a declared business error after changing a table (stepsaga.local.contract)
    contract_violations: list[Any] = field(default_factory=list)
    #: the run was made with ``allow_contract_violations=True``: the test helpers accept violations
    contract_violations_allowed: bool = False
    #: "orchestration" (a Step Functions execution) or "choreography" (domain events; ``history`` is the saga log)
    mode: str = "orchestration"
    #: choreography: the messages the event dead-letter queue holds for this saga (undeliverable events, or
    #: messages a consumer could not process at all), each ``{"body", "attributes"}``; a saga with any is STALLED
    undelivered: list[dict[str, Any]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """Whether the execution ended SUCCEEDED."""
        return self.status == "SUCCEEDED"

    @property
    def output(self) -> Any:
        """The execution's output; raises SagaFailedError, with error and cause, if it failed."""
        if self.status != "SUCCEEDED":
            raise SagaFailedError(self.saga, self.execution, self.status, self.error, self.cause)
        return json.loads(self.raw_output) if self.raw_output else None

    @property
    def entered(self) -> list[str]:
        """The names of the states entered, in order."""
        return [s.name for s in self.states]

    @property
    def compensations(self) -> list[str]:
        """The compensations that ran and succeeded, in order (a failed one is in ``compensations_failed``)."""
        return [s.name for s in self.states if s.kind == "compensation" and s.succeeded]

    @property
    def compensations_failed(self) -> list[str]:
        """The compensations that ran and did not succeed: retries exhausted (then dead-lettered), or cut off."""
        return [s.name for s in self.states if s.kind == "compensation" and not s.succeeded]

    @property
    def compensations_pending(self) -> list[str]:
        """The compensations the saga owed but never started, because the chain stopped at a failure.

        The owed chain starts at the first compensation entered and runs to the end of
        ``compensation_order``; done and failed ones are not pending. Empty when nothing was compensated.
        """
        entered = [s.name for s in self.states if s.kind == "compensation"]
        if not entered or entered[0] not in self.compensation_order:
            return []
        owed = self.compensation_order[self.compensation_order.index(entered[0]):]
        return [name for name in owed if name not in entered]

    @property
    def steps(self) -> list[str]:
        """The saga steps entered, in order."""
        return [s.name for s in self.states if s.kind == "step"]

    def state(self, name: str) -> StateRun:
        """The (first) run of the named state."""
        for s in self.states:
            if s.name == name:
                return s
        raise KeyError(f"{name} was not entered; entered: {', '.join(self.entered)}")

    def attempts(self, name: str) -> int:
        """How many times a Task was attempted (0 if never entered)."""
        return sum(len(s.attempts) for s in self.states if s.name == name)

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` form."""
        return {
            "saga": self.saga,
            "mode": self.mode,
            "execution": self.execution,
            "status": self.status,
            "output": json.loads(self.raw_output) if self.raw_output else None,
            "error": self.error,
            "cause": self.cause,
            "states": [
                {
                    "name": s.name,
                    "kind": s.kind,
                    "at": s.at,
                    "attempts": [
                        {"number": a.number, "at": a.at, "waited": a.waited, "outcome": a.outcome, "error": a.error, "injected": a.injected}
                        for a in s.attempts
                    ],
                }
                for s in self.states
            ],
            "compensations": self.compensations,
            "compensations_failed": self.compensations_failed,
            "compensations_pending": self.compensations_pending,
            "contract_violations": [v.to_json() for v in self.contract_violations],
            "dlq": self.dlq,
            "undelivered": self.undelivered,
            "virtual_seconds": self.virtual_seconds,
        }

    def timeline(self) -> Any:
        """A rich renderable of the run: each state and attempt on the virtual clock."""
        from stepsaga.local.timeline import render

        return render(self)

    def __rich__(self) -> Any:
        return self.timeline()

    def timeline_text(self, width: int = 110) -> str:
        """The timeline as plain text."""
        from stepsaga.local.timeline import to_text

        return to_text(self, width)


def _kind(saga: Saga, name: str) -> str:
    if any(s.name == name for s in saga.steps):
        return "step"
    if any(s.compensation and s.compensation.name == name for s in saga.steps):
        return "compensation"
    if is_dead_letter_state(name):
        return "dead_letter"
    return "control"  # BeginSaga, SagaSucceeded, SagaFailed, SagaCompensationFailed


_CONTROL = (BEGIN, SUCCEEDED, FAILED, COMPENSATION_FAILED)


def build_result(
    saga: Saga,
    raw: ExecutionOutcome,
    calls: list[Any],
    dlq: list[dict[str, Any]],
    wall: float,
    violations: list[Any] | None = None,
    allow_violations: bool = False,
) -> SagaResult:
    """Fold the execution history and the virtual clock into states, attempts and times."""
    waits: dict[tuple[str | None, str], list[float]] = {}
    for state, kind, seconds in raw.clock.waits:
        waits.setdefault((state, kind), []).append(seconds)

    def take(state: str, kind: str) -> float:
        queue = waits.get((state, kind))
        return queue.pop(0) if queue else 0.0

    injected = {(c.state, c.attempt): c.injected for c in calls}
    now, states = 0.0, []
    current: StateRun | None = None
    for ev in raw.history:
        kind = ev["type"]
        if kind.endswith("StateEntered"):
            name = ev["stateEnteredEventDetails"]["name"]
            current = StateRun(name, _kind(saga, name), kind[: -len("StateEntered")], now)
            states.append(current)
            if kind == "WaitStateEntered":
                now += take(name, "wait")
        elif current is None:
            continue
        elif kind == "TaskScheduled":
            number = len(current.attempts) + 1
            waited = take(current.name, "retry") if number > 1 else 0.0
            now += waited
            current.attempts.append(Attempt(number, now, waited, injected=injected.get((current.name, number))))
        elif kind == "TaskSucceeded" and current.attempts:
            current.attempts[-1].outcome = "ok"
        elif kind in ("TaskFailed", "TaskTimedOut") and current.attempts:
            details = ev.get("taskFailedEventDetails") or ev.get("taskTimedOutEventDetails") or {}
            last = current.attempts[-1]
            last.outcome = "timeout" if kind == "TaskTimedOut" else "error"
            last.error, last.cause = details.get("error"), details.get("cause")
            # a Task timeout, or the function's own (Sandbox.Timedout, a TaskFailed)
            now += take(current.name, "timeout" if kind == "TaskTimedOut" else "function_timeout")
    return SagaResult(
        saga=saga.name,
        execution=raw.name,
        status=raw.status,
        error=raw.error,
        cause=raw.cause,
        raw_output=raw.output,
        states=states,
        dlq=dlq,
        history=raw.history,
        virtual_seconds=max(now, raw.clock.now),  # an execution timeout cuts a wait no event records
        wall_seconds=wall,
        calls=calls,
        compensation_order=[s.compensation.name for s in reversed(saga.compensatable)],  # type: ignore[union-attr]
        contract_violations=list(violations or []),
        contract_violations_allowed=allow_violations,
    )
