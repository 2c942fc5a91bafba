"""A saga's choreography as one JSON document a reviewer reads: ``stepsaga compile PATH --mode choreography``.

The document is the plan (``stepsaga.choreography.plan``) with what each rule and consumer is deployed with::

    {"saga": "OrderSaga", "mode": "choreography", "source": "stepsaga.order_saga",
     "events": [{"detail-type": "OrderSagaStarted", "source": "...", "kind": "started", "state": null}, ...],
     "consumers": [{"name": "ValidateOrder", "kind": "step", "step": "ValidateOrder", "action": "...",
                    "triggers": [{"event": "OrderSagaStarted", "business_error": null}],
                    "pattern": {<the rule's EventBridge event pattern>},
                    "on_success": [...], "on_failure": [...], "aborts": [...], "dead_letters": false, "pending": [], "retry": [<ASL retriers>], "handler_timeout": 60,
                    "business_errors": [...], "retriable": false}, ...,
                   {"name": "SagaLog", "kind": "log", ..., "pattern": {...}}]}

Keys come in a fixed order and the text is rendered as the committed ASL is (2-space indent, lists of
scalars on one line), so the same saga always gives the same bytes. A step's and a compensation's entries
beyond the plan are the adapter's own configuration (``stepsaga.choreography.config``): the retriers are
the orchestration's for the same step. Standard library only: on the compile path.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stepsaga.model import Saga

from stepsaga.asl.render import render
from stepsaga.choreography.config import consumer_config
from stepsaga.choreography.plan import Plan, plan, trigger_pattern
from stepsaga.model import EventTrigger

#: What the adapter's configuration adds to a step's or compensation's entry, in this order.
_CONFIG_KEYS = ("retry", "handler_timeout", "business_errors", "retriable")


def choreography_document(saga: Saga) -> dict[str, Any]:
    """The saga's choreography as plain JSON data, keys in a fixed order."""
    p = plan(saga)
    return {
        "saga": saga.name,
        "mode": "choreography",
        "source": p.source,
        "events": [{"detail-type": e.name, "source": e.source, "kind": e.kind, "state": e.state} for e in p.events],
        "consumers": [_consumer(p, c) for c in p.consumers],
    }


def to_choreography_json(saga: Saga) -> str:
    """The document as deterministic text, newline at the end."""
    return render(choreography_document(saga))


def _consumer(p: Plan, c: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": c.name, "kind": c.kind, "step": c.step, "action": c.action}
    if c.kind == "start":
        # Its rules are the saga's EventTriggers, one per trigger (each may be on its own bus).
        entry["triggers"] = [{"source": t.source, "detail-type": t.detail_type, "bus": t.bus}
                             for t in p.saga.triggers if isinstance(t, EventTrigger)]
        entry["patterns"] = [trigger_pattern(t) for t in p.saga.triggers if isinstance(t, EventTrigger)]
    else:
        entry["triggers"] = [{"event": t.event, "business_error": t.business_error} for t in c.triggers]
        entry["pattern"] = p.pattern(c)
    entry.update(on_success=list(c.on_success), on_failure=list(c.on_failure), aborts=list(c.aborts),
                 dead_letters=c.dead_letters, pending=list(c.pending))
    if c.action is not None:
        config = consumer_config(p, c)
        entry.update((key, config[key]) for key in _CONFIG_KEYS)
    return entry
