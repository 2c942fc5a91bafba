"""``query_language="JSONata"``: the golden file, the same machine as JSONPath, and the same events and records.

The routing is the JSONPath machine's state for state; only where the data lives differs. The handler events,
repair records and Fail states are evaluated here with jsonata-python (the local runtime's evaluator) and
compared with what the JSONPath machine gives for the same saga data (``stepsaga.asl.evaluate``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stepsaga import Compensation, Saga, Step
from stepsaga.asl import lint
from stepsaga.asl.evaluate import evaluate as evaluate_jsonpath
from stepsaga.errors import DefinitionError
from stepsaga.asl.evaluate_jsonata import render as render_jsonata
from stepsaga.orchestration import compile_saga, placeholders, to_asl
from tests.golden.jsonata_order_saga import saga as jsonata_saga
from workflows.order_saga import saga as order_saga

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "order_saga_jsonata.asl.json"
JSONPATH_ONLY = ("Parameters", "ResultSelector", "ResultPath", "InputPath", "OutputPath", "ErrorPath", "CausePath", "Variable")
DATA_FIELDS = ("Parameters", "ResultSelector", "ResultPath", "OutputPath", "ErrorPath", "CausePath",
               "Arguments", "Assign", "Output", "Error", "Cause", "Variable", "StringMatches", "Condition")


def doc(saga: Saga) -> dict[str, Any]:
    return json.loads(to_asl(saga))


def test_the_jsonata_order_saga_matches_its_golden_file():
    assert to_asl(jsonata_saga) == GOLDEN.read_text(encoding="utf-8")


def test_the_golden_file_is_what_the_documented_command_writes(tmp_path):
    out = tmp_path / "order_saga_jsonata.asl.json"
    proc = subprocess.run(
        [sys.executable, "-m", "stepsaga.cli", "compile", "tests/golden/jsonata_order_saga.py", "-o", str(out)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "7"},
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8") == GOLDEN.read_text(encoding="utf-8")


def test_query_language_jsonata_is_declared_once_at_the_top_and_jsonpath_is_left_out():
    assert doc(jsonata_saga)["QueryLanguage"] == "JSONata"
    assert "QueryLanguage" not in doc(order_saga)  # the States Language's default
    assert all("QueryLanguage" not in state for state in doc(jsonata_saga)["States"].values())


def _skeleton(definition: dict[str, Any]) -> dict[str, Any]:
    """A machine without its data fields: states, types, transitions, retriers, catchers, timeouts, resources,
    and the Error and Cause a Fail state writes as they are (not read from the data)."""
    def state(value: dict[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in value.items() if k not in DATA_FIELDS and k not in ("Catch", "Choices")}
        kept.update({k: value[k] for k in ("Error", "Cause") if k in value and "{%" not in value[k]})
        if "Catch" in value:
            kept["Catch"] = [{"ErrorEquals": c["ErrorEquals"], "Next": c["Next"]} for c in value["Catch"]]
        if "Choices" in value:
            kept["Choices"] = [c["Next"] for c in value["Choices"]]
        return kept

    return {**{k: v for k, v in definition.items() if k not in ("QueryLanguage", "States")},
            "States": {name: state(value) for name, value in definition["States"].items()}}


def test_the_machine_is_the_jsonpath_one_state_for_state():
    jsonpath, jsonata = _skeleton(doc(order_saga)), _skeleton(doc(jsonata_saga))
    assert list(jsonata["States"]) == list(jsonpath["States"])
    # BeginSaga says where the input and records are kept: in the state, or in variables
    assert jsonata["States"].pop("BeginSaga").pop("Comment") != jsonpath["States"].pop("BeginSaga").pop("Comment")
    assert jsonata == jsonpath


def test_no_jsonpath_field_or_path_key_is_left_in_the_jsonata_machine():
    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                assert not key.endswith(".$"), f"{where}.{key}"
                walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")
        elif isinstance(value, str):
            assert "States." not in value or "{%" not in value, f"{where}: an intrinsic function in JSONata: {value}"

    for name, state in doc(jsonata_saga)["States"].items():
        assert not set(JSONPATH_ONLY) & set(state), name
        for catcher in state.get("Catch", []):
            assert "ResultPath" not in catcher, name
        walk(state, name)


def expressions(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [e for v in value.values() for e in expressions(v)]
    if isinstance(value, list):
        return [e for v in value for e in expressions(v)]
    return [value] if isinstance(value, str) and value.startswith("{%") else []


def test_every_expression_is_one_jsonata_expression_that_parses():
    import jsonata

    found = expressions(doc(jsonata_saga)["States"])
    assert len(found) > 50
    for text in found:
        assert text.startswith("{% ") and text.endswith(" %}") and text.count("{%") == 1, text
        jsonata.Jsonata(text[3:-3])  # raises on a syntax error


def test_the_placeholders_and_the_linter_are_the_same_as_jsonpaths():
    assert placeholders(jsonata_saga) == placeholders(order_saga)
    text = to_asl(jsonata_saga)
    assert sorted(set(part.split("}")[0] for part in text.split("${")[1:])) == sorted(placeholders(order_saga))
    machine = compile_saga(jsonata_saga)
    assert lint(machine.to_json(), machine.duplicate_names()) == []


def test_a_bad_query_language_names_the_saga_and_the_field_and_says_what_to_write():
    with pytest.raises(DefinitionError) as info:
        order_saga.replace(query_language="jsonata")
    assert str(info.value) == (
        "saga OrderSaga: query_language is 'jsonata', but the States Language has the query languages JSONPath "
        "and JSONata; write query_language='JSONata'"
    )


# --- the same data: events, records and Fail states ------------------------------------------------


ORDER = {"order_id": "ord-1", "items": [{"sku": "B", "quantity": 2}], "note": 'a "quoted" note', "none": None}
RESULTS = {"ValidateOrder": {"output": {"order_id": "ord-1", "amount": "33.00"}}, "ProcessPayment": {"output": [1, [2]]}}
ERROR = {"Error": "OutOfStock", "Cause": '{"errorMessage": "no stock"}'}
COMP_ERROR = {"Error": "RefundGatewayDown", "Cause": "gateway down"}
EXECUTION = {"Name": "ord-1-run", "Id": "arn:aws:states:us-east-1:123456789012:execution:OrderSaga:ord-1-run"}


def _jsonpath_doc() -> dict[str, Any]:
    return {"input": ORDER, "results": RESULTS, "compensated": {"ReleaseInventory": {"output": None}},
            "compensation_order": ["ReleaseInventory", "RefundPayment", "CancelOrder"],
            "error": ERROR, "compensation_error": COMP_ERROR, "dead_lettered": {"SendNotification": ERROR}}


def _variables() -> dict[str, Any]:
    return {"input": ORDER, "results": RESULTS, "compensated": {"ReleaseInventory": {"output": None}},
            "saga_error": ERROR, "compensation_error": COMP_ERROR, "retriable_error": ERROR}


@pytest.mark.parametrize("workflow_type", ["STANDARD", "EXPRESS"])
def test_every_handler_gets_the_event_the_jsonpath_machine_sends(workflow_type):
    from tests.functional.test_express import express_order_saga

    jsonpath_saga = express_order_saga() if workflow_type == "EXPRESS" else order_saga
    jsonpath, jsonata = doc(jsonpath_saga)["States"], doc(jsonpath_saga.replace(query_language="JSONata"))["States"]
    context = {"Execution": EXECUTION, "State": {"Name": "x", "RetryCount": 0}}
    for state in jsonpath_saga.handlers():
        want = evaluate_jsonpath(jsonpath[state]["Parameters"], _jsonpath_doc(), context)
        got = render_jsonata(jsonata[state]["Arguments"], _variables(), {"input": {}, "context": context})
        assert got == want, state
        assert got["Payload"]["saga_id"] == EXECUTION["Id" if workflow_type == "EXPRESS" else "Name"]


def test_each_step_and_compensation_merges_its_handler_output_as_jsonpath_places_it():
    jsonata = doc(jsonata_saga)["States"]
    results: dict[str, Any] = {}
    for step in ("ValidateOrder", "ProcessPayment"):
        [(var, expr)] = jsonata[step]["Assign"].items()
        results = render_jsonata(expr, {"results": results}, {"result": {"Payload": RESULTS[step]["output"], "StatusCode": 200}})
        assert var == "results"
    assert results == RESULTS
    [(var, expr)] = jsonata["ReleaseInventory"]["Assign"].items()
    assert (var, render_jsonata(expr, {"compensated": {}}, {"result": {"Payload": None}})) == ("compensated", {"ReleaseInventory": {"output": None}})


def test_the_repair_records_and_the_fail_states_are_jsonpaths():
    jsonpath, jsonata = doc(order_saga)["States"], doc(jsonata_saga)["States"]
    context = {"Execution": EXECUTION}
    for state in ("SendNotificationDeadLetter", "ReleaseInventoryDeadLetter", "RefundPaymentDeadLetter", "CancelOrderDeadLetter"):
        want = evaluate_jsonpath(_sliced(jsonpath[state]["Parameters"]), _jsonpath_doc(), context)
        assert render_jsonata(jsonata[state]["Arguments"], _variables(), {"context": context}) == want, state
        keep = state.replace("DeadLetter", "RepairRecord")
        kept = render_jsonata(jsonata[keep]["Output"], {**_variables(), "dead_letter_error": COMP_ERROR}, {"context": context})
        assert kept == {**want["MessageBody"], "not_sent_because": COMP_ERROR}
        cause = render_jsonata(jsonata["StepRecordNotSent"]["Cause"], {}, {"input": kept})
        assert json.loads(cause) == kept
    failed = jsonata["SagaFailed"]
    assert render_jsonata([failed["Error"], failed["Cause"]], _variables(), {}) == [ERROR["Error"], ERROR["Cause"]]
    assert render_jsonata(jsonata["SagaCompensationFailed"]["Cause"], _variables(), {}) == (
        f"RefundGatewayDown while compensating OutOfStock: gateway down"
    )


def _sliced(parameters: dict[str, Any]) -> dict[str, Any]:
    # stepsaga.asl.evaluate reads plain paths only: the JSONPath records' pending list is the slice
    # $.compensation_order[k:], written here as the list it selects.
    body = dict(parameters["MessageBody"])
    path = body.pop("compensations_pending.$", None)
    if path is not None:
        start = int(path.rsplit("[", 1)[1].split(":")[0])
        body["compensations_pending"] = _jsonpath_doc()["compensation_order"][start:]
    return {**parameters, "MessageBody": body}


def test_begin_saga_keeps_the_input_and_lets_only_an_object_on():
    jsonata = doc(jsonata_saga)["States"]
    begin, check = jsonata["BeginSaga"], jsonata["CheckSagaInput"]
    assert render_jsonata(begin["Assign"], {}, {"input": ORDER}) == {"input": ORDER, "results": {}, "compensated": {}}
    output = render_jsonata(begin["Output"], {}, {"input": ORDER})
    assert output == {"input": ORDER, "input_json": json.dumps(ORDER, separators=(",", ":"))}
    [rule] = check["Choices"]
    for value, on in ((ORDER, True), ({}, True), ([1], False), ([], False), ("{x}", False), (None, False), (3, False), (True, False)):
        assert render_jsonata(rule["Condition"], {}, {"input": {"input": value}}) is on, value
    assert "Output" not in check and render_jsonata(rule["Output"], {}, {"input": output}) == ORDER


def test_a_saga_without_compensations_or_retriable_steps_compiles_in_jsonata_too():
    tiny = Saga("Tiny", [Step("Only", "app.only.handler")], query_language="JSONata")
    states = doc(tiny)["States"]
    assert list(states) == ["BeginSaga", "CheckSagaInput", "Only", "SagaInputRejected", "SagaSucceeded", "SagaFailed"]
    assert [c["Next"] for c in states["Only"]["Catch"]] == ["SagaFailed", "SagaFailed"]
    two = Saga("Two", [Step("A", "app.a.handler", compensation=Compensation("UndoA", "app.undo.handler")),
                       Step("B", "app.b.handler", business_errors=["Nope"])], query_language="JSONata")
    catch = doc(two)["States"]["B"]["Catch"]
    assert [(c["ErrorEquals"], c["Next"]) for c in catch] == [
        (["States.DataLimitExceeded"], "UndoA"), (["States.ALL"], "UndoA")]  # B has no compensation: its failure undoes A


# --- the CLI: compile, template and check take a JSONata saga ---------------------------------------


@pytest.fixture()
def jsonata_project(tmp_path, monkeypatch):
    """The reference project with its saga switched to JSONata: workflows/, the handlers, and an empty asl/."""
    import shutil

    for code in ("tasks", "compensations"):  # stepsaga check imports every handler from its code folder
        shutil.copytree(ROOT / code, tmp_path / code, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "workflows").mkdir()
    source = (ROOT / "workflows" / "order_saga.py").read_text()
    assert source.count('    mode="both",\n)') == 1
    (tmp_path / "workflows" / "order_saga.py").write_text(source.replace('    mode="both",\n)', '    mode="both",\n    query_language="JSONata",\n)'))
    (tmp_path / "asl").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_compile_template_and_check_take_a_jsonata_saga_with_the_same_substitutions(jsonata_project, capsys):
    from stepsaga.cli import main

    assert main(["compile", "workflows/order_saga.py", "-o", "asl/"]) == 0
    assert (jsonata_project / "asl" / "order_saga.asl.json").read_text() == GOLDEN.read_text()
    assert main(["template"]) == 0
    assert main(["check"]) == 0
    assert "ok: 1 saga(s) in workflows/ match asl/ and template.yaml" in capsys.readouterr().out
    # The template is the JSONPath saga's, DefinitionSubstitutions included: the ASL file's name is the same,
    # and so are its placeholders.
    from stepsaga.sam import Layout, render

    here = Layout(jsonata_project / "template.yaml", jsonata_project / "asl", jsonata_project)
    assert (jsonata_project / "template.yaml").read_text() == render(None, here.generate([order_saga]), prune=True)


def test_check_reports_a_jsonata_asl_that_drifted(jsonata_project, capsys):
    from stepsaga.cli import main

    assert main(["compile", "workflows/order_saga.py", "-o", "asl/"]) == 0
    assert main(["template"]) == 0
    asl = jsonata_project / "asl" / "order_saga.asl.json"
    asl.write_text(asl.read_text().replace("{% $saga_error.Cause %}", "{% $saga_error.Error %}"))
    assert main(["check"]) == 1
    captured = capsys.readouterr()
    assert "asl/order_saga.asl.json is out of date; run: stepsaga compile workflows/order_saga.py:saga -o asl/" in captured.err
    assert '+      "Cause": "{% $saga_error.Cause %}"' in captured.out


def test_no_output_reads_a_variable_its_own_assign_sets():
    # Step Functions evaluates a state's (or catcher's) Assign and Output with the values it started with;
    # moto evaluates Output after Assign. A machine where the two differ would run one way locally, another on AWS.
    import re

    def assigned_and_read(holder: dict[str, Any]) -> tuple[set[str], set[str]]:
        read = {name for text in expressions(holder.get("Output")) for name in re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", text)}
        return set(holder.get("Assign", {})), read

    checked = 0
    for name, state in doc(jsonata_saga)["States"].items():
        for holder in (state, *state.get("Catch", []), *state.get("Choices", [])):
            assigned, read = assigned_and_read(holder)
            assert not assigned & read, name
            checked += bool(assigned) and bool(holder.get("Output"))
    assert checked >= 1  # BeginSaga assigns and outputs


def test_graph_outlines_a_jsonata_machine_with_the_same_transitions(capsys):
    from stepsaga.cli import main

    assert main(["graph", "tests/golden/jsonata_order_saga.py"]) == 0
    jsonata_lines = capsys.readouterr().out.splitlines()
    assert main(["graph", "workflows/order_saga.py"]) == 0
    jsonpath_lines = capsys.readouterr().out.splitlines()
    assert "  CheckSagaInput                Choice         if {% $type($states.input.input) = 'object' %} -> ValidateOrder; else -> SagaInputRejected" in jsonata_lines
    assert "  SagaFailed                    Fail           fails with {% $saga_error.Error %}" in jsonata_lines
    # the Tasks and Passes, their transitions, catchers and retriers, line for line
    same = [i for i, line in enumerate(jsonpath_lines) if line[32:].startswith(("Task", "Pass"))]
    assert len(same) == 16 and [jsonata_lines[i] for i in same] == [jsonpath_lines[i] for i in same]
