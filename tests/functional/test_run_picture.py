"""`stepsaga run --svg FILE`: real runs of the order saga drawn on the state machine's picture.

What is highlighted is checked against the execution history itself (its ``*StateEntered`` events and the task
events of each state), not against the result object the picture is drawn from.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from stepsaga.cli import main
from stepsaga.local import Fail, Timeout
from stepsaga.pictures import draw_run, machine
from stepsaga.run_path import run_path

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "workflows" / "order_saga.py"
INPUTS = ROOT / "workflows" / "inputs"
SVG = "{http://www.w3.org/2000/svg}"

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (make test installs it)")


def load(name: str) -> dict:
    return json.loads((INPUTS / name).read_text())


def picture(svg: bytes) -> tuple[dict[str, tuple[str, list[str]]], list[tuple[str, str, str, str]]]:
    """(nodes: title -> (class, label lines), edges: [(source, target, class, label)]) of an SVG from dot."""
    root = ET.fromstring(svg)
    nodes, edges = {}, []
    for g in root.iter(f"{SVG}g"):
        kind, _, style = g.get("class", "").partition(" ")
        texts = [t.text for t in g.iter(f"{SVG}text")]
        title = g.find(f"{SVG}title").text if g.find(f"{SVG}title") is not None else ""
        if kind == "node":
            nodes[title] = (style, texts)
        elif kind == "edge":
            source, target = title.split("->")
            edges.append((source, target, style, texts[0] if texts else ""))
    return nodes, edges


def history_path(history: list[dict]) -> tuple[list[str], set[str]]:
    """The states entered, in order, and the Tasks whose last task event was a failure, read from the history."""
    entered, last_task_event = [], {}
    for ev in history:
        if ev["type"].endswith("StateEntered"):
            entered.append(ev["stateEnteredEventDetails"]["name"])
        elif ev["type"] in ("TaskSucceeded", "TaskFailed", "TaskTimedOut"):
            last_task_event[entered[-1]] = ev["type"]
    return entered, {name for name, kind in last_task_event.items() if kind != "TaskSucceeded"}


SCENARIOS = {
    "happy path": ("order.json", {}),
    "declined payment": ("order.json", {"ProcessPayment": Fail("PaymentDeclined", "card declined")}),
    "compensation fails for good": ("too_many.json", {"RefundPayment": Fail("RefundGatewayDown")}),
    "retried, then a timeout": ("order.json", {"ProcessPayment": Fail("PaymentGatewayTimeout", attempts=2), "ReserveInventory": Timeout()}),
    "notification dead-lettered": ("order.json", {"SendNotification": Fail("SmtpUnavailable")}),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_highlighted_states_are_exactly_the_states_the_history_shows(scenario, order_cloud, order_saga):
    payload, faults = SCENARIOS[scenario]
    result = order_cloud.run(load(payload), faults)
    entered, failed = history_path(result.history)
    nodes, edges = picture(draw_run(order_saga, result))
    taken = {name for name, (style, _) in nodes.items() if style.endswith(("Taken", "Failed"))}
    assert taken == set(entered)
    assert {name for name, (style, _) in nodes.items() if style.endswith("Failed")} == failed
    assert all(style.endswith("Idle") for name, (style, _) in nodes.items() if name not in taken)
    # the transitions taken, numbered in the order the history took them; every other edge is grey
    numbered = sorted((int(label.split(":")[0]), source, target) for source, target, style, label in edges if style.endswith("Taken"))
    assert [(s, t) for _, s, t in numbered] == list(zip(entered, entered[1:]))
    assert [n for n, _, _ in numbered] == list(range(1, len(entered)))
    assert all(style.endswith("Idle") for _, _, style, _ in edges if not style.endswith("Taken"))


def test_the_picture_says_what_each_scenario_did(order_cloud, order_saga):
    declined = order_cloud.run(load("order.json"), {"ProcessPayment": Fail("PaymentDeclined")})
    nodes, edges = picture(draw_run(order_saga, declined))
    assert nodes["ProcessPayment"] == ("stepFailed", ["ProcessPayment", "attempt 1: PaymentDeclined (injected)"])
    assert nodes["CancelOrder"][0] == "compensationTaken" and nodes["RefundPayment"][0] == "compensationIdle"
    assert ("ProcessPayment", "CancelOrder", "catchTaken", "4: PaymentDeclined") in edges
    texts = [t.text for t in ET.fromstring(draw_run(order_saga, declined)).iter(f"{SVG}text")]
    assert f"OrderSaga execution {declined.execution}: FAILED with PaymentDeclined" in texts
    assert "compensations: done CancelOrder; failed none; pending none" in texts

    order_cloud.reset()
    retried = order_cloud.run(load("order.json"), {"ProcessPayment": Fail("PaymentGatewayTimeout", attempts=2)})
    nodes, _ = picture(draw_run(order_saga, retried))
    assert nodes["ProcessPayment"] == ("stepTaken", ["ProcessPayment", "attempts 1-2: PaymentGatewayTimeout (injected)", "attempt 3: ok"])
    assert nodes["SagaSucceeded"][0] == "succeedTaken"

    order_cloud.reset()
    refund = order_cloud.run(load("too_many.json"), {"RefundPayment": Fail("RefundGatewayDown")})
    nodes, _ = picture(draw_run(order_saga, refund))
    assert nodes["RefundPayment"] == ("compensationFailed", ["RefundPayment", "undoes ProcessPayment", "attempts 1-7: RefundGatewayDown (injected)"])
    assert nodes["RefundPaymentDeadLetter"][0] == "deadLetterTaken" and nodes["SagaCompensationFailed"][0] == "failTaken"
    assert nodes["CancelOrder"][0] == "compensationIdle"  # pending: the chain stopped
    texts = [t.text for t in ET.fromstring(draw_run(order_saga, refund)).iter(f"{SVG}text")]
    assert "compensations: done none; failed RefundPayment; pending CancelOrder" in texts


def test_a_run_is_drawn_the_same_each_time(order_cloud, order_saga):
    result = order_cloud.run(load("order.json"), {"ProcessPayment": Fail("PaymentDeclined")}, name="ord-picture")
    assert draw_run(order_saga, result) == draw_run(order_saga, result)


def test_a_choreography_run_or_another_machines_run_has_no_path_here(order_saga):
    graph = machine(order_saga)
    with pytest.raises(ValueError, match="a choreography run has no path through the state machine"):
        run_path(graph, SimpleNamespace(mode="choreography", states=[]))
    step = SimpleNamespace(name="ValidateOrder", type="Task", succeeded=True, attempts=[])
    end = SimpleNamespace(name="SagaFailed", type="Fail", succeeded=False, attempts=[])
    with pytest.raises(ValueError, match="the run went from ValidateOrder to SagaFailed, but the state machine has no such transition by a Next or Choice"):
        run_path(graph, SimpleNamespace(mode="orchestration", states=[step, end], execution="x"))
    with pytest.raises(KeyError):
        run_path(graph, SimpleNamespace(mode="orchestration", states=[SimpleNamespace(name="Elsewhere")], execution="x"))


# --- the CLI -----------------------------------------------------------------------------------------------------


def run_cli(*argv: str) -> int:
    return main(["run", str(GOOD), "--input", f"@{INPUTS / 'order.json'}", *argv])


def test_run_svg_writes_the_picture_after_the_timeline(tmp_path, capsys):
    dest = tmp_path / "declined.svg"
    assert run_cli("--fail", "ProcessPayment=PaymentDeclined", "--svg", str(dest), "--json") == 0
    captured = capsys.readouterr()
    states = [s["name"] for s in json.loads(captured.out)["states"]]
    assert captured.err.endswith(f"wrote {dest}\n")
    nodes, _ = picture(dest.read_bytes())
    assert {n for n, (style, _) in nodes.items() if not style.endswith("Idle")} == set(states)
    assert nodes["CancelOrder"][0] == "compensationTaken"


def test_run_svg_of_both_modes_draws_the_orchestrations_run(tmp_path, capsys):
    dest = tmp_path / "both.svg"
    assert run_cli("--mode", "both", "--fail", "ProcessPayment=PaymentDeclined", "--svg", str(dest), "--json") == 0
    out = json.loads(capsys.readouterr().out)
    nodes, _ = picture(dest.read_bytes())
    assert {n for n, (style, _) in nodes.items() if not style.endswith("Idle")} == {s["name"] for s in out["orchestration"]["states"]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mode", "choreography"], "--svg draws the run's path through the compiled state machine, and a choreography has none; "
                                     "run with --mode orchestration or --mode both (it draws the orchestration's run), "
                                     "or draw the event flow with stepsaga graph PATH --mode choreography --format svg"),
        ([], "is a folder; name the picture's file, for example --svg"),
    ],
)
def test_run_svg_refuses_before_the_run(argv, message, tmp_path, capsys):
    dest = tmp_path if not argv else tmp_path / "x.svg"
    assert run_cli(*argv, "--svg", str(dest)) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""  # nothing ran
    assert not (tmp_path / "x.svg").exists()


def test_run_svg_without_graphviz_refuses_before_the_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    assert run_cli("--svg", str(tmp_path / "x.svg")) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "needs Graphviz's dot, which is not on PATH; install Graphviz" in captured.err


def test_the_readmes_run_svg_command_runs(tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line.strip() for block in re.findall(r"```sh\n(.*?)```", readme, re.S) for line in block.splitlines()]
    [argv] = [shlex.split(line, comments=True)[1:] for line in lines if line.startswith("stepsaga run ") and "--svg" in line]
    argv[argv.index("--svg") + 1] = str(tmp_path / "picture.svg")  # never into the repository
    monkeypatch.chdir(ROOT)
    assert main(argv) == 0
    nodes, _ = picture((tmp_path / "picture.svg").read_bytes())
    assert nodes["ProcessPayment"][0] == "stepFailed"
    capsys.readouterr()
