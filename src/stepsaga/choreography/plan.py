"""Saga -> its choreography: the domain events, who reacts to which, and what each reaction emits.

This is the one description of the choreography that the template (``stepsaga.sam``), the handler
adapter (``stepsaga.choreography.adapter``), the local bus, the schemas, ``stepsaga graph`` and
``stepsaga cost`` all read, so that what deploys is what runs locally. The routing is the orchestration's
(``stepsaga.orchestration``), event by event:

* step 1 reacts to ``<Saga>Started``; step *i* to step *i-1*'s success event, and also to its failure
  event when step *i-1* is retriable (past the point of no return, a failure is dead-lettered and the
  saga goes on);
* a step that fails for good emits its failure event, with ``business_error`` true for a declared
  business error. A business error compensates the steps before it; any other error compensates the
  failed step too. The compensation where that chain starts reacts to the failure event, filtered on
  ``business_error`` where the two kinds start in different places; when there is nothing to undo, the
  failing step also emits ``<Saga>Aborted``;
* every compensation but the last in the chain is followed by the next one, which reacts to its done
  event; the last (the earliest step's) also emits ``<Saga>Aborted``. A compensation that fails for good
  sends a repair record to the saga's dead-letter queue and emits ``<Saga>CompensationFailed``: the chain
  stops, as in orchestration;
* the last step emits ``<Saga>Completed`` after its success event (or its failure event, when it is
  retriable and dead-lettered);
* the saga log (``SagaLog``) reacts to every event of the saga.

Every pattern also matches ``detail.saga``, so sagas that share a bus or a source never trigger each
other. Standard library only: on the compile path.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stepsaga._record import Record
from stepsaga.choreography import naming
from stepsaga.model import Compensation, Saga, Step

#: The consumer that projects every event of a saga into its log (the CQRS read side).
SAGA_LOG = "SagaLog"
#: The consumer that turns an EventTrigger's event into the saga's Started event.
SAGA_START = "SagaStart"
#: Consumer names that are not steps or compensations; steps may not take them.
RESERVED_CONSUMERS = (SAGA_LOG, SAGA_START)

#: The kinds of domain event, by what they say happened.
STARTED, STEP_SUCCEEDED, STEP_FAILED, COMPENSATED, COMPLETED, ABORTED, COMPENSATION_FAILED = (
    "started", "step_succeeded", "step_failed", "compensated", "completed", "aborted", "compensation_failed",
)
SAGA_EVENT_KINDS = (STARTED, COMPLETED, ABORTED, COMPENSATION_FAILED)


class EventSpec(Record):
    """One domain event of a saga: its ``detail-type`` and ``source``, what it says, and about which state.

    ``state`` is the step or compensation the event is about (None for the saga's own events).
    """

    __slots__ = ("name", "source", "kind", "state")
    name: str
    source: str
    kind: str
    state: str | None

    def __init__(self, name: str, source: str, kind: str, state: str | None = None) -> None:
        self._init(name=name, source=source, kind=kind, state=state)


class Trigger(Record):
    """An event a consumer reacts to; ``business_error`` filters a failure event (None: either kind)."""

    __slots__ = ("event", "business_error")
    event: str
    business_error: bool | None

    def __init__(self, event: str, business_error: bool | None = None) -> None:
        self._init(event=event, business_error=business_error)


class Consumer(Record):
    """One reaction: a step's action, a compensation, the saga log, or the start of an EventTrigger.

    ``on_success`` are the events emitted, in order, when the handler returns. For a step, ``on_failure``
    holds its failure event, then ``<Saga>Completed`` when it is the last and retriable; ``aborts`` says for
    which kind of failure (``"business"``, ``"error"``) the step also emits ``<Saga>Aborted`` because there
    is nothing to undo. For a compensation, ``on_failure`` is ``(<Saga>CompensationFailed,)`` and
    ``pending`` the chain from it to the end (what a repair record lists as left to undo).
    """

    __slots__ = ("name", "kind", "step", "action", "triggers", "on_success", "on_failure", "aborts", "pending", "dead_letters")
    name: str
    kind: str  # "step" | "compensation" | "log" | "start"
    step: str | None  # the step it acts for (a compensation's: the step it undoes)
    action: str | None  # the dotted handler path; None for the saga log and the start
    triggers: tuple[Trigger, ...]
    on_success: tuple[str, ...]
    on_failure: tuple[str, ...]
    aborts: tuple[str, ...]
    pending: tuple[str, ...]
    dead_letters: bool  # a failure for good sends a repair record to the saga's dead-letter queue

    def __init__(
        self,
        name: str,
        kind: str,
        step: str | None,
        action: str | None,
        triggers: tuple[Trigger, ...],
        on_success: tuple[str, ...] = (),
        on_failure: tuple[str, ...] = (),
        aborts: tuple[str, ...] = (),
        pending: tuple[str, ...] = (),
        dead_letters: bool = False,
    ) -> None:
        self._init(
            name=name, kind=kind, step=step, action=action, triggers=triggers, on_success=on_success,
            on_failure=on_failure, aborts=aborts, pending=pending, dead_letters=dead_letters,
        )


class Plan(Record):
    """A saga's whole choreography: every event (in a fixed order) and every consumer (steps, compensations, log)."""

    __slots__ = ("saga", "events", "consumers")
    saga: Saga
    events: tuple[EventSpec, ...]
    consumers: tuple[Consumer, ...]

    def __init__(self, saga: Saga, events: tuple[EventSpec, ...], consumers: tuple[Consumer, ...]) -> None:
        self._init(saga=saga, events=events, consumers=consumers)

    def event(self, name: str) -> EventSpec:
        """The event with this ``detail-type``; KeyError if the saga has none."""
        for e in self.events:
            if e.name == name:
                return e
        raise KeyError(name)

    def event_of(self, kind: str, state: str | None = None) -> EventSpec:
        """The event of a kind (and state, for a step's or compensation's event)."""
        for e in self.events:
            if e.kind == kind and e.state == state:
                return e
        raise KeyError((kind, state))

    def consumer(self, name: str) -> Consumer:
        """The consumer with this name; KeyError if there is none."""
        for c in self.consumers:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def handlers(self) -> tuple[Consumer, ...]:
        """The consumers that call a handler of the saga: its steps and compensations."""
        return tuple(c for c in self.consumers if c.action is not None)

    @property
    def source(self) -> str:
        """The saga's own source: the source of ``<Saga>Started`` and the saga's other own events."""
        return self.event_of(STARTED).source

    def reactions(self, event: str) -> tuple[Consumer, ...]:
        """The consumers an event can trigger, in plan order (a failure event's filter aside)."""
        return tuple(c for c in self.consumers if any(t.event == event for t in c.triggers))

    def pattern(self, consumer: Consumer) -> dict[str, Any]:
        """The EventBridge event pattern of a consumer's rule.

        ``{"source": [...], "detail-type": [...], "detail": {"saga": [<Saga>]}}``, with a ``$or`` of one
        branch per ``business_error`` filter when the consumer's triggers filter differently.
        https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
        """
        sources = sorted({self.event(t.event).source for t in consumer.triggers})
        if consumer.kind == "log":  # every event of the saga: no list of detail-types to outgrow PutRule's size
            return {"source": sources, "detail": {"saga": [self.saga.name]}}
        groups: dict[bool | None, list[str]] = {}
        for t in consumer.triggers:
            groups.setdefault(t.business_error, []).append(t.event)
        pattern: dict[str, Any] = {"source": sources}
        if len(groups) == 1:
            [(flag, names)] = groups.items()
            pattern["detail-type"] = names
            pattern["detail"] = _detail_filter(self.saga.name, flag)
            return pattern
        pattern["detail"] = {"saga": [self.saga.name]}
        pattern["$or"] = [
            {"detail-type": names, **({"detail": {"business_error": [flag]}} if flag is not None else {})}
            for flag, names in sorted(groups.items(), key=lambda kv: (kv[0] is not None, kv[0] is True))
        ]
        return pattern


def _detail_filter(saga: str, business_error: bool | None) -> dict[str, Any]:
    out: dict[str, Any] = {"saga": [saga]}
    if business_error is not None:
        out["business_error"] = [business_error]
    return out


# --- event names ------------------------------------------------------------------------------


def saga_source(saga: Saga) -> str:
    """The saga's own EventBridge source: ``SagaEvents.source``, else ``stepsaga.<saga_in_snake_case>``."""
    given = saga.events.source if saga.events is not None else None
    return given or naming.default_source(saga.name)


def step_source(saga: Saga, step: Step) -> str:
    """The source of a step's and its compensation's events: its ``StepEvents.source``, else the saga's."""
    given = step.events.source if step.events is not None else None
    return given or saga_source(saga)


def event_names(saga: Saga) -> list[tuple[str, str, str, str | None, str]]:
    """Every event as (name, source, kind, state, where the name comes from), in plan order.

    ``where`` is the definition field that names the event (``events.succeeded``, ``compensation.done_event``,
    ``events.started``, ...) when the user wrote it, else ``""`` for a default. A default failure or success
    name shared by two steps (``ProcessPayment`` and ``CapturePayment`` both give ``PaymentFailed``) falls back
    to the step's whole name (``CapturePaymentFailed``) for both, so defaults never clash.
    """
    own = saga.events or None

    def given(record: Any, attr: str) -> str | None:
        return getattr(record, attr, None) if record is not None else None

    defaults: list[tuple[str, str, str, str | None, str, str]] = []  # name, source, kind, state, where, fallback
    defaults.append((given(own, "started") or naming.saga_event(saga.name, "Started"), saga_source(saga), STARTED, None,
                     "events.started" if given(own, "started") else "", ""))
    for step in saga.steps:
        source = step_source(saga, step)
        for kind, attr, default, fallback in (
            (STEP_SUCCEEDED, "succeeded", naming.succeeded_event(step.name), f"{step.name}Succeeded"),
            (STEP_FAILED, "failed", naming.failed_event(step.name), f"{step.name}Failed"),
        ):
            name = given(step.events, attr)
            defaults.append((name or default, source, kind, step.name, f"events.{attr}" if name else "", fallback))
    for step in reversed(saga.compensatable):
        comp = step.compensation
        assert comp is not None
        defaults.append((comp.done_event or naming.done_event(comp.name), step_source(saga, step), COMPENSATED, comp.name,
                         "compensation.done_event" if comp.done_event else "", f"{comp.name}Done"))
    for kind, attr, what in ((COMPLETED, "completed", "Completed"), (ABORTED, "aborted", "Aborted"),
                             (COMPENSATION_FAILED, "compensation_failed", "CompensationFailed")):
        name = given(own, attr)
        defaults.append((name or naming.saga_event(saga.name, what), saga_source(saga), kind, None, f"events.{attr}" if name else "", ""))

    # Defaults that clash with each other take their fallbacks; a written name never changes, and one that
    # clashes with any other name is the definition's problem (stepsaga.choreography.validate).
    counts: dict[str, int] = {}
    for name, _source, _kind, _state, where, _fallback in defaults:
        if not where:
            counts[name] = counts.get(name, 0) + 1
    out = []
    for name, source, kind, state, where, fallback in defaults:
        if not where and fallback and counts[name] > 1:
            name = fallback
        out.append((name, source, kind, state, where))
    return out


# --- the plan ---------------------------------------------------------------------------------


def plan(saga: Saga) -> Plan:
    """The choreography of a (validated) saga: its events and its consumers, in a fixed order.

    Consumers come in saga order: the steps, then the compensations in the order a full undo runs them,
    then the saga log (and ``SagaStart`` when the saga has an EventTrigger).
    """
    from stepsaga.model import EventTrigger

    specs = tuple(EventSpec(name, source, kind, state) for name, source, kind, state, _ in event_names(saga))
    by = {(e.kind, e.state): e.name for e in specs}
    started, completed, aborted = by[(STARTED, None)], by[(COMPLETED, None)], by[(ABORTED, None)]
    comp_failed = by[(COMPENSATION_FAILED, None)]
    steps = list(saga.steps)
    chain = [s.compensation for s in reversed(saga.compensatable)]  # the order a full undo runs them
    assert all(c is not None for c in chain)

    # Where compensation starts for each failing step: (business entry, other entry), a compensation name or None.
    entries: dict[str, tuple[str | None, str | None]] = {}
    before: str | None = None
    for step in steps:
        own = step.compensation.name if step.compensation else before
        entries[step.name] = (before, own)
        before = own

    comp_triggers: dict[str, list[Trigger]] = {c.name: [] for c in chain}  # type: ignore[union-attr]
    consumers: list[Consumer] = []
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if i == 0:
            triggers: tuple[Trigger, ...] = (Trigger(started),)
        else:
            prev = steps[i - 1]
            triggers = (Trigger(by[(STEP_SUCCEEDED, prev.name)]),)
            if prev.retriable:
                triggers += (Trigger(by[(STEP_FAILED, prev.name)]),)
        succeeded, failed = by[(STEP_SUCCEEDED, step.name)], by[(STEP_FAILED, step.name)]
        on_success = (succeeded, completed) if last else (succeeded,)
        if step.retriable:
            consumers.append(Consumer(step.name, "step", step.name, step.action, triggers, on_success,
                                      (failed, completed) if last else (failed,), dead_letters=True))
            continue
        business, other = entries[step.name]
        aborts = tuple(kind for kind, entry in (("business", business), ("error", other)) if entry is None)
        if business is not None and business == other:
            comp_triggers[business].append(Trigger(failed))
        else:
            if business is not None:
                comp_triggers[business].append(Trigger(failed, True))
            if other is not None:
                comp_triggers[other].append(Trigger(failed, False))
        consumers.append(Consumer(step.name, "step", step.name, step.action, triggers, on_success, (failed,), aborts))

    undone_step = {s.compensation.name: s.name for s in saga.compensatable}  # type: ignore[union-attr]
    for k, comp in enumerate(chain):
        assert isinstance(comp, Compensation)
        done = by[(COMPENSATED, comp.name)]
        if k + 1 < len(chain):
            nxt = chain[k + 1]
            assert nxt is not None
            comp_triggers[nxt.name].insert(0, Trigger(done))
        on_success = (done, aborted) if k + 1 == len(chain) else (done,)
        pending = tuple(c.name for c in chain[k:])  # type: ignore[union-attr]
        consumers.append(Consumer(comp.name, "compensation", undone_step[comp.name], comp.action, (), on_success,
                                  (comp_failed,), pending=pending, dead_letters=True))
    # The triggers of each compensation are known once every step and compensation is placed.
    consumers = [c.replace(triggers=tuple(comp_triggers[c.name])) if c.kind == "compensation" else c for c in consumers]
    consumers.append(Consumer(SAGA_LOG, "log", None, None, tuple(Trigger(e.name) for e in specs)))
    if any(isinstance(t, EventTrigger) for t in saga.triggers):
        consumers.append(Consumer(SAGA_START, "start", None, None, (), (started,)))
    return Plan(saga, specs, tuple(consumers))


def trigger_pattern(trigger: Any) -> dict[str, Any]:
    """The event pattern of an EventTrigger's rule: its source and detail-type, and its own filters.

    ``{"source": [source], "detail-type": [detail_type], **trigger.pattern}``; the trigger's ``pattern``
    may not set ``source`` or ``detail-type`` itself (the model rejects that).
    """
    out: dict[str, Any] = {"source": [trigger.source], "detail-type": [trigger.detail_type]}
    out.update(trigger.pattern or {})
    return out
