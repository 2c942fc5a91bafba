"""The CLI: compile, check and graph, their exit codes and messages, and a light compile path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stepsaga.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "workflows" / "order_saga.py"

BROKEN = '''
from stepsaga import Compensation, Retry, Saga, Step

saga = Saga("OrderSaga", [
    Step("ValidateOrder", "tasks.validate_order.handler"),
    Step("ProcessPayment", "tasks.process_payment.handler",
         retry=[Retry(["PaymentGatewayTimeout"], max_attempts=-1)],
         compensation=Compensation("RefundPayment", "compensations.refund_payment.handler")),
])
'''


def test_compile_prints_the_asl_to_stdout(capsys):
    assert main(["compile", str(GOOD)]) == 0
    assert capsys.readouterr().out == (ROOT / "asl" / "order_saga.asl.json").read_text()


def test_compile_with_attr_and_output_dir(tmp_path, capsys):
    assert main(["compile", f"{GOOD}:saga", "-o", f"{tmp_path}/"]) == 0
    assert json.loads((tmp_path / "order_saga.asl.json").read_text())["StartAt"] == "BeginSaga"


def test_compile_to_a_file(tmp_path):
    dest = tmp_path / "x" / "custom.json"
    assert main(["compile", str(GOOD), "-o", str(dest)]) == 0
    assert dest.read_text() == (ROOT / "asl" / "order_saga.asl.json").read_text()


def test_a_rejected_definition_exits_1_with_file_saga_step_and_fix(tmp_path, capsys):
    bad = tmp_path / "broken.py"
    bad.write_text(BROKEN)
    assert main(["compile", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"{bad}: saga OrderSaga, step ProcessPayment: retry[0].max_attempts is -1, but ASL MaxAttempts counts "
        "retries and must be a whole number from 0; write max_attempts=3 (the default), or 0 for no retries\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compile", "no/such/file.py"], "no/such/file.py: no such file"),
        (["compile", f"{GOOD}:missing"], "missing is not a Saga (sagas defined here: saga)"),
        (["compile"], "the following arguments are required"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_calls_exit_2(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_a_module_without_a_saga_is_rejected(tmp_path, capsys):
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    assert main(["compile", str(empty)]) == 1
    assert "defines no Saga" in capsys.readouterr().err


def test_a_crashing_workflow_module_is_rejected_with_its_line(tmp_path, capsys):
    crash = tmp_path / "crash.py"
    crash.write_text("import stepsaga\nraise RuntimeError('boom')\n")
    assert main(["compile", str(crash)]) == 1
    assert f"{crash}:2: RuntimeError: boom" in capsys.readouterr().err


def test_check_passes_on_the_repository(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["check"]) == 0


def test_check_fails_and_diffs_on_drift(tmp_path, capsys):
    asl = tmp_path / "asl"
    asl.mkdir()
    committed = (ROOT / "asl" / "order_saga.asl.json").read_text()
    (asl / "order_saga.asl.json").write_text(committed.replace('"MaxAttempts": 6', '"MaxAttempts": 2', 1))
    assert main(["check", "--workflows", str(ROOT / "workflows"), "--asl", str(asl), "--template", str(tmp_path / "none.yaml")]) == 1
    out = capsys.readouterr()
    assert "order_saga.asl.json is out of date" in out.err
    assert '-          "MaxAttempts": 2,' in out.out and '+          "MaxAttempts": 6,' in out.out


def test_check_lints_committed_asl(tmp_path, capsys):
    asl = tmp_path / "asl"
    asl.mkdir()
    (asl / "order_saga.asl.json").write_text((ROOT / "asl" / "order_saga.asl.json").read_text())
    (asl / "stray.asl.json").write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass"}}}')
    assert main(["check", "--workflows", str(ROOT / "workflows"), "--asl", str(asl), "--template", str(tmp_path / "none.yaml")]) == 1
    err = capsys.readouterr().err
    assert "stray.asl.json: state A: has neither Next nor End [no-transition]" in err
    assert "no saga in" in err


def test_graph_outlines_the_states(capsys):
    assert main(["graph", str(GOOD)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OrderSaga (STANDARD): 23 states, start at BeginSaga")
    assert "on PaymentDeclined -> CancelOrder; on States.DataLimitExceeded -> RefundPayment; on States.ALL -> RefundPayment" in out
    assert "if $.input_json StringMatches {* -> ValidateOrder; else -> SagaInputRejected" in out


def test_compile_path_imports_neither_boto3_nor_moto():
    code = (
        "import sys; from stepsaga.cli import main; rc = main(['compile', 'workflows/order_saga.py']);"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'moto', 'pydantic', 'ruamel', 'rich', 'yaml'});"
        "print(rc, heavy, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stderr.strip().splitlines()[-1] == "0 []"
    assert json.loads(proc.stdout)["StartAt"] == "BeginSaga"
