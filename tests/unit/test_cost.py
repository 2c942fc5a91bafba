"""`stepsaga cost`: counts from the compiled ASL and the plan, each line item's arithmetic, the price file, the CLI."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from datetime import date
from pathlib import Path

import pytest

from stepsaga import Compensation, EventTrigger, Retry, Saga, Step
from stepsaga.choreography.events import EventDetail, entry_size, put_events_entry
from stepsaga.choreography.plan import plan
from stepsaga.cli import main
from stepsaga.cost import (
    DAYS_PER_MONTH,
    DEFAULT_INPUT_BYTES,
    DEFAULT_LAMBDA_MS,
    DEFAULT_RESULT_BYTES,
    IDLE_POLLERS_PER_QUEUE,
    LAMBDA_ARCHITECTURE,
    LONG_POLL_SECONDS,
    UNEXPECTED_ERROR,
    estimate,
    load_prices,
    play_plan,
    render_text,
    sized,
    to_json,
    walk_asl,
)
from stepsaga.functions import LAMBDA_MEMORY_MB
from stepsaga.loader import load
from stepsaga.orchestration import to_asl

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "workflows" / "order_saga.py"
ORDER = ROOT / "workflows" / "inputs" / "order.json"
SMALL_INPUT = {"id": "1"}


def order_saga() -> Saga:
    [saga] = load(str(GOOD))
    return saga


def chain(n: int, *, retry: list[Retry] | None = None, **kw) -> Saga:
    """A saga of n steps, each with a compensation; the last step's retriers are ``retry``."""
    return Saga(f"Chain{n}", [
        Step(f"Step{i}", f"tasks.step{i}.handler", compensation=Compensation(f"Undo{i}", f"compensations.undo{i}.handler"),
             retry=retry if retry and i == n - 1 else [])
        for i in range(n)
    ], **kw)


def round_prices() -> dict:
    """The shipped file with round prices, so that every line item can be worked out by hand."""
    prices = copy.deepcopy(load_prices())
    for key, value in {
        "stepfunctions_standard_transition": 0.01, "stepfunctions_express_request": 0.02, "stepfunctions_express_gb_second": 0.5,
        "eventbridge_custom_event": 0.03, "sqs_standard_request": 0.001, "lambda_request": 0.04, "lambda_gb_second_x86": 0.1,
        "dynamodb_on_demand_write_unit": 0.002, "dynamodb_on_demand_read_unit": 0.0005,
    }.items():
        prices["prices"][key]["value"] = value
    return prices


def lines(cost) -> dict[str, tuple]:
    """(per saga, per month, USD) by price key; ":monthly" marks a fixed monthly count, "+" a second line of a price."""
    out: dict[str, tuple] = {}
    for line in cost.lines:
        key = line.price + ("" if line.per_saga is not None else ":monthly")
        while key in out:
            key += "+"
        out[key] = (line.per_saga, line.monthly, line.usd)
    return out


# --- the counts --------------------------------------------------------------------------------


def test_the_orchestration_walks_the_compiled_machine():
    doc = json.loads(to_asl(order_saga()))
    happy = walk_asl(doc)
    assert happy.states == ("BeginSaga", "CheckSagaInput", "ValidateOrder", "ProcessPayment", "ReserveInventory", "SendNotification", "SagaSucceeded")
    assert (happy.transitions, happy.lambda_invocations, happy.sqs_sends) == (7, 4, 0)
    undone = walk_asl(doc, {"ReserveInventory": UNEXPECTED_ERROR})
    assert undone.states[4:] == ("ReserveInventory", "ReleaseInventory", "RefundPayment", "CancelOrder", "SagaFailed")
    assert (undone.transitions, undone.lambda_invocations) == (9, 6)
    declined = walk_asl(doc, {"ProcessPayment": "PaymentDeclined"})  # a business error skips its own step's undo
    assert declined.states[3:] == ("ProcessPayment", "CancelOrder", "SagaFailed")
    dead = walk_asl(doc, {"SendNotification": UNEXPECTED_ERROR, "SendNotificationDeadLetter": "QueueDown"})
    # past the point of no return: 5 retries (States.ALL), the repair record's 5 retries, then its Fail state
    assert dead.states.count("SendNotification") == 6 and dead.states.count("SendNotificationDeadLetter") == 6
    assert dead.states[-2:] == ("SendNotificationRepairRecord", "StepRecordNotSent")
    assert (dead.lambda_invocations, dead.sqs_sends) == (4 + 5, 6)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_each_step_adds_one_transition_and_one_event_to_the_happy_path_and_two_to_the_compensated(n):
    e = estimate(chain(n), 1)
    happy, undone = e.cost("orchestration-standard", "happy"), e.cost("orchestration-standard", "compensated")
    assert len(happy.detail["states"]) == n + 3  # BeginSaga, CheckSagaInput, the steps, SagaSucceeded
    assert len(undone.detail["states"]) == 2 * n + 3  # ... the steps, every compensation, SagaFailed
    assert (happy.detail["lambda_invocations"], undone.detail["lambda_invocations"]) == (n, 2 * n)
    chor_happy, chor_undone = e.cost("choreography", "happy"), e.cost("choreography", "compensated")
    assert len(chor_happy.detail["events"]) == n + 2  # Started, each step's success, Completed
    assert len(chor_undone.detail["events"]) == 2 * n + 2  # Started, n-1 successes, the failure, n done events, Aborted
    # every event reaches the saga log; each step and compensation takes one delivery
    assert len(chor_happy.detail["deliveries"]) == (n + 2) + n
    assert len(chor_undone.detail["deliveries"]) == (2 * n + 2) + 2 * n


def test_the_choreography_plays_the_plans_routing():
    p = plan(order_saga())
    happy = play_plan(p, SMALL_INPUT, 10)
    assert [e.name for e in happy.events] == ["OrderSagaStarted", "OrderValidated", "PaymentProcessed", "InventoryReserved",
                                               "NotificationSent", "OrderSagaCompleted"]
    undone = play_plan(p, SMALL_INPUT, 10, "ReserveInventory")
    assert [e.name for e in undone.events][3:] == ["InventoryFailed", "InventoryReleased", "PaymentRefunded", "OrderCancelled", "OrderSagaAborted"]
    assert [(d.event, d.consumer) for d in undone.deliveries if d.consumer != "SagaLog"][3:] == [
        ("InventoryFailed", "ReleaseInventory"), ("InventoryReleased", "RefundPayment"), ("PaymentRefunded", "CancelOrder")]
    declined = play_plan(p, SMALL_INPUT, 10, "ReserveInventory", "OutOfStock")  # business: RefundPayment starts the undo
    assert [(d.event, d.consumer) for d in declined.deliveries if d.consumer != "SagaLog"][3] == ("InventoryFailed", "RefundPayment")
    first = play_plan(p, SMALL_INPUT, 10, "ValidateOrder", "InvalidOrder")  # nothing to undo: the step aborts the saga itself
    assert [e.name for e in first.events] == ["OrderSagaStarted", "OrderFailed", "OrderSagaAborted"]
    assert happy.handler_deliveries == 4 and happy.log_deliveries == 6 and undone.retried == ()


def test_event_sizes_are_measured_on_the_events_own_model():
    p = plan(order_saga())
    flow = play_plan(p, json.loads(ORDER.read_text()), 300, "ReserveInventory")
    for e in flow.events:
        detail = EventDetail.model_validate(e.detail)  # the detail has exactly the model's fields and types
        assert e.detail_bytes == len(detail.model_dump_json().encode())
        assert e.entry_bytes == entry_size(put_events_entry(e.name, p.event(e.name).source, detail, "bus"))
        assert e.message_bytes > e.entry_bytes  # SQS receives the whole event: envelope and detail
    sizes = [e.detail_bytes for e in flow.events]
    assert sizes[1] - sizes[0] >= 300 and sizes[2] - sizes[1] >= 300  # results travel with the events
    assert flow.events[3].detail["error"]["Error"] == UNEXPECTED_ERROR and flow.events[3].detail["business_error"] is False


def test_a_retry_is_a_transition_an_invocation_and_a_redelivery():
    e = estimate(chain(2, retry=[Retry(["States.ALL"], interval_seconds=1, max_attempts=2, backoff_rate=2.0)]), 1,
                 saga_input=SMALL_INPUT, result_bytes=10, lambda_ms=100)
    std = e.cost("orchestration-standard", "compensated")
    assert std.detail["states"].count("Step1") == 3 and len(std.detail["states"]) == 2 * 2 + 3 + 2
    assert std.detail["lambda_invocations"] == 4 + 2
    # Express bills the waits too: 6 calls of 100 ms, then 1 s and 2 s before the retries
    assert e.cost("orchestration-express", "compensated").detail["billed_seconds"] == pytest.approx(0.6 + 3)
    chor, plain = lines(e.cost("choreography", "compensated")), lines(estimate(chain(2), 1, saga_input=SMALL_INPUT, result_bytes=10).cost("choreography", "compensated"))
    assert chor["lambda_request"][0] == plain["lambda_request"][0] + 2
    assert chor["sqs_standard_request"][0] == plain["sqs_standard_request"][0] + 2 * 2  # ChangeMessageVisibility, ReceiveMessage
    assert e.cost("choreography", "compensated").detail["retries"] == 2
    assert estimate(chain(2, retry=[Retry(["SeatGone"], max_attempts=4)]), 1).cost("choreography", "compensated").detail["retries"] == 0


# --- the arithmetic of each line item ----------------------------------------------------------


def small(**kw):
    return estimate(chain(2), 1000, lambda_ms=200, memory_mb=512, saga_input=SMALL_INPUT, result_bytes=10, prices=round_prices(), **kw)


def test_standard_line_items_by_hand():
    std = small().cost("orchestration-standard", "happy")
    # 1,000 a day = 30,000 a month; 5 transitions, 2 calls of 200 ms at 512 MB = 2 x 0.2 s x 0.5 GB = 0.2 GB-s
    assert lines(std) == {
        "stepfunctions_standard_transition": (5, 150_000, pytest.approx(1_500.0)),
        "lambda_request": (2, 60_000, pytest.approx(2_400.0)),
        "lambda_gb_second_x86": (pytest.approx(0.2), pytest.approx(6_000), pytest.approx(600.0)),
    }
    assert std.total == pytest.approx(4_500.0)
    assert small().cost("orchestration-standard", "compensated").total == pytest.approx(7 * 300 + 4 * 30_000 * 0.04 + 0.4 * 30_000 * 0.1)


def test_express_line_items_by_hand_with_its_billing_steps():
    exp = small().cost("orchestration-express", "happy")
    # 2 x 200 ms = 400 ms, at the 64 MB chunk: 0.4 s x 1/16 GB = 0.025 GB-s a saga
    assert lines(exp)["stepfunctions_express_request"] == (1, 30_000, pytest.approx(600.0))
    assert lines(exp)["stepfunctions_express_gb_second"] == (pytest.approx(0.025), pytest.approx(750), pytest.approx(375.0))
    rounded = estimate(chain(2), 1000, lambda_ms=115, saga_input=SMALL_INPUT, prices=round_prices()).cost("orchestration-express", "happy")
    assert rounded.detail["billed_seconds"] == pytest.approx(0.3)  # 230 ms is billed as 300 ms: rounded up, not to the nearest
    assert lines(rounded)["stepfunctions_express_gb_second"][0] == pytest.approx(0.3 / 16)


def test_choreography_line_items_by_hand():
    chor = small().cost("choreography", "happy")
    # 4 events (Started, Step0Succeeded, Step1Succeeded, Chain2Completed), each under 64 KB
    # 6 deliveries (2 steps, 4 to the log) x (SendMessage + ReceiveMessage + DeleteMessage) = 18 requests
    # 5 queues (2 steps, 2 compensations, the log) x 5 pollers x 2,592,000 s / 20 s = 3,240,000 idle polls a month
    # 6 Lambda calls (2 consumers, 4 projections) x 0.2 s x 0.5 GB; ledger: 3 writes x 2 deliveries; log: 2 units x 4 events
    assert lines(chor) == {
        "eventbridge_custom_event": (4, 120_000, pytest.approx(3_600.0)),
        "sqs_standard_request": (18, 540_000, pytest.approx(540.0)),
        "sqs_standard_request:monthly": (None, pytest.approx(3_240_000), pytest.approx(3_240.0)),
        "lambda_request": (6, 180_000, pytest.approx(7_200.0)),
        "lambda_gb_second_x86": (pytest.approx(0.6), pytest.approx(18_000), pytest.approx(1_800.0)),
        "dynamodb_on_demand_write_unit": (6, 180_000, pytest.approx(360.0)),
        "dynamodb_on_demand_write_unit+": (8, 240_000, pytest.approx(480.0)),
    }
    assert ["ledger" in chor.lines[-2].item, "saga log" in chor.lines[-1].item] == [True, True]
    assert 5 * IDLE_POLLERS_PER_QUEUE * DAYS_PER_MONTH * 86_400 / LONG_POLL_SECONDS == 3_240_000  # the constants it assumes
    undone = small().cost("choreography", "compensated")
    # 6 events, 10 deliveries (4 handlers, 6 to the log): 30 SQS requests, 10 Lambda calls, 4 x 3 = 12 ledger
    # writes; the last four events carry the error's 512-byte cause (and the results), just over 1 KB: 2 units
    # each for their log items, 1 for the two before, and 1 per event for the summary: 2 x 1 + 4 x 2 + 6 = 16
    assert [e["detail_bytes"] > 1024 for e in undone.detail["events"]] == [False] * 2 + [True] * 4
    assert [lines(undone)[k][0] for k in ("eventbridge_custom_event", "sqs_standard_request", "lambda_request",
                                          "dynamodb_on_demand_write_unit", "dynamodb_on_demand_write_unit+")] == [6, 30, 10, 12, 16]


def test_large_events_are_billed_per_64_kb_chunk_everywhere():
    big = {"blob": "x" * 70_000}  # over one 64 KB chunk, under two
    chor = estimate(chain(1), 1, saga_input=big, result_bytes=10, prices=round_prices()).cost("choreography", "happy")
    got = lines(chor)
    assert got["eventbridge_custom_event"][0] == 3 * 2  # 3 events, 2 chunks each
    assert got["sqs_standard_request"][0] == 4 * (2 + 2 + 1)  # 4 deliveries: send and receive carry 2 chunks, delete 1
    [_, log] = [line for line in chor.lines if line.price == "dynamodb_on_demand_write_unit"]
    assert log.per_saga == 3 * (69 + 1)  # each log item holds a ~70 KB detail: 69 write units of 1 KB; the summary 1


def test_defaults_are_the_documented_ones():
    e = estimate(chain(2), 10)
    a = e.assumptions
    assert (a.lambda_ms, a.memory_mb, a.input_bytes, a.result_bytes) == (DEFAULT_LAMBDA_MS, LAMBDA_MEMORY_MB, DEFAULT_INPUT_BYTES, DEFAULT_RESULT_BYTES)
    assert a.sagas_per_month == 10 * DAYS_PER_MONTH
    assert e.failing == "Step1" and e.deployed == ("orchestration-standard",)
    both = Saga("Quick", [Step("ChargeCard", "tasks.charge.handler")], mode="both", workflow_type="EXPRESS")
    assert estimate(both, 1).deployed == ("orchestration-express", "choreography")


def test_the_real_prices_multiply_the_counts():
    prices = load_prices()["prices"]
    e = estimate(order_saga(), 10_000)
    std = lines(e.cost("orchestration-standard", "happy"))
    assert std["stepfunctions_standard_transition"] == (7, 2_100_000, pytest.approx(2_100_000 * prices["stepfunctions_standard_transition"]["value"]))
    for c in e.costs:
        for line in c.lines:
            assert line.usd == pytest.approx(line.monthly * prices[line.price]["value"])
            if line.per_saga is not None:
                assert line.monthly == pytest.approx(line.per_saga * 300_000)


def test_a_saga_without_compensations_has_no_compensated_path():
    e = estimate(Saga("Notify", [Step("SendNotification", "tasks.send.handler", retriable=True)]), 1)
    assert e.failing is None and {c.path for c in e.costs} == {"happy"}
    assert to_json(e)["totals"]["choreography"].keys() == {"happy"}
    assert "no compensated path" in render_text(e)


def test_an_event_trigger_adds_saga_start_its_queue_and_delivery():
    saga = Saga("Shop", [Step("ChargeCard", "tasks.charge.handler", compensation=Compensation("RefundCard", "compensations.refund.handler"))],
                triggers=[EventTrigger("shop.orders", "OrderPlaced")])
    chor = estimate(saga, 1).cost("choreography", "happy")
    assert chor.detail["deliveries"][0] == {"event": "(the EventTrigger's event)", "consumer": "SagaStart"}
    assert chor.detail["events"][0]["producer"] == "SagaStart" and chor.detail["queues"] == 4  # step, compensation, log, start


# --- the price file ----------------------------------------------------------------------------


def test_every_price_says_its_value_unit_page_and_date():
    doc = load_prices()
    assert (doc["region"], doc["currency"]) == ("us-east-1", "USD")
    entries = {**doc["prices"], **doc["billing"]}
    assert set(doc["prices"]) >= {
        "stepfunctions_standard_transition", "stepfunctions_express_request", "stepfunctions_express_gb_second",
        "eventbridge_custom_event", "sqs_standard_request", "lambda_request", "lambda_gb_second_x86",
        "dynamodb_on_demand_write_unit", "dynamodb_on_demand_read_unit",
    }
    for key, entry in entries.items():
        assert isinstance(entry["value"], (int, float)) and entry["value"] > 0, key
        assert isinstance(entry["unit"], str) and entry["unit"], key
        assert re.fullmatch(r"https://(aws\.amazon\.com|docs\.aws\.amazon\.com)/\S+", entry["url"]), key
        assert date.fromisoformat(entry["date"]) <= date.today(), key
        assert entry["found"] in ("search", "known"), key


def test_the_price_file_ships_with_the_package():
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "data/*.json" in doc["tool"]["setuptools"]["package-data"]["stepsaga"]


def test_the_estimate_prices_what_the_template_deploys():
    from stepsaga import sam
    from stepsaga.sam import resources

    assert resources.LAMBDA_MEMORY_MB is LAMBDA_MEMORY_MB
    [generated] = sam.Layout(ROOT / "template.yaml", ROOT / "asl", ROOT).generate([order_saga()])
    functions = [r["Properties"] for r in generated.resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert functions and {f["MemorySize"] for f in functions} == {estimate(order_saga(), 1).assumptions.memory_mb}
    assert {a for f in functions for a in f["Architectures"]} == {LAMBDA_ARCHITECTURE}


# --- the command -------------------------------------------------------------------------------


def test_cli_cost_prints_the_tables_and_the_totals(capsys):
    assert main(["cost", str(GOOD), "--per-day", "10000"]) == 0
    out = capsys.readouterr().out
    assert out == render_text(estimate(order_saga(), 10_000))
    e = estimate(order_saga(), 10_000)
    total = e.cost("choreography", "compensated").total
    # the reference saga deploys both modes (mode="both"): each deployed one says so
    assert re.search(rf"^  choreography, EventBridge \+ SQS +{e.cost('choreography', 'happy').total:,.2f} +{total:,.2f}  \(deployed\)$", out, re.M)
    assert re.search(r"^  orchestration, Step Functions Standard .*\(deployed\)$", out, re.M)
    assert "7 state transitions (BeginSaga -> CheckSagaInput -> ValidateOrder" in out


def test_cli_cost_json_has_every_line_and_the_options(capsys):
    assert main(["cost", str(GOOD), "--per-day", "500", "--lambda-ms", "250", "--memory-mb", "1024", "--input", f"@{ORDER}",
                 "--result-bytes", "100", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    want = estimate(order_saga(), 500, lambda_ms=250, memory_mb=1024, saga_input=json.loads(ORDER.read_text()), result_bytes=100)
    assert doc == json.loads(json.dumps(to_json(want)))
    assert doc["assumptions"]["lambda_ms"] == 250 and doc["assumptions"]["memory_mb"] == 1024
    assert doc["assumptions"]["input_bytes"] == sized(json.loads(ORDER.read_text()))
    assert doc["totals"]["orchestration-standard"]["happy"] == round(want.cost("orchestration-standard", "happy").total, 6)
    line = doc["costs"][0]["lines"][2]
    assert line["price"] == "lambda_gb_second_x86" and line["per_saga"] == pytest.approx(4 * 0.25 * 1.0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "the following arguments are required: --per-day"),
        (["--per-day", "0"], "argument --per-day: 0 is out of range; write a whole number from 1"),
        (["--per-day", "-5"], "argument --per-day: -5 is out of range; write a whole number from 1"),
        (["--per-day", "ten"], "argument --per-day: 'ten' is not a whole number"),
        (["--per-day", "1.5"], "argument --per-day: '1.5' is not a whole number"),
        (["--per-day", "10", "--memory-mb", "64"], "argument --memory-mb: 64 is out of range; write a whole number from 128 to 10240"),
        (["--per-day", "10", "--lambda-ms", "0"], "argument --lambda-ms: 0 is out of range; write a whole number from 1 to 900000"),
        (["--per-day", "10", "--input", "[1, 2]"], "--input [1, 2]: is a JSON list, but a saga's input is a JSON object; write {...}"),
        (["--per-day", "10", "--input", "@/no/such.json"], "--input @/no/such.json: cannot read /no/such.json: No such file or directory"),
    ],
)
def test_cli_cost_bad_calls_exit_2(extra, message, capsys):
    assert main(["cost", str(GOOD), *extra]) == 2
    assert message in capsys.readouterr().err


def test_cli_cost_of_a_rejected_definition_exits_1(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("from stepsaga import Saga, Step\nsaga = Saga('Bad', [Step('charge card', 'tasks.charge.handler')])\n")
    assert main(["cost", str(bad), "--per-day", "10"]) == 1
    assert "saga Bad" in capsys.readouterr().err


def test_cli_cost_help_states_the_real_defaults(capsys):
    assert main(["cost", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {DEFAULT_LAMBDA_MS})" in text and f"(default: the template's, {LAMBDA_MEMORY_MB})" in text
    assert f"(default: {DEFAULT_RESULT_BYTES})" in text and f"(default: a {DEFAULT_INPUT_BYTES // 1024} KiB JSON object)" in text


def test_json_and_tables_show_no_float_noise(capsys):
    # 6 calls x 0.025 GB-s x 300,000 sagas is 45000.00000000001 in floating point
    assert main(["cost", str(GOOD), "--per-day", "10000", "--json"]) == 0
    undone = [c for c in json.loads(capsys.readouterr().out)["costs"] if c["mode"] == "orchestration-standard" and c["path"] == "compensated"]
    assert undone[0]["lines"][2]["monthly"] == 45_000 and repr(undone[0]["lines"][2]["monthly"]) == "45000.0"
    assert "45,000.0 " not in render_text(estimate(order_saga(), 10_000))
