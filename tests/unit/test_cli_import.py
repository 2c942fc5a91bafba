"""`stepsaga import`, `stepsaga lint`, and `stepsaga compile` of a builder module: output, exit codes, light imports,
and the README's "Bring your existing ASL" commands (issue 11.4)."""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from pathlib import Path

import pytest

from stepsaga.cli import main
from tests.asl_helpers import same_asl

ROOT = Path(__file__).resolve().parents[2]
ORDER = ROOT / "asl" / "order_saga.asl.json"
TRAVEL = ROOT / "tests" / "asl_corpus" / "travel_booking.asl.json"
BROKEN = '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameter": {}}}}'


# --- stepsaga import ------------------------------------------------------------------------------------


def test_import_prints_the_saga_dsl_and_says_which_it_wrote(capsys):
    assert main(["import", str(ORDER)]) == 0
    out, err = capsys.readouterr()
    assert "saga = Saga(\n    \"OrderSaga\"," in out and "from stepsaga import Compensation, Retry, Saga, Step" in out
    assert err == f"{ORDER}: saga OrderSaga, as the Saga DSL\n"


def test_import_to_a_file_then_compile_gives_the_original_back(tmp_path, capsys):
    dest = tmp_path / "flows" / "travel.py"
    assert main(["import", str(TRAVEL), "-o", str(dest)]) == 0
    assert f"wrote {dest}: the low-level builder: a hand-written saga" in capsys.readouterr().err
    assert main(["compile", str(dest)]) == 0
    assert same_asl(capsys.readouterr().out, TRAVEL.read_text())
    assert main(["compile", str(dest), "-o", f"{tmp_path}/asl/"]) == 0  # named by the builder's name=
    assert (tmp_path / "asl" / "travel_booking.asl.json").is_file()


def test_import_into_a_folder_names_the_module_after_the_definition(tmp_path, capsys):
    assert main(["import", str(ORDER), "-o", f"{tmp_path}/"]) == 0
    assert (tmp_path / "order_saga.py").read_text().startswith("# Imported from")


def test_import_keeps_an_existing_module_unless_forced(tmp_path, capsys):
    dest = tmp_path / "mine.py"
    dest.write_text("# my own edits\n")
    assert main(["import", str(ORDER), "-o", str(dest)]) == 2
    assert capsys.readouterr().err == f"{dest}: exists; write to another -o, or add --force to replace it\n"
    assert dest.read_text() == "# my own edits\n"
    assert main(["import", str(ORDER), "-o", str(dest), "--force"]) == 0
    assert "saga = Saga(" in dest.read_text()


def test_import_builder_and_name_options(capsys):
    assert main(["import", str(ORDER), "--builder", "--name", "Orders"]) == 0
    out = capsys.readouterr().out
    assert 'state_machine = StateMachine(\n    name="Orders",' in out
    assert main(["import", str(ORDER), "--name", "order saga"]) == 2
    assert "--name 'order saga': write a name of letters and digits" in capsys.readouterr().err


def test_import_refuses_asl_the_linter_rejects_with_each_problem(tmp_path, capsys):
    bad = tmp_path / "bad.asl.json"
    bad.write_text(BROKEN)
    assert main(["import", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{bad}: state A: Parameter is not a field of a Task state; did you mean Parameters? [unknown-field]",
        f"{bad}: state A: has neither Next nor End [no-transition]",
        f"{bad}: fix the problems above first; `stepsaga lint {bad}` lists them again",
    ]


@pytest.mark.parametrize("command", ["import", "lint"])
@pytest.mark.parametrize(
    ("setup", "says"),
    [
        (lambda d: d / "missing.asl.json", "cannot read: No such file or directory"),
        (lambda d: d, "is a folder; name an ASL file"),
        (lambda d: (d / "x.json").write_text("{nope") and d / "x.json", "is not JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        (lambda d: (d / "x.json").write_bytes(b"\xff\xfe{}") and d / "x.json", "is not UTF-8 text"),
    ],
    ids=["missing", "folder", "not-json", "not-utf8"],
)
def test_an_unreadable_file_exits_2(command, setup, says, tmp_path, capsys):
    path = setup(tmp_path)
    assert main([command, str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"{path}: {says}")


# --- stepsaga lint --------------------------------------------------------------------------------------


def test_lint_exits_0_on_clean_files_and_1_on_problems(tmp_path, capsys):
    assert main(["lint", str(ORDER), str(TRAVEL)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == f"{ORDER}: no problems\n{TRAVEL}: no problems\n"
    bad = tmp_path / "bad.asl.json"
    bad.write_text(BROKEN)
    assert main(["lint", str(ORDER), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{bad}: state A: Parameter is not a field of a Task state; did you mean Parameters? [unknown-field]",
        f"{bad}: state A: has neither Next nor End [no-transition]",
    ]
    assert err.endswith(f"{bad}: 2 problems\n")
    assert main(["lint", str(bad), str(tmp_path / "gone.json")]) == 2  # an unreadable file outweighs problems


# --- stepsaga compile of a builder module ---------------------------------------------------------------

BUILDER_MODULE = '''
from stepsaga.asl.builder import Pass, StateMachine, Succeed

flow = StateMachine(start_at="A", states={"A": Pass(result={"ok": True}, next="B"), "B": Succeed()})
'''


def test_compile_takes_a_builder_module_named_by_its_variable(tmp_path, capsys):
    module = tmp_path / "flows.py"
    module.write_text(BUILDER_MODULE)
    assert main(["compile", str(module)]) == 0
    assert json.loads(capsys.readouterr().out)["States"]["A"] == {"Type": "Pass", "Result": {"ok": True}, "Next": "B"}
    assert main(["compile", f"{module}:flow", "-o", f"{tmp_path}/out/"]) == 0
    assert (tmp_path / "out" / "flow.asl.json").is_file()
    assert main(["compile", f"{module}:nothing"]) == 2
    assert "nothing is not a Saga or a StateMachine (defined here: flow)" in capsys.readouterr().err


def test_compile_rejects_a_builder_machine_the_linter_rejects(tmp_path, capsys):
    module = tmp_path / "broken_flow.py"
    module.write_text(BUILDER_MODULE.replace('next="B"', 'next="C"'))
    assert main(["compile", str(module)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{module}: state machine flow: state A: Next 'C' names no state [next-missing]",
        f"{module}: state machine flow: state B: cannot be reached from StartAt 'A' [unreachable]",
    ]
    assert main(["compile", str(module), "--mode", "choreography"]) == 1  # a choreography needs a Saga


# --- the README ------------------------------------------------------------------------------------------


def test_the_readme_import_section_commands_run(tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Bring your existing ASL"):]
    section = section[: section.index("\n## ", 4)]
    lines = [line.split(" #")[0].strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S) for line in block.splitlines()]
    commands = [shlex.split(line, comments=True)[1:] for line in lines if line.startswith("stepsaga ")]
    assert {c[0] for c in commands} >= {"import", "compile", "lint"}
    monkeypatch.chdir(tmp_path)  # the commands' own -o paths land here, never in the repository
    (tmp_path / "asl").mkdir()
    (tmp_path / "asl" / "order_saga.asl.json").write_text(ORDER.read_text())
    (tmp_path / "tests" / "asl_corpus").mkdir(parents=True)
    (tmp_path / "tests" / "asl_corpus" / "travel_booking.asl.json").write_text(TRAVEL.read_text())
    for argv in commands:
        assert main(argv) == 0, argv
    capsys.readouterr()


def test_the_readme_builder_example_compiles(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Bring your existing ASL"):]
    [example] = re.findall(r"```python\n(.*?)```", section[: section.index("\n## ", 4)], re.S)
    module = tmp_path / "refunds.py"
    module.write_text(textwrap.dedent(example))
    assert main(["compile", str(module), "-o", f"{tmp_path}/"]) == 0
    doc = json.loads((tmp_path / "refunds.asl.json").read_text())
    assert doc["QueryLanguage"] == "JSONata" and doc["States"]["Refund"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]
