"""The pictures ``stepsaga graph`` and ``stepsaga run --svg`` draw, in each format.

``stepsaga graph PATH --format F`` draws the compiled state machine (`stepsaga.state_graph`) or, with
``--mode choreography``, the event flow (`stepsaga.choreography.graph`): ``mermaid`` and ``dot`` are text,
``svg`` and ``png`` are Graphviz's drawing of the DOT text (`stepsaga.dot`). ``text`` is the outline of
`stepsaga.graph`, for the orchestration only. ``stepsaga run --svg FILE`` draws one orchestration run's path
on the machine's picture (`stepsaga.run_path`). ``graph`` imports nothing beyond the standard library.
"""

from __future__ import annotations

import json

from stepsaga.diagram import Diagram, to_dot, to_mermaid

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stepsaga.model import Saga
    from stepsaga.state_graph import StateGraph

#: What ``stepsaga graph --format`` takes; ``text`` is the default of the orchestration, ``mermaid`` of the choreography.
FORMATS = ("text", "mermaid", "dot", "svg", "png")
#: The format an output file's extension names, when ``--format`` is not given.
EXTENSIONS = {".txt": "text", ".mmd": "mermaid", ".mermaid": "mermaid", ".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}
#: The extension of a file of each format.
SUFFIXES = {"text": ".txt", "mermaid": ".mmd", "dot": ".dot", "svg": ".svg", "png": ".png"}


def format_of(path: str) -> str | None:
    """The format a file name's extension names (``order.svg`` -> ``svg``), or None for any other name."""
    dot = path.rfind(".")
    return EXTENSIONS.get(path[dot:].lower()) if dot > max(path.rfind("/"), path.rfind("\\")) else None


def machine(saga: Saga) -> StateGraph:
    """The saga's compiled state machine as a graph; raises LintError if the compiled ASL is rejected."""
    from stepsaga.orchestration import to_asl
    from stepsaga.state_graph import state_graph

    return state_graph(saga, json.loads(to_asl(saga)))


def saga_diagram(saga: Saga, mode: str) -> Diagram:
    """The picture of one mode of a saga: ``orchestration`` (its state machine) or ``choreography`` (its events)."""
    if mode == "choreography":
        from stepsaga.choreography.graph import diagram
        from stepsaga.choreography.plan import plan

        return diagram(plan(saga))
    from stepsaga.state_graph import diagram as machine_diagram

    return machine_diagram(machine(saga))


def draw(diagram: Diagram, fmt: str) -> bytes:
    """The diagram in a format of `FORMATS` but ``text``: Mermaid or DOT as UTF-8 text, or Graphviz's SVG or PNG.

    Raises GraphvizError when svg or png cannot be drawn (``dot`` missing or failing).
    """
    if fmt == "mermaid":
        return to_mermaid(diagram).encode("utf-8")
    if fmt == "dot":
        return to_dot(diagram).encode("utf-8")
    from stepsaga.dot import render

    return render(to_dot(diagram), fmt)


def draw_run(saga: Saga, result: Any) -> bytes:
    """An orchestration run (a ``SagaResult``) on its machine's picture, as SVG.

    Raises ValueError for a choreography run (`stepsaga.run_path.run_path`), GraphvizError when ``dot`` fails.
    """
    from stepsaga.run_path import run_path
    from stepsaga.state_graph import diagram

    graph = machine(saga)
    return draw(diagram(graph, run_path(graph, result)), "svg")
