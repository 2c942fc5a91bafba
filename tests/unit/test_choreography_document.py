"""`stepsaga compile --mode choreography`: the plan as one deterministic JSON document, field by field."""

from __future__ import annotations

import json
from pathlib import Path

from stepsaga import Compensation, EventTrigger, Retry, Saga, Step
from stepsaga.choreography.config import consumer_config
from stepsaga.choreography.document import choreography_document, to_choreography_json
from stepsaga.choreography.plan import plan, trigger_pattern
from stepsaga.cli import main
from stepsaga.loader import load
from stepsaga.orchestration import compile_saga

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "workflows" / "order_saga.py"


def order_saga() -> Saga:
    [saga] = load(str(GOOD))
    return saga


def test_the_events_are_the_plans_with_detail_type_source_kind_and_state():
    saga = order_saga()
    doc = choreography_document(saga)
    assert (doc["saga"], doc["mode"], doc["source"]) == ("OrderSaga", "choreography", "stepsaga.order_saga")
    assert doc["events"] == [{"detail-type": e.name, "source": e.source, "kind": e.kind, "state": e.state} for e in plan(saga).events]
    assert doc["events"][3] == {"detail-type": "PaymentProcessed", "source": "stepsaga.order_saga", "kind": "step_succeeded", "state": "ProcessPayment"}


def test_each_consumer_has_its_rule_emissions_dead_lettering_and_retriers():
    saga = order_saga()
    p = plan(saga)
    doc = choreography_document(saga)
    assert [c["name"] for c in doc["consumers"]] == [c.name for c in p.consumers]
    states = {name: state for name, state in compile_saga(saga).states}
    for entry, c in zip(doc["consumers"], p.consumers, strict=True):
        assert entry["pattern"] == p.pattern(c)
        assert entry["triggers"] == [{"event": t.event, "business_error": t.business_error} for t in c.triggers]
        assert (entry["on_success"], entry["on_failure"], entry["aborts"]) == (list(c.on_success), list(c.on_failure), list(c.aborts))
        assert (entry["dead_letters"], entry["pending"]) == (c.dead_letters, list(c.pending))
        if c.action is None:
            assert "retry" not in entry
            continue
        config = consumer_config(p, c)
        assert entry["retry"] == config["retry"] == [r.to_json() for r in states[c.name].retry]  # the orchestration's retriers
        assert (entry["handler_timeout"], entry["business_errors"], entry["retriable"]) == (
            config["handler_timeout"], config["business_errors"], config["retriable"])


def test_the_reference_saga_reads_as_its_routing():
    consumers = {c["name"]: c for c in choreography_document(order_saga())["consumers"]}
    refund = consumers["RefundPayment"]
    assert refund["pattern"] == {
        "source": ["stepsaga.order_saga"],
        "detail": {"saga": ["OrderSaga"]},
        "$or": [
            {"detail-type": ["InventoryReleased"]},
            {"detail-type": ["PaymentFailed"], "detail": {"business_error": [False]}},
            {"detail-type": ["InventoryFailed"], "detail": {"business_error": [True]}},
        ],
    }
    assert refund["on_failure"] == ["OrderSagaCompensationFailed"] and refund["dead_letters"] is True
    assert refund["pending"] == ["RefundPayment", "CancelOrder"]
    assert refund["retry"][-1]["ErrorEquals"] == ["States.ALL"] and refund["retry"][-1]["MaxAttempts"] == 6
    notify = consumers["SendNotification"]
    assert notify["on_failure"] == ["NotificationFailed", "OrderSagaCompleted"] and notify["dead_letters"] and notify["retriable"]
    assert consumers["ProcessPayment"]["retry"][0]["ErrorEquals"] == ["PaymentGatewayTimeout"]
    assert consumers["ValidateOrder"]["aborts"] == ["business"] and consumers["ValidateOrder"]["business_errors"] == ["InvalidOrder"]
    log = consumers["SagaLog"]
    assert log["kind"] == "log" and log["pattern"] == {"source": ["stepsaga.order_saga"], "detail": {"saga": ["OrderSaga"]}}


def test_an_event_trigger_gives_saga_start_the_triggers_own_patterns():
    trigger = EventTrigger("shop.orders", "OrderPlaced", pattern={"detail": {"channel": ["web"]}})
    saga = Saga("Shop", [Step("ChargeCard", "tasks.charge.handler", compensation=Compensation("RefundCard", "compensations.refund.handler"),
                              retry=[Retry(["CardGatewayDown"], max_attempts=2)])], triggers=[trigger])
    start = choreography_document(saga)["consumers"][-1]
    assert start["name"] == "SagaStart" and start["kind"] == "start"
    assert start["patterns"] == [trigger_pattern(trigger)] and "pattern" not in start
    assert start["triggers"] == [{"source": "shop.orders", "detail-type": "OrderPlaced", "bus": None}]
    assert start["on_success"] == ["ShopStarted"]


def test_the_text_is_deterministic_json_rendered_like_the_asl():
    saga = order_saga()
    text = to_choreography_json(saga)
    assert text == to_choreography_json(order_saga()) and text.endswith("}\n")
    assert json.loads(text) == choreography_document(saga)
    assert '      "on_success": ["OrderValidated"],\n' in text  # lists of names on one line, as the ASL's ErrorEquals


def test_cli_compile_choreography_prints_or_writes_it(tmp_path, capsys):
    assert main(["compile", str(GOOD), "--mode", "choreography"]) == 0
    assert capsys.readouterr().out == to_choreography_json(order_saga())
    assert main(["compile", str(GOOD), "--mode", "choreography", "-o", str(tmp_path / "c.json")]) == 0
    assert (tmp_path / "c.json").read_text() == to_choreography_json(order_saga())
    assert main(["compile", str(GOOD), "--mode", "choreography", "-o", f"{tmp_path}/out/"]) == 0
    assert json.loads((tmp_path / "out" / "order_saga.choreography.json").read_text())["mode"] == "choreography"
    assert capsys.readouterr().err.strip().endswith("order_saga.choreography.json")


def test_cli_compile_default_mode_is_still_the_asl(capsys):
    assert main(["compile", str(GOOD), "--mode", "orchestration"]) == 0
    assert capsys.readouterr().out == (ROOT / "asl" / "order_saga.asl.json").read_text()
