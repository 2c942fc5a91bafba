"""A saga's choreography as a diagram (Mermaid, or Graphviz's DOT): producers -> domain events -> consumers.

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
parses it with mermaid's own parser when node and ``tests/mermaid`` are set up). ``--format dot|svg|png`` draws
the same `diagram` with Graphviz (``stepsaga.diagram.to_dot``). Standard library only.
https://mermaid.js.org/syntax/flowchart.html
"""

from __future__ import annotations

from stepsaga.choreography.plan import ABORTED, COMPENSATED, SAGA_EVENT_KINDS, SAGA_START, STARTED, Consumer, Plan
from stepsaga.diagram import Diagram, Edge, EdgeStyle, Ids, Node, NodeStyle, to_mermaid
from stepsaga.model import EventTrigger

#: Edge labels for a trigger's ``business_error`` filter.
FILTER_LABELS = {True: "business error", False: "other error"}
#: The ids of the nodes that are not a consumer or an event.
DLQ_NODE, ALL_EVENTS_NODE = "dead_letter_queue", "every_event"

NODE_STYLES = (
    NodeStyle("step", "#e8f0fe", "#1a73e8", "#0b2a5b"),
    NodeStyle("compensation", "#fce8e6", "#c5221f", "#5b0b0b", dashed=True),
    NodeStyle("event", "#ffffff", "#5f6368", "#202124"),
    NodeStyle("compensationEvent", "#fce8e6", "#c5221f", "#5b0b0b"),
    NodeStyle("sagaEvent", "#fef7e0", "#e37400", "#3c2300", width=2),
    NodeStyle("store", "#f1f3f4", "#5f6368", "#202124"),
    NodeStyle("producer", "#e6f4ea", "#137333", "#0d3b1e"),
)
#: The flow's edges, and the compensation chain's, dotted.
EDGE_STYLES = (EdgeStyle("flow"), EdgeStyle("compensationFlow", "dotted"))


def mermaid(plan: Plan) -> str:
    """The choreography of a saga as a Mermaid ``flowchart LR``, ending in a newline."""
    return to_mermaid(diagram(plan))


def diagram(plan: Plan) -> Diagram:
    """The choreography of a saga as a `Diagram` (``flowchart LR``), for Mermaid or Graphviz."""
    saga = plan.saga
    ids = Ids({"consumer": "c_", "event": "e_", "trigger": "t_"})
    nodes: list[Node] = []
    edges: list[Edge] = []

    def node(key: str, shape: str, label: str | tuple[str, ...], style: str) -> str:
        nid = ids.get(key)
        nodes.append(Node(nid, shape, (label,) if isinstance(label, str) else label, style))
        return nid

    def edge(source: str, target: str, label: str = "", dotted: bool = False) -> None:
        edges.append(Edge(source, target, label, "compensationFlow" if dotted else "flow"))

    # Producers of the Started event: the saga's triggers, or your own code when it has none.
    started = plan.event_of(STARTED).name
    producers: list[tuple[str, bool]] = []  # (node id, whether it feeds SagaStart rather than the Started event)
    for i, trigger in enumerate(saga.triggers):
        if isinstance(trigger, EventTrigger):
            producers.append((node(f"trigger:event{i}", "parallelogram", f"{trigger.source}: {trigger.detail_type}", "producer"), True))
        else:
            producers.append((node(f"trigger:http{i}", "parallelogram", f"{trigger.method} {trigger.path}", "producer"), False))
    if not saga.triggers:
        producers.append((node("trigger:code", "parallelogram", f"your code: PutEvents {started}", "producer"), False))

    consumer_ids: dict[str, str] = {}
    for c in plan.consumers:
        if c.kind == "step":
            consumer_ids[c.name] = node(f"consumer:{c.name}", "box", c.name + (" (retriable)" if c.dead_letters else ""), "step")
        elif c.kind == "compensation":
            consumer_ids[c.name] = node(f"consumer:{c.name}", "round", (c.name, f"undoes {c.step}"), "compensation")
        elif c.kind == "start":
            consumer_ids[c.name] = node(f"consumer:{c.name}", "box", (c.name, "starts the saga"), "step")
    event_ids: dict[str, str] = {}
    for e in plan.events:
        style = "sagaEvent" if e.kind in SAGA_EVENT_KINDS else "compensationEvent" if e.kind == COMPENSATED else "event"
        event_ids[e.name] = node(f"event:{e.name}", "stadium", e.name, style)
    if any(c.dead_letters for c in plan.consumers):
        dlq = node(DLQ_NODE, "cylinder", ("dead-letter queue", "repair records"), "store")
    log = next((c for c in plan.consumers if c.kind == "log"), None)
    if log is not None:
        every = node(ALL_EVENTS_NODE, "stadium", f"every event of {saga.name}", "sagaEvent")
        log_id = node(f"consumer:{log.name}", "cylinder", (log.name, "saga log"), "store")

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

    return Diagram(
        name=saga.name,
        direction="LR",
        comment=f"{saga.name} as a choreography: domain events on EventBridge, no orchestrator (stepsaga graph --mode choreography)",
        nodes=tuple(nodes),
        edges=tuple(edges),
        node_styles=NODE_STYLES,
        edge_styles=EDGE_STYLES,
    )


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
