"""Diagrams as data, written as Mermaid flowcharts or as Graphviz DOT.

A `Diagram` is its nodes (an id, a shape, the lines of its label, a style), its edges (a label and a
style) and the styles, each in the order it is drawn. `to_mermaid` and `to_dot` write the same diagram in
each language, deterministically: the same diagram gives the same text, byte for byte, so both can be
golden-tested and committed. Node ids come from `Ids`, which makes identifiers both languages take.

The state machine's picture (`stepsaga.state_graph`) and the choreography's event flow
(`stepsaga.choreography.graph`) are built as diagrams; `stepsaga.dot` hands the DOT text to Graphviz for
SVG and PNG. Standard library only (``stepsaga graph`` stays light).

https://mermaid.js.org/syntax/flowchart.html, https://graphviz.org/doc/info/lang.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Node shapes: (Mermaid's brackets, Graphviz's node attributes).
#: https://mermaid.js.org/syntax/flowchart.html#node-shapes, https://graphviz.org/doc/info/shapes.html
SHAPES: dict[str, tuple[tuple[str, str], tuple[tuple[str, str], ...]]] = {
    "box": (("[", "]"), (("shape", "box"),)),
    "round": (("(", ")"), (("shape", "box"), ("style", "rounded"))),
    "stadium": (("([", "])"), (("shape", "oval"),)),
    "cylinder": (("[(", ")]"), (("shape", "cylinder"),)),
    "parallelogram": (("[/", "/]"), (("shape", "parallelogram"),)),
    "record": (("[/", "/]"), (("shape", "note"),)),  # a kept document: Mermaid's flowchart has no page shape
    "rhombus": (("{", "}"), (("shape", "diamond"),)),
    "subroutine": (("[[", "]]"), (("shape", "box"), ("peripheries", "2"))),
}
#: Edge arrows: Mermaid's link, and Graphviz's style and line width.
ARROWS: dict[str, tuple[str, str, float]] = {
    "solid": ("-->", "solid", 1.0),
    "dotted": ("-.->", "dashed", 1.0),
    "thick": ("==>", "solid", 2.5),
}
#: Words Mermaid reads as syntax where a node id stands; a name that is one gets a number.
MERMAID_KEYWORDS = frozenset({
    "end", "graph", "flowchart", "subgraph", "direction", "style", "linkstyle", "classdef", "class", "click",
    "call", "href", "default",
})


@dataclass(frozen=True, slots=True)
class NodeStyle:
    """How a kind of node looks: colours as ``#rrggbb``, a dashed border or not, the border's width in px."""

    name: str
    fill: str
    stroke: str
    text: str
    dashed: bool = False
    width: int = 1

    def css(self) -> str:
        """Mermaid's ``classDef`` text for the style."""
        css = f"fill:{self.fill},stroke:{self.stroke},color:{self.text}"
        if self.dashed:
            css += ",stroke-dasharray:5 3"
        return css + (f",stroke-width:{self.width}px" if self.width != 1 else "")


@dataclass(frozen=True, slots=True)
class EdgeStyle:
    """How a kind of edge looks: its arrow (a key of `ARROWS`), and a colour and width when not the default."""

    name: str
    arrow: str = "solid"
    color: str | None = None
    width: int | None = None  # px; None: the arrow's own

    def css(self) -> str:
        """Mermaid's ``linkStyle`` text, empty when the edge keeps Mermaid's default look."""
        parts = []
        if self.color:
            parts += [f"stroke:{self.color}", f"color:{self.color}"]
        if self.width:
            parts.append(f"stroke-width:{self.width}px")
        return ",".join(parts)


@dataclass(frozen=True, slots=True)
class Node:
    """One node: its id (from `Ids`), a key of `SHAPES`, its label's lines, and the name of its `NodeStyle`.

    Graphviz keeps the edges between nodes of one ``group`` straight (Mermaid has no such hint)."""

    id: str
    shape: str
    label: tuple[str, ...]
    style: str
    group: str = ""


@dataclass(frozen=True, slots=True)
class Edge:
    """One edge between node ids, with its label (empty for none) and the name of its `EdgeStyle`."""

    source: str
    target: str
    label: str
    style: str


@dataclass(frozen=True, slots=True)
class Diagram:
    """A whole picture. ``direction`` is ``LR`` or ``TB``; ``comment`` is a line for the reader of the text;
    ``caption``, when set, is drawn under a Graphviz picture (Mermaid has no caption: it becomes a comment)."""

    name: str
    direction: str
    comment: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    node_styles: tuple[NodeStyle, ...]
    edge_styles: tuple[EdgeStyle, ...]
    caption: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Raises ValueError for a shape, arrow or style the diagram does not define, or an edge to no node."""
        ids = {n.id for n in self.nodes}
        node_styles = {s.name for s in self.node_styles}
        edge_styles = {s.name for s in self.edge_styles}
        problems = [f"node {n.id}: shape {n.shape!r}" for n in self.nodes if n.shape not in SHAPES]
        problems += [f"node {n.id}: style {n.style!r}" for n in self.nodes if n.style not in node_styles]
        problems += [f"edge style {s.name}: arrow {s.arrow!r}" for s in self.edge_styles if s.arrow not in ARROWS]
        for e in self.edges:
            problems += [f"edge {e.source} -> {e.target}: node {end!r}" for end in (e.source, e.target) if end not in ids]
            problems += [f"edge {e.source} -> {e.target}: style {e.style!r}"] if e.style not in edge_styles else []
        if len(ids) != len(self.nodes):
            problems.append("a node id used twice")
        if problems:
            raise ValueError(f"diagram {self.name}: undefined " + "; ".join(problems))


def to_mermaid(diagram: Diagram) -> str:
    """The diagram as a Mermaid ``flowchart``, ending in a newline.

    Nodes, then edges, then every ``classDef`` and the ``class`` of each style in use, then a ``linkStyle``
    (by edge number, Mermaid's only way) for each edge style that is not Mermaid's default look.
    """
    styles = {s.name: s for s in diagram.edge_styles}
    lines = [f"flowchart {diagram.direction}", f"  %% {diagram.comment}", *(f"  %% {line}" for line in diagram.caption)]
    for n in diagram.nodes:
        opening, closing = SHAPES[n.shape][0]
        lines.append(f"  {n.id}{opening}{mermaid_label(n.label)}{closing}")
    for e in diagram.edges:
        label = f"|{mermaid_label((e.label,))}|" if e.label else ""
        lines.append(f"  {e.source} {ARROWS[styles[e.style].arrow][0]}{label} {e.target}")
    lines += [f"  classDef {s.name} {s.css()}" for s in diagram.node_styles]
    for s in diagram.node_styles:
        members = [n.id for n in diagram.nodes if n.style == s.name]
        if members:
            lines.append(f"  class {','.join(members)} {s.name}")
    for s in diagram.edge_styles:
        numbers = [str(i) for i, e in enumerate(diagram.edges) if e.style == s.name]
        if numbers and s.css():
            lines.append(f"  linkStyle {','.join(numbers)} {s.css()}")
    return "\n".join(lines) + "\n"


def mermaid_label(lines: tuple[str, ...]) -> str:
    """A label in double quotes, its lines joined by ``<br/>``; characters Mermaid would read as syntax
    become entity codes (``#34;`` for ``"``)."""
    escaped = [re.sub(r"[#\"<>&|]", lambda m: f"#{ord(m.group())};", line) for line in lines]
    return '"' + "<br/>".join(escaped) + '"'


#: The look every Graphviz picture shares; fonts fall back to what fontconfig has.
_DOT_GRAPH = (("fontname", "Helvetica"), ("fontsize", "12"), ("nodesep", "0.35"), ("ranksep", "0.45"), ("labelloc", "b"), ("labeljust", "l"))
_DOT_DEFAULTS = (
    'node [fontname="Helvetica", fontsize=11, margin="0.14,0.05"];',
    'edge [fontname="Helvetica", fontsize=9, arrowsize=0.7, color="#5f6368", fontcolor="#3c4043"];',
)


def to_dot(diagram: Diagram) -> str:
    """The diagram as a Graphviz ``digraph``, ending in a newline: every id and label quoted, attributes in
    a fixed order."""
    node_styles = {s.name: s for s in diagram.node_styles}
    edge_styles = {s.name: s for s in diagram.edge_styles}
    lines = [f"digraph {dot_quote(diagram.name)} {{", f"  // {diagram.comment}"]
    graph = _attributes([("rankdir", diagram.direction), *_DOT_GRAPH])
    if diagram.caption:  # each line left-justified: DOT's \l ends a line, and the last one too
        graph += ', label="' + "".join(_escape(line) + "\\l" for line in diagram.caption) + '"'
    lines.append(f"  graph [{graph}];")
    lines += [f"  {line}" for line in _DOT_DEFAULTS]
    for n in diagram.nodes:
        look = node_styles[n.style]
        shape = dict(SHAPES[n.shape][1])
        style = ",".join(["filled", *([shape.pop("style")] if "style" in shape else []), *(["dashed"] if look.dashed else [])])
        attributes = [("label", "\n".join(n.label)), *shape.items(), ("style", style), ("fillcolor", look.fill),
                      ("color", look.stroke), ("fontcolor", look.text)]
        if look.width != 1:
            attributes.append(("penwidth", str(look.width)))
        if n.group:
            attributes.append(("group", n.group))
        attributes.append(("class", n.style))
        lines.append(f"  {dot_quote(n.id)} [{_attributes(attributes)}];")
    for e in diagram.edges:
        look = edge_styles[e.style]
        _, style, width = ARROWS[look.arrow]
        attributes = [("label", e.label)] if e.label else []
        attributes.append(("style", style))
        if look.color:
            attributes += [("color", look.color), ("fontcolor", look.color)]
        if look.width or width != 1:
            attributes.append(("penwidth", _number(look.width or width)))
        attributes.append(("class", e.style))
        lines.append(f"  {dot_quote(e.source)} -> {dot_quote(e.target)} [{_attributes(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, a newline as DOT's centred line break."""
    return '"' + _escape(text) + '"'


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _attributes(pairs: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{key}={dot_quote(value)}" for key, value in pairs)


def _number(value: float) -> str:
    return f"{value:g}"


class Ids:
    """Node ids from keys: letters, digits and ``_``; a clash, or a Mermaid keyword, gets a number, in order of
    first use. A key ``kind:name`` whose kind has a prefix becomes ``<prefix><name>``; any other key is itself."""

    def __init__(self, prefixes: dict[str, str] | None = None) -> None:
        self._prefixes = prefixes or {}
        self._by_key: dict[str, str] = {}
        self._used: set[str] = set()

    def get(self, key: str) -> str:
        """The id of a key: the same key, the same id."""
        if key in self._by_key:
            return self._by_key[key]
        kind, _, name = key.partition(":")
        prefix = self._prefixes.get(kind, "")
        base = prefix + re.sub(r"\W", "_", name if prefix else key, flags=re.ASCII)
        nid, n = base, 2
        while nid in self._used or nid.lower() in MERMAID_KEYWORDS:
            nid, n = f"{base}_{n}", n + 1
        self._used.add(nid)
        self._by_key[key] = nid
        return nid
