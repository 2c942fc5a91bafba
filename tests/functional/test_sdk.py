"""The Data Science SDK extra (stepsaga[sdk]): SDK workflows into stepsaga (lint, local run, template), sagas out.

The SDK is a dev dependency, so none of this is skipped.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from stepsaga.errors import SdkError, SdkExportError, TemplateError
from stepsaga.orchestration import to_asl

ROOT = Path(__file__).resolve().parents[2]
#: What the issue says the SDK rejects, and what a saga's Fail states need besides.
SDK_GAPS = {"ResultSelector", "Arguments", "Assign", "QueryLanguage", "Output", "ErrorPath", "CausePath"}
RETRIER_GAPS = {"MaxDelaySeconds", "JitterStrategy"}


@pytest.fixture(scope="module")
def example():
    sys.path.insert(0, str(ROOT))
    import examples.sdk_workflow as module

    return module


@pytest.fixture(scope="module")
def saga():
    from stepsaga.loader import load

    [found] = load(str(ROOT / "workflows" / "order_saga.py"))
    return found


def gaps_of(definition: dict) -> list[tuple[str, str]]:
    """The fields of the SDK's known gaps that a definition holds, found by walking it."""
    out = [("(definition)", k) for k in definition if k in SDK_GAPS]
    for name, state in definition["States"].items():
        out += [(name, k) for k in state if k in SDK_GAPS]
        for i, retrier in enumerate(state.get("Retry", [])):
            out += [(f"{name}.Retry[{i}]", k) for k in retrier if k in RETRIER_GAPS]
        for i, catcher in enumerate(state.get("Catch", [])):
            out += [(f"{name}.Catch[{i}]", k) for k in catcher if k in SDK_GAPS]
    return out


def without(definition: dict, dropped) -> dict:
    """The definition less the fields named by ``(where, field)`` pairs."""
    out = copy.deepcopy(definition)
    for where, field in dropped:
        if where == "(definition)":
            del out[field]
            continue
        name, _, index = where.partition(".")
        state = out["States"][name]
        if index:
            key, _, number = index.partition("[")
            del state[key][int(number.rstrip("]"))][field]
        else:
            del state[field]
    return out


def test_exporting_a_saga_names_every_field_the_sdk_cannot_express(saga):
    from stepsaga.sdk import export_saga, unsupported

    asl = json.loads(to_asl(saga))
    expected = gaps_of(asl)
    assert {f for _, f in expected} == {"ResultSelector", "JitterStrategy", "MaxDelaySeconds", "ErrorPath", "CausePath"}
    with pytest.raises(SdkExportError) as caught:
        export_saga(saga)
    assert sorted(caught.value.unsupported) == sorted(expected) == sorted(unsupported(asl))
    text = str(caught.value)
    assert "drop_unsupported=True" in text and "  ProcessPayment.Retry[0]: JitterStrategy" in text and "  SagaFailed: ErrorPath" in text


def test_every_gap_the_issue_names_is_reported_at_once():
    from stepsaga.sdk import to_sdk

    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Charge",
        "States": {
            "Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Arguments": {"FunctionName": "charge"},
                       "Assign": {"tried": True}, "Output": "{% $states.result %}",
                       "Retry": [{"ErrorEquals": ["States.ALL"], "MaxDelaySeconds": 5, "JitterStrategy": "FULL"}],
                       "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed", "Assign": {"x": 1}}], "Next": "Done"},
            "Done": {"Type": "Pass", "Assign": {"done": True}, "End": True},
            "Failed": {"Type": "Fail", "ErrorPath": "$.Error"},
        },
    }
    with pytest.raises(SdkExportError) as caught:
        to_sdk(definition, what="the test definition")
    assert list(caught.value.unsupported) == [
        ("(definition)", "QueryLanguage"),
        ("Charge", "Arguments"), ("Charge", "Assign"), ("Charge", "Output"),
        ("Charge.Retry[0]", "MaxDelaySeconds"), ("Charge.Retry[0]", "JitterStrategy"),
        ("Charge.Catch[0]", "Assign"),
        ("Done", "Assign"),
        ("Failed", "ErrorPath"),
    ]


def test_a_dropped_export_renders_as_the_compiled_asl_less_the_dropped_fields(saga):
    from stepsaga.sdk import export_saga, from_sdk

    asl = json.loads(to_asl(saga))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        graph = export_saga(saga, drop_unsupported=True)
    dropped = gaps_of(asl)
    assert [str(w.message) for w in seen] == [f"saga OrderSaga: {where}: the Data Science SDK cannot express {field}; dropped" for where, field in dropped]
    assert graph.to_dict() == without(asl, dropped)
    # the round trip: the SDK's Graph imported back is the same document
    assert from_sdk(graph) == without(asl, dropped)
    assert type(graph).__name__ == "Graph" and type(graph).__module__ == "stepfunctions.steps.states"


def test_a_sdk_chain_round_trips_through_stepsaga(example):
    from stepfunctions.steps import Graph
    from stepfunctions.workflow import Workflow

    from stepsaga.sdk import from_sdk, to_sdk

    definition = from_sdk(example.workflow)
    assert to_sdk(definition).to_dict() == definition
    assert from_sdk(Graph(example.workflow)) == definition
    import boto3

    client = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    assert from_sdk(Workflow("Payments", example.workflow, role="arn:aws:iam::123456789012:role/x", client=client)) == definition
    assert from_sdk(example.charge)["StartAt"] == "Charge"  # a single state: its graph
    with pytest.raises(SdkError, match="dict is not a Data Science SDK workflow"):
        from_sdk(definition)


def test_an_imported_workflow_lints_runs_locally_and_templates(example):
    from stepsaga.asl.lint import lint
    from stepsaga.local.definition import run_definition
    from stepsaga.sam import definition_resource
    from stepsaga.sdk import from_sdk

    definition = from_sdk(example.workflow)
    assert lint(definition) == []
    ok = run_definition(definition, {"order_id": "o-1", "amount": 30}, handlers=example.HANDLERS)
    assert ok.status == "SUCCEEDED" and ok.entered == ["Charge", "SendReceipt", "Done"]
    assert ok.output["receipt"]["Payload"] == {"sent_for": 30}
    declined = run_definition(definition, {"order_id": "o-2", "amount": 300}, handlers=example.HANDLERS)
    assert (declined.status, declined.error, declined.entered) == ("FAILED", "CardDeclined", ["Charge", "Declined"])
    retried = run_definition(definition, {"order_id": "o-3", "amount": 30}, handlers=example.HANDLERS, faults={"charge": "GatewayTimeout@2"})
    assert [(c.state, c.attempt, c.outcome) for c in retried.calls] == [("charge", 1, "error"), ("charge", 2, "error"), ("charge", 3, "ok"), ("receipt", 1, "ok")]
    assert retried.virtual_seconds == 2 + 4  # the SDK's Retry, 2 s backoff 2.0, on the virtual clock
    missing = run_definition(definition, {"order_id": "o-4", "amount": 30}, handlers={"charge": example.charge_handler})
    assert missing.status == "FAILED" and missing.error == "Lambda.ResourceNotFoundException"
    resource = definition_resource(definition)
    assert resource["Type"] == "AWS::Serverless::StateMachine" and resource["Properties"]["Definition"] == definition
    assert resource["Properties"]["Policies"] == [{"LambdaInvokePolicy": {"FunctionName": "charge"}}, {"LambdaInvokePolicy": {"FunctionName": "receipt"}}]


def test_the_template_says_which_task_it_cannot_grant():
    from stepsaga.sam import definition_resource

    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.fn"}, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution", "Parameters": {}, "Next": "C"},
        "C": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Parameters": {"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/1/jobs", "MessageBody": "x"}, "End": True},
    }}
    with pytest.raises(TemplateError) as caught:
        definition_resource(definition)
    assert str(caught.value).splitlines() == [
        "state A: its FunctionName is chosen at run time (FunctionName.$); add its policy to the resource's Policies yourself",
        "state B: stepsaga has no SAM policy template for its Resource 'arn:aws:states:::states:startExecution'; add its policy to the resource's Policies yourself",
    ]
    del definition["States"]["A"], definition["States"]["B"]
    definition["StartAt"] = "C"
    assert definition_resource(definition, definition_uri="asl/jobs.asl.json")["Properties"] == {
        "Type": "STANDARD", "DefinitionUri": "asl/jobs.asl.json", "Tracing": {"Enabled": True},
        "Policies": [{"SQSSendMessagePolicy": {"QueueName": "jobs"}}],
    }


def test_the_sdk_is_imported_only_when_used_and_leaves_the_root_logger_alone():
    code = (
        "import logging, sys\n"
        "logging.getLogger().setLevel(logging.WARNING)\n"
        "import stepsaga.sdk, stepsaga.cli\n"
        "assert 'stepfunctions' not in sys.modules\n"
        "stepsaga.sdk.unsupported({'StartAt': 'A', 'States': {'A': {'Type': 'Succeed'}}})\n"
        "assert 'stepfunctions' in sys.modules\n"
        "assert logging.getLogger().level == logging.WARNING, logging.getLogger().level\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_the_commands(tmp_path, monkeypatch, capsys, example):
    from stepsaga.asl.render import render
    from stepsaga.cli import main
    from stepsaga.sdk import from_sdk

    monkeypatch.chdir(ROOT)
    assert main(["sdk", "import", "examples/sdk_workflow.py:workflow"]) == 0
    assert capsys.readouterr().out == render(from_sdk(example.workflow))
    asl = tmp_path / "payments.asl.json"
    assert main(["sdk", "import", "examples/sdk_workflow.py:workflow", "--template", "-o", str(asl)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Resources:\n  WorkflowStateMachine:\n    Type: AWS::Serverless::StateMachine\n")
    assert f"DefinitionUri: {asl}" in out and "FunctionName: receipt" in out
    assert json.loads(asl.read_text()) == from_sdk(example.workflow)
    assert main(["sdk", "import", "examples/sdk_workflow.py"]) == 0  # its one workflow, found without ATTR
    assert capsys.readouterr().out == render(from_sdk(example.workflow))
    assert main(["sdk", "import", "workflows/order_saga.py"]) == 2
    assert "defines 0 Data Science SDK workflows (none); name one with workflows/order_saga.py:ATTR" in capsys.readouterr().err
    assert main(["sdk", "import", "examples/sdk_workflow.py:HANDLERS"]) == 1
    assert "HANDLERS is dict, not a Data Science SDK" in capsys.readouterr().err

    assert main(["sdk", "export", "workflows/order_saga.py"]) == 1
    err = capsys.readouterr().err
    assert "cannot express 29 field(s)" in err and "SendNotification.Retry[2]: MaxDelaySeconds" in err
    assert main(["sdk", "export", "workflows/order_saga.py", "--drop-unsupported"]) == 0
    captured = capsys.readouterr()
    assert "warning: saga OrderSaga: SagaFailed: the Data Science SDK cannot express ErrorPath; dropped" in captured.err
    assert "ResultSelector" not in captured.out and '"StartAt": "BeginSaga"' in captured.out


def _readme_commands(*names: str) -> list[list[str]]:
    import re
    import shlex

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    lines = [shlex.split(line, comments=True) for block in blocks for line in block.splitlines() if line.startswith("stepsaga ")]
    return [argv[1:] for argv in lines if argv[1] in names]


def test_the_readme_commands_of_both_sections_run(tmp_path, monkeypatch, capsys):
    # the README writes into build/; here into a temporary folder
    from stepsaga.cli import main

    monkeypatch.chdir(ROOT)
    commands = _readme_commands("mock-config", "sdk")
    assert [c[:2] for c in commands] == [["mock-config", "workflows/order_saga.py"], ["sdk", "import"], ["sdk", "import"], ["sdk", "export"]]
    for argv in commands:
        argv = [str(tmp_path / a.removeprefix("build/")) if a.startswith("build/") else a for a in argv]
        assert main(argv) == 0, (argv, capsys.readouterr().err)
    assert (tmp_path / "MockConfigFile.json").read_text() == (ROOT / "tests/golden/order_saga.MockConfigFile.json").read_text()
    assert {p.name for p in tmp_path.iterdir()} == {"MockConfigFile.json", "OrderSaga.local.asl.json", "sdk_workflow.asl.json", "order_saga.sdk.json"}


def test_the_readme_python_example_runs(monkeypatch):
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "stepsaga.sdk" in b]
    monkeypatch.syspath_prepend(str(ROOT))
    exec(compile(block, "README.md", "exec"), {})


def test_without_the_extra_the_commands_say_how_to_install_it(monkeypatch, capsys):
    from stepsaga.cli import main
    from stepsaga.errors import SdkNotInstalledError
    from stepsaga.sdk import unsupported

    monkeypatch.chdir(ROOT)
    monkeypatch.setitem(sys.modules, "stepfunctions.steps", None)  # what a venv without stepsaga[sdk] has
    with pytest.raises(SdkNotInstalledError, match=r"pip install 'stepsaga\[sdk\]'"):
        unsupported({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})
    assert main(["sdk", "export", "workflows/order_saga.py"]) == 2
    assert "install it with: pip install 'stepsaga[sdk]' (the stepfunctions-without-sagemaker package)" in capsys.readouterr().err
