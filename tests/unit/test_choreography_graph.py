"""`stepsaga graph --mode choreography`: the plan as a Mermaid flowchart, checked against the plan and parsed by mermaid."""

from __future__ import annotations


import pytest

from stepsaga import EventTrigger, HttpTrigger, Retry, Saga, SagaEvents, StepEvents
from stepsaga.choreography.graph import ALL_EVENTS_NODE, DLQ_NODE, FILTER_LABELS, mermaid
from stepsaga.choreography.plan import COMPENSATED, SAGA_EVENT_KINDS, SAGA_LOG, plan
from stepsaga.cli import main
from stepsaga.diagram import Ids, mermaid_label
from tests.diagram_helpers import GOOD, SAGA_SHAPES, order_saga, parse_flowchart, parse_mermaid, step, two_sagas
from tests.diagram_helpers import mermaid_parser  # noqa: F401 (a fixture)


# Sagas of every shape the plan has: with and without compensations, retriable steps in the middle and at
# the end, both kinds of trigger, none, renamed events and sources that Mermaid would read as syntax.
SHAPES = {
    **SAGA_SHAPES,
    "event trigger, renamed": lambda: Saga(
        "Shipping",
        [step("PackParcel", undo="UnpackParcel", business=("NoStock",), events=StepEvents(succeeded="ParcelPacked", source="warehouse/packing:v1")),
         step("ShipParcel", undo="RecallParcel", retry=[Retry(["States.ALL"], max_attempts=2)])],
        triggers=[EventTrigger("shop.orders", "OrderPlaced"), HttpTrigger("/ship/{id}", schema=None)],
        events=SagaEvents(source="shipping.saga", completed="ShippingDone"),
    ),
}


def parsed(text: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str, str]], dict[str, str]]:
    """(nodes: id -> (shape opening, label), edges: (from, arrow, label, to), classes: id -> class)."""
    nodes, edges, classes, links = parse_flowchart(text, "LR")
    assert links == {}, "the event flow keeps Mermaid's own edge colours"
    return nodes, edges, classes


@pytest.mark.parametrize("shape", SHAPES)
def test_every_step_event_and_route_of_the_plan_is_drawn(shape):
    saga = SHAPES[shape]()
    p = plan(saga)
    nodes, edges, classes = parsed(mermaid(p))
    label_of = {nid: label for nid, (_, label) in nodes.items()}
    ids = {}
    for nid, label in label_of.items():
        ids.setdefault(label.split("<br/>")[0].removesuffix(" (retriable)"), nid)
    for e in p.events:  # every event is a stadium, styled by what it says
        assert nodes[ids[e.name]][0] == "(["
        want = "sagaEvent" if e.kind in SAGA_EVENT_KINDS else "compensationEvent" if e.kind == COMPENSATED else "event"
        assert classes[ids[e.name]] == want, e.name
    expected = set()
    for c in p.consumers:
        if c.kind == "log":
            continue
        me = ids[c.name]
        assert classes[me] == ("compensation" if c.kind == "compensation" else "step")
        arrow = "-.->" if c.kind == "compensation" else "-->"
        for t in c.triggers:
            expected.add((ids[t.event], arrow, FILTER_LABELS.get(t.business_error, ""), me))
        for name in dict.fromkeys(c.on_success + c.on_failure):
            label = "" if name not in c.on_failure else "succeeds or fails" if name in c.on_success else "fails for good" if c.dead_letters else "fails"
            expected.add((me, arrow, label, ids[name]))
        if c.aborts:
            what = {("business",): "business error", ("error",): "other error"}.get(c.aborts, "fails")
            expected.add((me, arrow, f"{what}: nothing to undo", ids[p.event_of("aborted").name]))
        if c.dead_letters:
            expected.add((me, "-->", "fails for good: repair record", DLQ_NODE))
    # the saga log: one edge from "every event", never one per event
    log = ids[SAGA_LOG]
    expected.add((ALL_EVENTS_NODE, "-->", "", log))
    producers = [nid for nid, (shape_, _) in nodes.items() if shape_ == "[/"]
    assert len(producers) == max(1, len(saga.triggers))
    drawn = {edge for edge in edges if edge[0] not in producers}
    assert drawn == expected
    assert len(edges) == len(set(edges)), "an edge drawn twice"
    assert [edge for edge in edges if edge[3] == log] == [(ALL_EVENTS_NODE, "-->", "", log)]
    assert (DLQ_NODE in nodes) == any(c.dead_letters for c in p.consumers)


def test_the_reference_saga_routes_each_failure_kind_to_its_compensation():
    nodes, edges, classes = parsed(mermaid(plan(order_saga())))
    assert ("e_InventoryFailed", "-.->", "business error", "c_RefundPayment") in edges  # OutOfStock: the stock was not taken
    assert ("e_InventoryFailed", "-.->", "other error", "c_ReleaseInventory") in edges  # it may have been
    assert ("e_OrderFailed", "-.->", "other error", "c_CancelOrder") in edges
    assert ("c_ValidateOrder", "-->", "business error: nothing to undo", "e_OrderSagaAborted") in edges
    assert ("c_CancelOrder", "-.->", "", "e_OrderSagaAborted") in edges  # the last compensation ends the saga
    assert ("c_SendNotification", "-->", "succeeds or fails", "e_OrderSagaCompleted") in edges  # past the point of no return
    assert ("c_SendNotification", "-->", "fails for good: repair record", DLQ_NODE) in edges
    assert ("t_http0", "-->", "", "e_OrderSagaStarted") in edges and nodes["t_http0"] == ("[/", "POST /orders")
    assert {classes[n] for n in ("e_OrderSagaStarted", "e_OrderSagaCompleted", "e_OrderSagaAborted", "e_OrderSagaCompensationFailed")} == {"sagaEvent"}
    assert nodes[DLQ_NODE][0] == "[(" and nodes["c_SagaLog"][0] == "[("


def test_an_event_trigger_feeds_saga_start_and_a_saga_without_triggers_names_your_code():
    shipping = mermaid(plan(SHAPES["event trigger, renamed"]()))
    assert '  t_event0[/"shop.orders: OrderPlaced"/]' in shipping and "  t_event0 --> c_SagaStart" in shipping
    assert "  c_SagaStart --> e_ShippingStarted" in shipping and "  t_http1 --> e_ShippingStarted" in shipping
    tiny = mermaid(plan(SHAPES["one step"]()))
    assert '  t_code[/"your code: PutEvents TinyStarted"/]' in tiny and "  t_code --> e_TinyStarted" in tiny


def test_the_text_is_deterministic_and_ends_in_a_newline():
    first, second = mermaid(plan(order_saga())), mermaid(plan(order_saga()))
    assert first == second and first.endswith("\n") and not first.endswith("\n\n")


def test_labels_escape_what_mermaid_reads_as_syntax_and_keep_line_breaks():
    assert mermaid_label(('say "hi" #1 <b> a|b & c', "next")) == '"say #34;hi#34; #35;1 #60;b#62; a#124;b #38; c<br/>next"'


def test_node_ids_are_identifiers_unique_and_never_end():
    ids = Ids({"event": "e_"})
    assert ids.get("event:Order-Placed") == "e_Order_Placed"
    assert ids.get("event:Order_Placed") == "e_Order_Placed_2"
    assert ids.get("event:Order-Placed") == "e_Order_Placed"  # the same key, the same id
    assert ids.get("end") == "end_2"


def test_mermaid_itself_parses_every_shape(mermaid_parser, tmp_path):
    files = []
    for i, shape in enumerate(SHAPES):
        path = tmp_path / f"{i}.mmd"
        path.write_text(mermaid(plan(SHAPES[shape]())))
        files.append(str(path))
    bad = tmp_path / "bad.mmd"  # the parser does reject what is not Mermaid
    bad.write_text(mermaid(plan(order_saga())).replace('e_OrderValidated(["OrderValidated"])', 'e_OrderValidated(["OrderValidated"]'))
    parse_mermaid(mermaid_parser, files, str(bad))


def test_cli_graph_choreography_prints_the_flowchart(capsys):
    assert main(["graph", str(GOOD), "--mode", "choreography"]) == 0
    assert capsys.readouterr().out == mermaid(plan(order_saga()))


def test_cli_graph_choreography_of_a_file_with_two_sagas_asks_for_one(tmp_path, capsys):
    two = two_sagas(tmp_path)
    assert main(["graph", str(two), "--mode", "choreography"]) == 2
    assert capsys.readouterr().err.strip() == f"{two}: defines 2 sagas (First, Second); name one with {two}:ATTR"
    assert main(["graph", f"{two}:b", "--mode", "choreography"]) == 0
    assert "e_SecondStarted" in capsys.readouterr().out


def test_cli_graph_rejects_an_unknown_mode(capsys):
    assert main(["graph", str(GOOD), "--mode", "choreo"]) == 2
    assert "invalid choice: 'choreo'" in capsys.readouterr().err
