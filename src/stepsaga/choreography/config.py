"""What a consumer's adapter is told: its place in the choreography, as one small JSON document.

The template puts it in the consumer Lambda's ``STEPSAGA_CONSUMER`` environment variable and the local
runtime hands the same document to the adapter, so a consumer behaves the same in both places. The
retriers are ASL's own JSON (``ErrorEquals``, ``IntervalSeconds``, ...), exactly the orchestration's for
the same step, so both modes retry the same errors the same way. Standard library only.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stepsaga.choreography.plan import Consumer, Plan

from stepsaga.choreography.plan import ABORTED, COMPENSATION_FAILED, COMPLETED, STARTED
from stepsaga.lambda_timeout import function_timeout

#: The version of the document's shape; the adapter refuses a document it does not know.
CONFIG_VERSION = 1


def consumer_config(plan: Plan, consumer: Consumer) -> dict[str, Any]:
    """The configuration of one consumer (keys in a fixed order): a step's or compensation's adapter, the
    saga log's projection (``kinds``: each event's kind) or the start of an EventTrigger.

    ``handler_timeout`` is the seconds the handler may run before the adapter reports ``Sandbox.Timedout``:
    the same as the orchestration's Lambda ``Timeout`` for the step (``stepsaga.lambda_timeout``).
    """
    from stepsaga.orchestration import _retriers

    saga = plan.saga
    if consumer.kind in ("log", "start"):
        return service_config(plan, consumer)
    if consumer.kind == "step":
        step = saga.step(consumer.name)
        retries = saga.retries_for(step)
        timeout = function_timeout(step.timeout_seconds or saga.task_timeout_seconds, step.heartbeat_seconds)
        business = list(step.business_errors)
        retriable = step.retriable
    elif consumer.kind == "compensation":
        step = saga.step(consumer.step or "")
        comp = step.compensation
        assert comp is not None
        retries = saga.compensation_retries_for(comp)
        timeout = function_timeout(comp.timeout_seconds or saga.task_timeout_seconds, comp.heartbeat_seconds)
        business, retriable = [], False
    else:
        raise ValueError(f"{consumer.name} is a {consumer.kind} consumer, which stepsaga does not know")
    emitted = [*consumer.on_success, *consumer.on_failure]
    if consumer.aborts:
        emitted.append(plan.event_of(ABORTED).name)
    return {
        "version": CONFIG_VERSION,
        "saga": saga.name,
        "consumer": consumer.name,
        "kind": consumer.kind,
        "step": consumer.step,
        "triggers": sorted({t.event for t in consumer.triggers}),
        "retry": [r.to_json() for r in _retriers(retries)],
        "handler_timeout": timeout,
        "business_errors": business,
        "retriable": retriable,
        "on_success": list(consumer.on_success),
        "on_failure": list(consumer.on_failure),
        "aborts": list(consumer.aborts),
        "aborted": plan.event_of(ABORTED).name,
        "compensation_failed": plan.event_of(COMPENSATION_FAILED).name,
        "pending": list(consumer.pending),
        "dead_letters": consumer.dead_letters,
        "sources": {name: plan.event(name).source for name in dict.fromkeys(emitted)},
        # what the adapter validates each event against before it leaves (its kind, and the state it is about)
        "emits": [{"name": e.name, "kind": e.kind, "state": e.state} for e in (plan.event(n) for n in dict.fromkeys(emitted))],
    }


def service_config(plan: Plan, consumer: Consumer) -> dict[str, Any]:
    """The configuration of a consumer that calls no handler: the saga log (``log``) or the start (``start``).

    The start emits ``on_success`` (the saga's Started event) with the source in ``sources``; the projection
    keeps each saga's summary from the saga's own events, named under ``started``, ``completed``, ``aborted``
    and ``compensation_failed``. Its size does not grow with the saga.
    """
    if consumer.kind not in ("log", "start"):
        raise ValueError(f"{consumer.name} is a {consumer.kind} consumer: use consumer_config")
    return {
        "version": CONFIG_VERSION,
        "saga": plan.saga.name,
        "consumer": consumer.name,
        "kind": consumer.kind,
        "on_success": list(consumer.on_success),
        "started": plan.event_of(STARTED).name,
        "completed": plan.event_of(COMPLETED).name,
        "aborted": plan.event_of(ABORTED).name,
        "compensation_failed": plan.event_of(COMPENSATION_FAILED).name,
        "sources": {name: plan.event(name).source for name in consumer.on_success},
    }
