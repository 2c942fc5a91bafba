"""A choreography run as a ``SagaResult``, read from the saga log: the same type as an orchestration's.

The saga log (``stepsaga.choreography.projection``) is the choreography's execution history: its events, in
causal order, say which consumer ran, with every attempt (``attempts`` of each event), and how the saga
ended. They become the result's states, each consumer a ``step`` or ``compensation`` state with its attempts
and each event an ``event`` state, so ``compensations``, ``steps``, ``attempts()``, the timeline and the
testing helpers read a choreography as they read an orchestration. A consumer that dead-lettered a repair
record is followed by a ``dead_letter`` state named as the orchestration's (``<Name>DeadLetter``).
"""

from __future__ import annotations

import json
from typing import Any

from stepsaga.choreography.plan import STEP_FAILED, Plan
from stepsaga.choreography.projection import FAILED, RUNNING, SUCCEEDED, SagaLog
from stepsaga.local.result import Attempt, SagaResult, StateRun
from stepsaga.names import dead_letter_state

#: The status of a saga whose log never reached an end: an event is in a dead-letter queue, or stuck.
STALLED = "STALLED"


def build_choreography_result(
    plan: Plan,
    log: SagaLog,
    calls: list[Any],
    dlq: list[dict[str, Any]],
    undelivered: list[dict[str, Any]],
    virtual_seconds: float,
    wall: float,
    epoch_ms: int,
    violations: list[Any] | None = None,
    allow_violations: bool = False,
) -> SagaResult:
    """Fold a saga's log into a ``SagaResult`` (times in virtual seconds since ``epoch_ms``).

    ``status`` is ``SUCCEEDED`` or ``FAILED`` as the log's summary says, or ``STALLED`` when the saga never
    ended (``undelivered`` then holds what the event dead-letter queue kept).
    """
    saga = plan.saga
    kinds = {c.name: c.kind for c in plan.consumers}
    injected = {(c.state, c.attempt): c.injected for c in calls}
    states: list[StateRun] = []

    def at(ms: int) -> float:
        return max(0.0, (ms - epoch_ms) / 1000.0)

    for event in log.events:
        detail = event.detail
        producer = event.producer
        if detail.get("attempts") and kinds.get(producer) in ("step", "compensation"):
            run = StateRun(producer, kinds[producer], "Task", at(detail["attempts"][0]["started_ms"]))
            waited = 0.0
            for a in detail["attempts"]:
                run.attempts.append(Attempt(a["number"], at(a["started_ms"]), waited, a["outcome"], a.get("error"), a.get("cause"),
                                            injected.get((producer, a["number"]))))
                waited = float(a.get("waited") or 0.0)
            states.append(run)
            if _dead_lettered(plan, event.detail_type, producer, dlq):
                states.append(StateRun(dead_letter_state(producer), "dead_letter", "Task", at(event.time_ms)))
        reacted = f" -> {', '.join(event.reacted)}" if event.reacted else ""
        states.append(StateRun(event.detail_type, "event", "Event", at(event.time_ms), note=f"from {producer}{reacted}"))
    status = {SUCCEEDED: "SUCCEEDED", FAILED: "FAILED"}.get(log.status, STALLED if log.status in (RUNNING, "UNKNOWN") else log.status)
    output = None
    if status == "SUCCEEDED" and log.last is not None:
        last = log.last.detail
        output = json.dumps({"input": last["input"], "results": last["results"], "compensated": last["compensated"]}, separators=(",", ":"))
    return SagaResult(
        saga=saga.name,
        execution=log.saga_id,
        status=status,
        error=log.error if status == "FAILED" else None,
        cause=log.cause if status == "FAILED" else None,
        raw_output=output,
        states=states,
        dlq=dlq,
        history=[{"seq": e.seq, "detail-type": e.detail_type, "source": e.source, "producer": e.producer,
                  "causation_id": e.causation_id, "event_id": e.event_id, "reacted": e.reacted, "detail": e.detail} for e in log.events],
        virtual_seconds=virtual_seconds,
        wall_seconds=wall,
        calls=calls,
        compensation_order=[s.compensation.name for s in reversed(saga.compensatable)],  # type: ignore[union-attr]
        contract_violations=list(violations or []),
        contract_violations_allowed=allow_violations,
        mode="choreography",
        undelivered=undelivered,
    )


def _dead_lettered(plan: Plan, detail_type: str, producer: str, dlq: list[dict[str, Any]]) -> bool:
    """Whether this event's producer sent a repair record with it (a retriable step's failure, a compensation's)."""
    for record in dlq:
        if record.get("step") == producer or record.get("failed_compensation") == producer:
            try:
                kind = plan.event(detail_type).kind
            except KeyError:
                return False
            return kind in (STEP_FAILED, "compensation_failed")
    return False
