"""`stepsaga graph --format mermaid|dot|svg|png`: the compiled state machine as a picture.

Checked against the ASL it is drawn from (every state a node of its kind, every Next, Choice and Catch an edge
of its meaning), golden-tested for the order saga, parsed by mermaid's own parser, and drawn by Graphviz.
"""

from __future__ import annotations

import json
import shutil
import struct
import xml.etree.ElementTree as ET

import pytest

from stepsaga import Saga
from stepsaga.diagram import Diagram, Edge, EdgeStyle, Node, NodeStyle, dot_quote, to_dot
from stepsaga.orchestration import to_asl
from stepsaga.state_graph import diagram, dot, mermaid, state_graph
from tests.diagram_helpers import ROOT, SAGA_SHAPES, order_saga, parse_flowchart, parse_mermaid, step
from tests.diagram_helpers import mermaid_parser  # noqa: F401 (a fixture)

GOLDEN = ROOT / "tests" / "golden"
SVG = "{http://www.w3.org/2000/svg}"

# Sagas of every shape the compiler writes: with and without compensations, business errors on the first step
# and on later ones, a step with nothing to undo before one with, retriable steps in the middle and at the end,
# and names Mermaid reads as syntax.
SHAPES = {
    **SAGA_SHAPES,
    "plain step first": lambda: Saga("Quick", [step("Check", business=("Invalid",)), step("Reserve", undo="Release"),
                                              step("Charge", undo="Refund", business=("Declined",))]),
    "keyword names": lambda: Saga("Keywords", [step("end", undo="style"), step("class", undo="graph", business=("click",))]),
}


def compiled(saga: Saga) -> dict:
    return json.loads(to_asl(saga))


def parsed(text: str) -> tuple[dict, list, dict, dict]:
    return parse_flowchart(text, "TB")


def expected_kind(saga: Saga, name: str, body: dict) -> str:
    """What a state is for, said from the saga and the ASL independently of the module under test."""
    comps = {s.compensation.name for s in saga.steps if s.compensation}
    if name in {s.name for s in saga.steps}:
        return "step"
    if name in comps:
        return "compensation"
    if body["Type"] == "Task":
        assert body["Resource"] == "arn:aws:states:::sqs:sendMessage"
        return "deadLetter"
    if name.endswith("RepairRecord") or name.endswith("RecordNotSent"):
        return "deadLetter"
    return {"Fail": "fail", "Succeed": "succeed"}.get(body["Type"], "control")


@pytest.mark.parametrize("shape", SHAPES)
def test_every_state_and_transition_of_the_asl_is_drawn_by_what_it_means(shape):
    saga = SHAPES[shape]()
    doc = compiled(saga)
    nodes, edges, classes, links = parsed(mermaid(state_graph(saga, doc)))
    by_label = {label.split("<br/>")[0]: nid for nid, (_, label) in nodes.items()}
    assert set(by_label) == set(doc["States"]), "every state is one node, and no node is anything else"
    kind_of = {name: expected_kind(saga, name, body) for name, body in doc["States"].items()}
    for name, body in doc["States"].items():
        assert classes[by_label[name]] == kind_of[name], name
    brackets = {"step": "[", "compensation": "(", "succeed": "([", "fail": "(["}
    for name, kind in kind_of.items():
        if kind in brackets:
            assert nodes[by_label[name]][0] == brackets[kind], name
    assert nodes[by_label["CheckSagaInput"]][0] == "{"
    expected = {}
    for name, body in doc["States"].items():
        me = by_label[name]
        for rule in body.get("Choices", []):
            expected.setdefault((me, by_label[rule["Next"]], "choice"), []).append(f"{rule['Variable']} StringMatches {rule['StringMatches']}")
        if "Default" in body:
            expected.setdefault((me, by_label[body["Default"]], "choice"), []).append("otherwise")
        if "Next" in body:
            expected.setdefault((me, by_label[body["Next"]], "next"), [])
        for catcher in body.get("Catch", []):
            expected.setdefault((me, by_label[catcher["Next"]], "catch"), []).extend(catcher["ErrorEquals"])
    drawn = {}
    for i, (source, arrow, label, target) in enumerate(edges):
        how = "catch" if arrow == "-.->" else "choice" if classes[source] == "control" and label else "next"
        assert (source, target, how) not in drawn, "an edge drawn twice"
        drawn[(source, target, how)] = (arrow, label, links.get(i, ""))
    assert set(drawn) == set(expected)
    for key, errors in expected.items():
        arrow, label, css = drawn[key]
        source, target = classes[key[0]], classes[key[1]]
        assert label == ", ".join(dict.fromkeys(errors)), key  # each catcher's errors, in ASL's order
        if "deadLetter" in (source, target):
            assert css.startswith("stroke:#8430ce"), key  # the dead-letter routes in the dead-letter colour
        elif key[2] == "catch":
            assert css.startswith("stroke:#c5221f") and arrow == "-.->", key
        elif source == "compensation":
            assert arrow == "-->" and "stroke-width:2px" in css, key  # the compensation chain, drawn wider
        elif target == "fail":
            assert arrow == "-->" and key[0] == by_label["CheckSagaInput"], key  # only the rejected input
        else:
            assert arrow == "==>" and css.startswith("stroke:#1a73e8"), key  # the happy path
    assert set(links) == set(range(len(edges))), "every edge has its colour"


def test_the_order_saga_routes_each_failure_to_its_compensation():
    nodes, edges, classes, _ = parsed(mermaid(state_graph(order_saga(), compiled(order_saga()))))
    assert ("ProcessPayment", "-.->", "PaymentDeclined", "CancelOrder") in edges  # the charge did not apply
    assert ("ProcessPayment", "-.->", "States.DataLimitExceeded, States.ALL", "RefundPayment") in edges  # it may have
    assert ("ValidateOrder", "-.->", "InvalidOrder", "SagaFailed") in edges  # nothing to undo
    assert [e for e in edges if classes[e[0]] == "compensation" and e[1] == "-->"] == [
        ("ReleaseInventory", "-->", "", "RefundPayment"), ("RefundPayment", "-->", "", "CancelOrder"), ("CancelOrder", "-->", "", "SagaFailed"),
    ]
    happy = [e[0] for e in edges if e[1] == "==>"]
    assert happy == ["BeginSaga", "CheckSagaInput", "ValidateOrder", "ProcessPayment", "ReserveInventory", "SendNotification"]
    assert nodes["RefundPayment"] == ("(", "RefundPayment<br/>undoes ProcessPayment")
    assert nodes["SendNotification"][1] == "SendNotification<br/>past the point of no return"
    assert nodes["SendNotificationDeadLetter"] == ("[[", "SendNotificationDeadLetter<br/>sends the repair record")
    assert nodes["CancelOrderRepairRecord"][0] == "[/" and classes["CancelOrderRepairRecord"] == "deadLetter"
    assert nodes["SagaFailed"] == ("([", "SagaFailed<br/>ErrorPath: $.error.Error")
    assert classes["CompensationRecordNotSent"] == classes["StepRecordNotSent"] == "deadLetter"


@pytest.mark.parametrize(("suffix", "render"), [(".mmd", mermaid), (".dot", dot)])
def test_the_golden_pictures_are_what_the_order_saga_draws(suffix, render):
    golden = GOLDEN / f"order_saga{suffix}"
    fresh = render(state_graph(order_saga(), compiled(order_saga())))
    assert fresh == golden.read_text(encoding="utf-8"), (
        f"{golden.relative_to(ROOT)} is stale: stepsaga graph workflows/order_saga.py -o {golden.relative_to(ROOT)}")


def test_the_text_is_deterministic():
    first = [mermaid(state_graph(order_saga(), compiled(order_saga()))), dot(state_graph(order_saga(), compiled(order_saga())))]
    second = [mermaid(state_graph(order_saga(), compiled(order_saga()))), dot(state_graph(order_saga(), compiled(order_saga())))]
    assert first == second and all(t.endswith("}\n") or t.endswith("\n") for t in first)


def test_a_jsonata_choice_is_labelled_with_its_condition():
    saga = order_saga()
    doc = compiled(saga)
    rule = doc["States"]["CheckSagaInput"]["Choices"][0]
    doc["States"]["CheckSagaInput"]["Choices"][0] = {"Condition": "{% $type($states.input) = 'object' %}", "Next": rule["Next"]}
    graph = state_graph(saga, doc)
    [choice] = [t for t in graph.transitions if t.source == "CheckSagaInput" and t.target == "ValidateOrder"]
    assert (choice.how, choice.label, choice.kind) == ("choice", "{% $type($states.input) = 'object' %}", "happy")


def test_a_transition_to_no_state_is_named():
    saga = order_saga()
    doc = compiled(saga)
    doc["States"]["ProcessPayment"]["Next"] = "ReserveStock"
    with pytest.raises(ValueError, match="state ProcessPayment: goes to ReserveStock, which is not a state of the machine"):
        state_graph(saga, doc)


def test_a_diagram_rejects_what_it_does_not_define():
    styles = (NodeStyle("a", "#fff", "#000", "#000"),)
    with pytest.raises(ValueError, match=r"node x: shape 'hexagon'.*edge x -> y: node 'y'.*edge x -> y: style 'bold'"):
        Diagram("D", "TB", "", (Node("x", "hexagon", ("x",), "a"),), (Edge("x", "y", "", "bold"),), styles, (EdgeStyle("plain"),))


def test_dot_strings_escape_quotes_backslashes_and_newlines():
    assert dot_quote('say "hi"\\n\nnext') == '"say \\"hi\\"\\\\n\\nnext"'


# --- Graphviz: the DOT text is what dot draws, as valid SVG and PNG, the same bytes each time -----------------


@pytest.fixture(scope="module")
def graphviz():
    found = shutil.which("dot")
    if found is None:
        pytest.skip("Graphviz's dot is not installed (make test installs it): the DOT text is still golden-tested")
    return found


def svg_nodes(svg: bytes) -> dict[str, tuple[str, list[str]]]:
    """title -> (class, the lines of the label) of each node of an SVG from dot."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    out = {}
    for g in root.iter(f"{SVG}g"):
        classes = g.get("class", "").split()
        if classes[:1] == ["node"]:
            out[g.find(f"{SVG}title").text] = (classes[1], [t.text for t in g.iter(f"{SVG}text")])
    return out


def test_dot_draws_an_svg_of_every_state(graphviz):
    from stepsaga.dot import render

    saga = order_saga()
    doc = compiled(saga)
    svg = render(dot(state_graph(saga, doc)), "svg")
    nodes = svg_nodes(svg)
    assert set(nodes) == set(doc["States"])
    assert nodes["RefundPayment"] == ("compensation", ["RefundPayment", "undoes ProcessPayment"])
    assert nodes["CancelOrderDeadLetter"][0] == "deadLetter" and nodes["SagaSucceeded"][0] == "succeed"
    edges = [g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("class", "").startswith("edge ")]
    assert len(edges) == len(state_graph(saga, doc).transitions)
    assert render(dot(state_graph(saga, doc)), "svg") == svg, "the same DOT gives the same SVG"


def test_dot_draws_a_png(graphviz):
    from stepsaga.dot import render

    png = render(dot(state_graph(order_saga(), compiled(order_saga()))), "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 800 and height > 600  # 23 states, laid out
    assert render(dot(state_graph(order_saga(), compiled(order_saga()))), "png") == png


def test_labels_dot_would_misread_are_drawn_as_written(graphviz):
    from stepsaga.dot import render

    look = (NodeStyle("a", "#ffffff", "#000000", "#000000"),)
    weird = 'say "hi" \\ {x} <b> | ; -> end'
    text = to_dot(Diagram('graph "x"', "LR", "c", (Node("node", "box", (weird, "two"), "a"), Node("edge", "record", ("b",), "a")),
                          (Edge("node", "edge", weird, "plain"),), look, (EdgeStyle("plain"),), caption=(weird,)))
    svg = render(text, "svg")
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert texts.count(weird) == 3 and "two" in texts  # the node, the edge and the caption, each as written


def test_without_dot_the_error_says_how_to_install_it(monkeypatch):
    from stepsaga.dot import render
    from stepsaga.errors import GraphvizError

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(GraphvizError, match=r"needs Graphviz's dot, which is not on PATH; install Graphviz: apt-get install graphviz"):
        render("digraph {}", "svg")


def test_a_dot_failure_keeps_dots_own_message(graphviz):
    from stepsaga.dot import render
    from stepsaga.errors import GraphvizError

    with pytest.raises(GraphvizError, match=r"dot -Tsvg could not draw the picture: .*syntax error"):
        render("digraph { a -> }", "svg")


# --- mermaid's own parser --------------------------------------------------------------------------------------


def test_mermaid_itself_parses_every_shape(mermaid_parser, tmp_path):
    files = []
    for i, shape in enumerate(SHAPES):
        path = tmp_path / f"{i}.mmd"
        path.write_text(mermaid(state_graph(SHAPES[shape](), compiled(SHAPES[shape]()))))
        files.append(str(path))
    bad = tmp_path / "bad.mmd"  # the parser does reject what is not Mermaid
    bad.write_text(mermaid(state_graph(order_saga(), compiled(order_saga()))).replace('CancelOrder("CancelOrder', 'CancelOrder("CancelOrder"'))
    parse_mermaid(mermaid_parser, files, str(bad))


def test_a_state_named_like_a_mermaid_keyword_gets_an_id_that_is_not_one():
    nodes, edges, _, _ = parsed(mermaid(state_graph(SHAPES["keyword names"](), compiled(SHAPES["keyword names"]()))))
    ids = {label.split("<br/>")[0]: nid for nid, (_, label) in nodes.items()}
    assert ids["end"] == "end_2" and ids["style"] == "style_2" and ids["class"] == "class_2" and ids["graph"] == "graph_2"
    assert ("end_2", "==>", "", "class_2") in edges


def test_the_diagram_of_a_run_needs_no_path_for_the_plain_picture():
    graph = state_graph(order_saga(), compiled(order_saga()))
    plain = diagram(graph)
    assert {n.style for n in plain.nodes} == {"control", "step", "compensation", "deadLetter", "succeed", "fail"}
    assert plain.caption == ()
