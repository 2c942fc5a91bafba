"""What the picture tests share: the order saga, a step of any shape, a file of two sagas, and mermaid's parser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stepsaga import Compensation, Retry, Saga, Step
from stepsaga.loader import load

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "workflows" / "order_saga.py"
MERMAID = ROOT / "tests" / "mermaid"


def order_saga() -> Saga:
    [saga] = load(str(GOOD))
    return saga


def step(name: str, *, undo: str | None = None, business: tuple[str, ...] = (), retriable: bool = False, **kw) -> Step:
    """A step named ``name`` with handlers named after it; ``undo`` names its compensation."""
    comp = Compensation(undo, f"compensations.{undo.lower()}.handler") if undo else None
    return Step(name, f"tasks.{name.lower()}.handler", compensation=comp, business_errors=list(business), retriable=retriable, **kw)


#: Sagas of the shapes every picture must draw: the order saga, one step, no compensation, and retriable steps in
#: the middle and at the end after compensatable ones with a business error and a retrier.
SAGA_SHAPES = {
    "order": order_saga,
    "one step": lambda: Saga("Tiny", [step("ChargeCard")]),
    "no compensation": lambda: Saga("Plain", [step("ValidateOrder", business=("Invalid",)), step("SendNotification", retriable=True)]),
    "two retriable steps": lambda: Saga("Tickets", [
        step("ReserveSeat", undo="ReleaseSeat", business=("SoldOut",)),
        step("IssueTicket", undo="VoidTicket", retry=[Retry(["States.ALL"], max_attempts=2)]),
        step("NotifyFan", retriable=True),
        step("SendReceipt", retriable=True),
    ]),
}


def two_sagas(folder: Path) -> Path:
    """A workflow file defining two sagas, ``a`` (First) and ``b`` (Second)."""
    path = folder / "two.py"
    path.write_text(
        "from stepsaga import Saga, Step\n"
        "a = Saga('First', [Step('ChargeCard', 'tasks.charge.handler')])\n"
        "b = Saga('Second', [Step('ChargeCard', 'tasks.charge.handler')])\n"
    )
    return path


@pytest.fixture(scope="module")
def mermaid_parser() -> str:
    """node's path, when node and mermaid's parser (tests/mermaid) are installed; else the test is skipped."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the diagrams are checked by the syntax tests only")
    if not (MERMAID / "node_modules" / "mermaid").is_dir():
        pytest.skip("mermaid's parser is not installed: run `npm ci --prefix tests/mermaid` (the syntax tests still run)")
    return node


def parse_mermaid(node: str, good: list[str], bad: str) -> None:
    """mermaid's own parser takes every file of ``good`` as a flowchart, and rejects ``bad`` (so it does reject)."""
    proc = subprocess.run([node, str(MERMAID / "parse.mjs"), *good, bad], capture_output=True, text=True, timeout=120)
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["ok"] for r in results] == [True] * len(good) + [False], proc.stdout + proc.stderr
    assert {r["diagramType"] for r in results[:-1]} == {"flowchart-v2"}


#: A node and an edge line of the Mermaid the pictures write (stepsaga.diagram.to_mermaid).
NODE = re.compile(r"^  (\w+)(\[\[|\[/|\(\[|\[\(|\[|\(|\{)\"(.*)\"(\]\]|/\]|\]\)|\)\]|\]|\)|\})$")
EDGE = re.compile(r"^  (\w+) (-->|-\.->|==>)(?:\|\"(.*)\"\|)? (\w+)$")


def parse_flowchart(text: str, direction: str) -> tuple[dict, list, dict, dict]:
    """A Mermaid flowchart as (nodes: id -> (opening bracket, label), edges: [(from, arrow, label, to)],
    classes: id -> class, links: edge number -> linkStyle css); any other line fails the test."""
    nodes, edges, classes, links = {}, [], {}, {}
    lines = text.splitlines()
    assert lines[0] == f"flowchart {direction}"
    for line in lines[1:]:
        if line.startswith(("  %%", "  classDef ")):
            continue
        if line.startswith("  class "):
            _, members, name = line.split()
            classes.update(dict.fromkeys(members.split(","), name))
        elif line.startswith("  linkStyle "):
            _, numbers, css = line.strip().split(" ", 2)
            links.update(dict.fromkeys((int(n) for n in numbers.split(",")), css))
        elif m := NODE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
            nodes[m.group(1)] = (m.group(2), m.group(3))
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2), m.group(3) or "", m.group(4)))
        else:
            raise AssertionError(f"a line the picture should not have: {line!r}")
    return nodes, edges, classes, links
