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
        (["compile", f"{GOOD}:missing"], "missing is not a Saga or a StateMachine (defined here: saga)"),
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


# --- every user mistake: 2 for a bad call, 1 for a rejected definition, 3 only for a bug of ours ---

ORDER = f"@{ROOT / 'workflows' / 'inputs' / 'order.json'}"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seed", "invntory=[]"], "seed for table 'invntory': saga OrderSaga declares no table 'invntory'; did you mean inventory?"),
        (["--seed", 'inventory=[{"sku": "PEN-003", "available": 3}]'],
         "seed for table inventory: item 0 has no key 'pk' ({'sku': 'PEN-003', 'available': 3}); every item needs the key 'pk' as a non-empty string"),
        (["--seed", 'inventory=[{"pk": 7}]'], "seed for table inventory: item 0 has 'pk' = 7 ({'pk': 7}); every item needs the key 'pk' as a non-empty string"),
        (["--seed", "inventory"], "--seed 'inventory' is not TABLE=JSON or TABLE=@FILE; write for example --seed 'inventory=[{\"pk\": \"SKU#1\"}]'"),
        (["--seed", "inventory=@/no/such/seed.json"], "seed file /no/such/seed.json: cannot read: No such file or directory"),
        (["--seed", "inventory={not json"], "--seed inventory '{not json' is not JSON (Expecting property name enclosed in double quotes at line 1); write JSON or @FILE"),
        (["--fail", "ProcesPayment=PaymentDeclined"], "fault on 'ProcesPayment': the saga has no such step or compensation; did you mean ProcessPayment?"),
        (["--fail", "ProcessPayment"], "'ProcessPayment' is not STATE=ERROR[@N]; write for example ProcessPayment=PaymentDeclined or ProcessPayment=PaymentGatewayTimeout@2"),
    ],
)
def test_run_bad_calls_exit_2_before_anything_starts(extra, message, capsys):
    assert main(["run", str(GOOD), "--input", ORDER, *extra]) == 2
    assert capsys.readouterr().err.strip() == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("@/no/such/order.json", "--input @/no/such/order.json: cannot read /no/such/order.json: No such file or directory"),
        ("{'order_id': 1}", "--input \"{'order_id': 1}\" is not JSON (Expecting property name enclosed in double quotes at line 1); write JSON or @FILE"),
    ],
)
def test_run_bad_input_exits_2(value, message, capsys):
    assert main(["run", str(GOOD), "--input", value]) == 2
    assert capsys.readouterr().err.strip() == message


def test_writing_into_a_file_as_if_it_were_a_folder_exits_2(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    assert main(["compile", str(GOOD), "-o", str(tmp_path / "afile" / "x.json")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"{tmp_path}/afile/x.json: cannot write: {tmp_path}/afile is a file, not a folder; write -o to a folder or a file path in one"
    )


def test_a_folder_as_a_workflow_file_exits_2(capsys):
    assert main(["compile", str(ROOT / "workflows")]) == 2
    assert capsys.readouterr().err.strip() == f"{ROOT / 'workflows'}: is a folder; name a workflow file; for example {ROOT / 'workflows' / 'order_saga.py'}"


def test_check_with_a_file_for_the_asl_folder_exits_2(tmp_path, capsys):
    (tmp_path / "asl").write_text("")
    assert main(["check", "--asl", str(tmp_path / "asl")]) == 2
    assert capsys.readouterr().err.strip() == f"--asl {tmp_path / 'asl'}: is a file; name the folder of the compiled ASL"


def test_a_crash_in_a_users_project_named_like_stepsaga_is_located_in_the_users_file(tmp_path, capsys):
    # the old helper dropped every frame whose path contained "stepsaga" and blamed <frozen importlib._bootstrap>
    app = tmp_path / "mystepsaga_app"
    app.mkdir()
    (app / "wf.py").write_text("import stepsaga\n\nsettings = {}\nregion = settings['region']\n")
    assert main(["compile", str(app / "wf.py")]) == 1
    assert capsys.readouterr().err.strip() == f"{app / 'wf.py'}:4: KeyError: 'region'"


def test_a_syntax_error_in_a_workflow_is_located_at_its_line(tmp_path, capsys):
    (tmp_path / "wf.py").write_text("from stepsaga import Saga\n\nsaga = Saga(\n")
    assert main(["compile", str(tmp_path / "wf.py")]) == 1
    assert capsys.readouterr().err.startswith(f"{tmp_path / 'wf.py'}:3: SyntaxError: ")


def test_a_crash_inside_stepsaga_is_a_bug_of_ours_exit_3(monkeypatch, capsys):
    import stepsaga.names
    import stepsaga.orchestration

    monkeypatch.setattr(stepsaga.orchestration, "to_asl", stepsaga.names.snake_case)  # a Saga is no str: TypeError in re
    assert main(["compile", str(GOOD)]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{Path(stepsaga.names.__file__)}:") and "TypeError" in err
