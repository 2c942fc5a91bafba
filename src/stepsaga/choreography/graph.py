"""A saga's choreography as a Mermaid flowchart: producers -> domain events -> consumers.

``stepsaga graph PATH --mode choreography`` prints it. Read from the plan (``stepsaga.choreography.plan``),
so the picture is the routing that deploys and runs locally:

* every step and compensation is a node (compensations rounded, in the compensation style); every domain
  event is a stadium, the saga's own events (Started, Completed, Aborted, CompensationFailed) in their own
  style, the compensations' done events in the compensation style;
* an edge goes from the consumer that emits an event to the event (labelled when the event is emitted on
  failure), and from the event to each consumer it triggers, labelled with the ``business_error`` filter
  (``business error`` / ``other error``); the compensation chain's edges are dotted;
* the saga's dead-letter queue (repair records) is a cylinder, with an edge from each consumer that
  dead-letters; the saga log is fed by one "every event" node rather than an edge from each event.

The text is deterministic (plan order throughout) and valid Mermaid (``tests/unit/test_choreography_graph.py``
parses it with mermaid's own parser when node and ``tests/mermaid`` are set up). Standard library only.
https://mermaid.js.org/syntax/flowchart.html
"""

from __future__ import annotations

import re

from stepsaga.choreography.plan import ABORTED, COMPENSATED, SAGA_EVENT_KINDS, SAGA_START, STARTED, Consumer, Plan
from stepsaga.model import EventTrigger

#: Edge labels for a trigger's ``business_error`` filter.
FILTER_LABELS = {True: "business error", False: "other error"}
#: The ids of the nodes that are not a consumer or an event.
DLQ_NODE, ALL_EVENTS_NODE = "dead_letter_queue", "every_event"

_STYLES = (
    ("step", "fill:#e8f0fe,stroke:#1a73e8,color:#0b2a5b"),
    ("compensation", "fill:#fce8e6,stroke:#c5221f,color:#5b0b0b,stroke-dasharray:5 3"),
    ("event", "fill:#ffffff,stroke:#5f6368,color:#202124"),
    ("compensationEvent", "fill:#fce8e6,stroke:#c5221f,color:#5b0b0b"),
    ("sagaEvent", "fill:#fef7e0,stroke:#e37400,color:#3c2300,stroke-width:2px"),
    ("store", "fill:#f1f3f4,stroke:#5f6368,color:#202124"),
    ("producer", "fill:#e6f4ea,stroke:#137333,color:#0d3b1e"),
)


def mermaid(plan: Plan) -> str:
    """The choreography of a saga as a Mermaid ``flowchart LR``, ending in a newline."""
    saga = plan.saga
    ids = _Ids()
    nodes: list[str] = []
    edges: list[str] = []
    classes: dict[str, list[str]] = {name: [] for name, _ in _STYLES}

    def node(key: str, shape: str, label: str, style: str) -> str:
        nid = ids.get(key)
        opening, closing = _SHAPES[shape]
        nodes.append(f"  {nid}{opening}{_quote(label)}{closing}")
        classes[style].append(nid)
        return nid

    def edge(source: str, target: str, label: str = "", dotted: bool = False) -> None:
        arrow = "-.->" if dotted else "-->"
        edges.append(f"  {source} {arrow}{'|' + _quote(label) + '|' if label else ''} {target}")

    # Producers of the Started event: the saga's triggers, or your own code when it has none.
    started = plan.event_of(STARTED).name
    producers: list[tuple[str, bool]] = []  # (node id, whether it feeds SagaStart rather than the Started event)
    for i, trigger in enumerate(saga.triggers):
        if isinstance(trigger, EventTrigger):
            producers.append((node(f"trigger:event{i}", "producer", f"{trigger.source}: {trigger.detail_type}", "producer"), True))
        else:
            producers.append((node(f"trigger:http{i}", "producer", f"{trigger.method} {trigger.path}", "producer"), False))
    if not saga.triggers:
        producers.append((node("trigger:code", "producer", f"your code: PutEvents {started}", "producer"), False))

    consumer_ids: dict[str, str] = {}
    for c in plan.consumers:
        if c.kind == "step":
            consumer_ids[c.name] = node(f"consumer:{c.name}", "box", c.name + (" (retriable)" if c.dead_letters else ""), "step")
        elif c.kind == "compensation":
            consumer_ids[c.name] = node(f"consumer:{c.name}", "round", f"{c.name}<br/>undoes {c.step}", "compensation")
        elif c.kind == "start":
            consumer_ids[c.name] = node(f"consumer:{c.name}", "box", f"{c.name}<br/>starts the saga", "step")
    event_ids: dict[str, str] = {}
    for e in plan.events:
        style = "sagaEvent" if e.kind in SAGA_EVENT_KINDS else "compensationEvent" if e.kind == COMPENSATED else "event"
        event_ids[e.name] = node(f"event:{e.name}", "stadium", e.name, style)
    if any(c.dead_letters for c in plan.consumers):
        dlq = node(DLQ_NODE, "cylinder", "dead-letter queue<br/>repair records", "store")
    log = next((c for c in plan.consumers if c.kind == "log"), None)
    if log is not None:
        every = node(ALL_EVENTS_NODE, "stadium", f"every event of {saga.name}", "sagaEvent")
        log_id = node(f"consumer:{log.name}", "cylinder", f"{log.name}<br/>saga log", "store")

    for producer, to_start in producers:
        edge(producer, consumer_ids[SAGA_START] if to_start else event_ids[started])
    for c in plan.consumers:
        if c.kind == "log":
            continue
        me, dotted = consumer_ids[c.name], c.kind == "compensation"
        for t in c.triggers:
            edge(event_ids[t.event], me, FILTER_LABELS.get(t.business_error, ""), dotted)  # type: ignore[arg-type]
        for name, label in _emits(plan, c):
            edge(me, event_ids[name], label, dotted)
        if c.dead_letters:
            edge(me, dlq, "fails for good: repair record")
    if log is not None:
        edge(every, log_id)

    lines = [
        "flowchart LR",
        f"  %% {saga.name} as a choreography: domain events on EventBridge, no orchestrator (stepsaga graph --mode choreography)",
        *nodes,
        *edges,
        *(f"  classDef {name} {css}" for name, css in _STYLES),
        *(f"  class {','.join(members)} {name}" for name, members in classes.items() if members),
    ]
    return "\n".join(lines) + "\n"


def _emits(plan: Plan, consumer: Consumer) -> list[tuple[str, str]]:
    """The events a consumer emits, each once, with the edge's label: when it is emitted."""
    out: dict[str, str] = {}
    for name in consumer.on_success:
        out[name] = ""
    failed = "fails for good" if consumer.dead_letters else "fails"
    for name in consumer.on_failure:
        out[name] = "succeeds or fails" if name in out else failed
    if consumer.aborts:
        aborted = plan.event_of(ABORTED).name
        kinds = {"business": "business error", "error": "other error"}
        when = kinds[consumer.aborts[0]] if len(consumer.aborts) == 1 else "fails"
        out.setdefault(aborted, f"{when}: nothing to undo")
    return list(out.items())


# Node shapes: https://mermaid.js.org/syntax/flowchart.html#node-shapes
_SHAPES = {
    "box": ("[", "]"),
    "round": ("(", ")"),
    "stadium": ("([", "])"),
    "cylinder": ("[(", ")]"),
    "producer": ("[/", "/]"),
}


def _quote(text: str) -> str:
    """A label in double quotes; characters Mermaid would read as syntax become entity codes.

    ``<br/>`` is kept: it is the line break Mermaid's labels take.
    """
    parts = text.split("<br/>")
    escaped = [re.sub(r"[#\"<>&|]", lambda m: f"#{ord(m.group())};", p) for p in parts]
    return '"' + "<br/>".join(escaped) + '"'


class _Ids:
    """Mermaid node ids from names: letters, digits and ``_``; a clash gets a number, in order of first use."""

    def __init__(self) -> None:
        self._by_key: dict[str, str] = {}
        self._used: set[str] = set()

    def get(self, key: str) -> str:
        if key in self._by_key:
            return self._by_key[key]
        kind, _, name = key.partition(":")
        prefix = {"consumer": "c_", "event": "e_", "trigger": "t_"}.get(kind, "")
        base = prefix + re.sub(r"\W", "_", name if prefix else key, flags=re.ASCII)
        nid, n = base, 2
        while nid in self._used or nid.lower() == "end":  # "end" closes a subgraph in Mermaid
            nid, n = f"{base}_{n}", n + 1
        self._used.add(nid)
        self._by_key[key] = nid
        return nid
