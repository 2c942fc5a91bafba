"""The compiled state machine as a picture: steps, the happy path, each Catch to its compensation.

``stepsaga graph PATH --format mermaid|dot|svg|png`` draws it, and ``stepsaga run --svg FILE`` draws one
execution's path on it (`stepsaga.run_path`). It is drawn from the compiled ASL, so the picture is the real
state machine: every state of the document is a node, every ``Next``, ``Choices`` rule, ``Default`` and
``Catch`` an edge. The saga model says what each state is for (`KINDS`):

* ``step`` (an action's Task, a box) and ``compensation`` (a compensation's Task, rounded and dashed, saying
  which step it undoes);
* ``dead_letter``: the SQS Task that sends a repair record (``<name>DeadLetter``), the Pass that keeps it when
  it cannot be sent (``<name>RepairRecord``) and the Fail states that end such a run (``*RecordNotSent``);
* ``control`` (``BeginSaga``), ``choice`` (``CheckSagaInput``, a rhombus), ``succeed`` and ``fail``.

Edges are drawn by what they mean (`EDGE_KINDS`): the happy path thick, a Catch dotted and labelled with
the errors it takes (catchers of one state with one target are one edge), the compensation chain in the
compensation colour, the dead-letter routes in the dead-letter colour. A document order walk makes the text
deterministic; ``tests/golden/order_saga.mmd`` and ``order_saga.dot`` are the reference saga's pictures.
Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from stepsaga.diagram import Diagram, Edge, EdgeStyle, Ids, Node, NodeStyle, to_dot, to_mermaid
from stepsaga.names import COMPENSATION_RECORD_NOT_SENT, FAILED, STEP_RECORD_NOT_SENT, repair_record_state

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stepsaga.model import Saga
    from stepsaga.run_path import RunPath

#: What a state is for, and how it is drawn: (shape, node style).
KINDS = {
    "control": ("box", "control"),
    "choice": ("rhombus", "control"),
    "step": ("box", "step"),
    "compensation": ("round", "compensation"),
    "dead_letter": ("subroutine", "deadLetter"),
    "succeed": ("stadium", "succeed"),
    "fail": ("stadium", "fail"),
}
#: The shapes of the dead-letter states that are not the SQS Task, by ASL type.
_DEAD_LETTER_SHAPES = {"Pass": "record", "Fail": "stadium"}
#: The columns Graphviz keeps straight: the happy path, and the compensation chain down to SagaFailed.
_GROUPS = {"control": "saga", "choice": "saga", "step": "saga", "succeed": "saga", "compensation": "compensations"}

NODE_STYLES = (
    NodeStyle("control", "#f1f3f4", "#5f6368", "#202124"),
    NodeStyle("step", "#e8f0fe", "#1a73e8", "#0b2a5b"),
    NodeStyle("compensation", "#fce8e6", "#c5221f", "#5b0b0b", dashed=True),
    NodeStyle("deadLetter", "#f3e8fd", "#8430ce", "#3b0a5b"),
    NodeStyle("succeed", "#e6f4ea", "#137333", "#0d3b1e", width=2),
    NodeStyle("fail", "#fad2cf", "#a50e0e", "#5b0b0b", width=2),
)
#: What an edge means, and how it is drawn.
EDGE_KINDS = (
    EdgeStyle("happy", "thick", "#1a73e8"),  # Next and Choice edges from the start through the steps to success
    EdgeStyle("rejected", "solid", "#5f6368"),  # the Choice's way out before any step: the input is not an object
    EdgeStyle("catch", "dotted", "#c5221f"),  # a step's Catch: into the compensation chain, or straight to SagaFailed
    EdgeStyle("compensation", "solid", "#c5221f", 2),  # one compensation to the next, and the last to SagaFailed
    EdgeStyle("deadLetterCatch", "dotted", "#8430ce"),  # a Catch into a dead-letter state
    EdgeStyle("deadLetter", "solid", "#8430ce"),  # from a dead-letter state to where the run ends or goes on
)


@dataclass(frozen=True, slots=True)
class State:
    """One state of the compiled machine: its name, what it is for (a key of `KINDS`), its ASL ``Type``, and
    the lines of its label."""

    name: str
    kind: str
    type: str
    label: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Transition:
    """One edge: ``how`` is ``next``, ``choice`` (a rule or the ``Default``) or ``catch``; ``label`` is the Choice
    rule, or the errors of every catcher of ``source`` that goes to ``target``; ``kind`` names an `EDGE_KINDS`."""

    source: str
    target: str
    how: str
    label: str
    kind: str


@dataclass(frozen=True, slots=True)
class StateGraph:
    """A saga's compiled machine as states and transitions, both in document order."""

    saga: str
    workflow_type: str
    start_at: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]

    def state(self, name: str) -> State:
        """The named state; KeyError when the machine has none."""
        for s in self.states:
            if s.name == name:
                return s
        raise KeyError(name)


def state_graph(saga: Saga, doc: dict[str, Any]) -> StateGraph:
    """The states and transitions of ``doc``, the saga's compiled ASL (``json.loads(to_asl(saga))``).

    Raises ValueError naming the state when the document has a transition to a state it does not define
    (the linter rejects such a document before this runs).
    """
    states = tuple(_state(saga, name, body) for name, body in doc["States"].items())
    kinds = {s.name: s.kind for s in states}
    merged: dict[tuple[str, str, str], list[str]] = {}
    for name, body in doc["States"].items():
        for how, target, label in _exits(body):
            if target not in kinds:
                raise ValueError(f"state {name}: goes to {target}, which is not a state of the machine")
            labels = merged.setdefault((name, target, how), [])
            if label and label not in labels:
                labels.append(label)
    transitions = tuple(
        Transition(source, target, how, ", ".join(labels), _edge_kind(how, kinds[source], kinds[target]))
        for (source, target, how), labels in merged.items()
    )
    return StateGraph(saga.name, saga.workflow_type, doc["StartAt"], states, transitions)


def mermaid(graph: StateGraph) -> str:
    """The machine as a Mermaid ``flowchart TB``, ending in a newline."""
    return to_mermaid(diagram(graph))


def dot(graph: StateGraph, path: RunPath | None = None) -> str:
    """The machine as Graphviz DOT, with one execution's path on it when ``path`` is given."""
    return to_dot(diagram(graph, path))


def diagram(graph: StateGraph, path: RunPath | None = None) -> Diagram:
    """The machine as a `Diagram` (``TB``). With a ``path``, the states and transitions it took are drawn in
    their own style with a wide border (``<style>Taken``), a Task that failed for good in red (``<style>Failed``),
    the attempts of a state that had a failed one written on it, the transitions numbered in the order taken,
    and everything else grey (``<style>Idle``)."""
    ids = Ids()
    nodes, edges = [], []
    taken = {s.name: s for s in path.states} if path else {}
    order = {t: i for i, t in enumerate(path.transitions, 1)} if path else {}
    for s in graph.states:
        shape, style = KINDS[s.kind]
        if s.kind == "dead_letter":
            shape = _DEAD_LETTER_SHAPES.get(s.type, shape)
        label = s.label
        if s.name in taken:
            style += "Failed" if taken[s.name].failed else "Taken"
            label += taken[s.name].notes
        elif path:
            style += "Idle"
        group = "compensations" if s.name == FAILED else _GROUPS.get(s.kind, "")
        nodes.append(Node(ids.get(s.name), shape, label, style, group))
    for t in graph.transitions:
        style, label = t.kind, t.label
        if path:
            number = order.get((t.source, t.target, t.how))
            style += "Idle" if number is None else "Taken"
            label = label if number is None else f"{number}" + (f": {label}" if label else "")
        edges.append(Edge(ids.get(t.source), ids.get(t.target), label, style))
    comment = f"{graph.saga} ({graph.workflow_type}): the compiled state machine, drawn by stepsaga graph"
    node_styles, edge_styles = (NODE_STYLES, EDGE_KINDS) if path is None else _run_styles()
    return Diagram(
        name=graph.saga,
        direction="TB",
        comment=comment if path is None else f"{graph.saga}: execution {path.execution} (stepsaga run --svg)",
        nodes=tuple(nodes),
        edges=tuple(edges),
        node_styles=node_styles,
        edge_styles=edge_styles,
        caption=path.caption if path else (),
    )


#: How what a run did not take is drawn: grey, keeping the shape, the dashes and the arrow.
_IDLE = ("#ffffff", "#bdc1c6", "#80868b")
#: How a Task that failed for good is drawn (fill, border, text), keeping its shape and dashes.
_FAILED = ("#fce8e6", "#d93025", "#a50e0e")


def _run_styles() -> tuple[tuple[NodeStyle, ...], tuple[EdgeStyle, ...]]:
    nodes = [NodeStyle(s.name + "Taken", s.fill, s.stroke, s.text, s.dashed, 3) for s in NODE_STYLES]
    nodes += [NodeStyle(s.name + "Failed", *_FAILED, s.dashed, 3) for s in NODE_STYLES]
    nodes += [NodeStyle(s.name + "Idle", *_IDLE, s.dashed) for s in NODE_STYLES]
    edges = [EdgeStyle(s.name + "Taken", s.arrow, s.color, 3) for s in EDGE_KINDS]
    edges += [EdgeStyle(s.name + "Idle", s.arrow, _IDLE[1]) for s in EDGE_KINDS]
    return tuple(nodes), tuple(edges)


def _state(saga: Saga, name: str, body: dict[str, Any]) -> State:
    """Classify a state from the saga (its steps and compensations) and its ASL."""
    kind = body["Type"]
    for step in saga.steps:
        if name == step.name:
            return State(name, "step", kind, (name, "past the point of no return") if step.retriable else (name,))
        if step.compensation and name == step.compensation.name:
            return State(name, "compensation", kind, (name, f"undoes {step.name}"))
    handlers = saga.handlers()
    if kind == "Task" and body.get("Resource", "").startswith("arn:aws:states:::sqs:"):
        return State(name, "dead_letter", kind, (name, "sends the repair record"))
    if kind == "Pass" and any(name == repair_record_state(h) for h in handlers):
        return State(name, "dead_letter", kind, (name, "keeps the record it could not send"))
    if kind == "Fail":
        error = f"Error: {body['Error']}" if "Error" in body else f"ErrorPath: {body.get('ErrorPath', '')}"
        return State(name, "dead_letter" if name in (COMPENSATION_RECORD_NOT_SENT, STEP_RECORD_NOT_SENT) else "fail", kind, (name, error))
    if kind == "Succeed":
        return State(name, "succeed", kind, (name,))
    return State(name, "choice" if kind == "Choice" else "control", kind, (name,))


def _exits(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(how, target, label) of each way out of a state, in the order ASL tries them."""
    out = []
    for rule in body.get("Choices", []):
        out.append(("choice", rule["Next"], _rule(rule)))
    if "Default" in body:
        out.append(("choice", body["Default"], "otherwise"))
    if "Next" in body:
        out.append(("next", body["Next"], ""))
    for catcher in body.get("Catch", []):
        out += [("catch", catcher["Next"], error) for error in catcher["ErrorEquals"]]
    return out


def _rule(rule: dict[str, Any]) -> str:
    """A Choice rule as text: a JSONata ``Condition`` as written, or ``Variable Operator value``."""
    if "Condition" in rule:
        return str(rule["Condition"])
    test = " ".join(f"{key} {value}" for key, value in rule.items() if key not in ("Next", "Variable", "Comment"))
    return f"{rule.get('Variable', '')} {test}".strip()


def _edge_kind(how: str, source: str, target: str) -> str:
    if "dead_letter" in (source, target):
        return "deadLetterCatch" if how == "catch" else "deadLetter"
    if how == "catch":
        return "catch"
    if source == "compensation":
        return "compensation"
    return "rejected" if target == "fail" else "happy"
