"""``stepsaga events test-pattern``: exit codes as grep's, every reason on stderr, and a light import path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stepsaga.cli import main

ROOT = Path(__file__).resolve().parents[2]
PATTERN = '{"source": ["shop.orders"], "detail": {"amount": [{"numeric": [">", 100]}]}}'


def test_a_matching_event_exits_0_and_prints_match(capsys):
    assert main(["events", "test-pattern", PATTERN, '{"source": "shop.orders", "detail": {"amount": 250}}']) == 0
    assert capsys.readouterr() == ("match\n", "")


def test_an_event_that_does_not_match_exits_1_and_prints_no_match(capsys):
    assert main(["events", "test-pattern", PATTERN, '{"source": "shop.orders", "detail": {"amount": 50}}']) == 1
    assert capsys.readouterr() == ("no match\n", "")


def test_an_invalid_pattern_exits_2_with_every_reason_on_stderr(capsys):
    bad = '{"source": "shop.orders", "detail": {"amount": [{"numerc": [">", 100]}]}}'
    assert main(["events", "test-pattern", bad, "{}"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == (
        'pattern source: is "shop.orders", not an array of values; write ["shop.orders"] (the value of a field is an array or an object)\n'
        "pattern detail.amount[0]: unknown operator 'numerc'; did you mean 'numeric'?\n"
    )


def test_a_pattern_that_is_not_an_object_exits_2(capsys):
    assert main(["events", "test-pattern", '["shop.orders"]', "{}"]) == 2
    assert capsys.readouterr().err == 'pattern is an array, not a JSON object; write a JSON object, for example {"source": ["shop.orders"]}\n'


@pytest.mark.parametrize(("pattern", "event", "message"), [
    ('{"source": [', "{}", "pattern '{\"source\": [' is not JSON (Expecting value at line 1); write JSON or @FILE\n"),
    (PATTERN, "{oops}", "event '{oops}' is not JSON (Expecting property name enclosed in double quotes at line 1); write JSON or @FILE\n"),
    (PATTERN, '["shop.orders"]', 'event is ["shop.orders"], not a JSON object; write the event as an object, for example {"source": "shop.orders", "detail": {}}\n'),
    (PATTERN, "null", 'event is null, not a JSON object; write the event as an object, for example {"source": "shop.orders", "detail": {}}\n'),
])
def test_json_that_is_not_a_pattern_or_an_event_exits_2(pattern, event, message, capsys):
    assert main(["events", "test-pattern", pattern, event]) == 2
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", message)


def test_pattern_and_event_may_be_files(tmp_path, capsys):
    (tmp_path / "rule.json").write_text(PATTERN)
    (tmp_path / "event.json").write_text(json.dumps({"source": "shop.orders", "detail": {"amount": 101}}))
    assert main(["events", "test-pattern", f"@{tmp_path / 'rule.json'}", f"@{tmp_path / 'event.json'}"]) == 0
    assert capsys.readouterr().out == "match\n"


def test_an_unreadable_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "missing.json"
    assert main(["events", "test-pattern", f"@{missing}", "{}"]) == 2
    assert capsys.readouterr().err == f"pattern @{missing}: cannot read {missing}: No such file or directory\n"


@pytest.mark.parametrize("args", [["events"], ["events", "test-pattern", PATTERN], ["events", "frobnicate"]])
def test_a_bad_call_of_the_group_exits_2(args, capsys):
    assert main(args) == 2
    assert "usage: stepsaga events" in capsys.readouterr().err


def test_the_installed_command_exits_as_grep_does_and_imports_nothing_heavy(tmp_path):
    # A fresh interpreter, as a shell runs it: the exit code, and what the command loaded.
    code = (
        "import sys; from stepsaga.cli import main; rc = main(sys.argv[1:]);"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'moto', 'pydantic', 'rich', 'ruamel', 'yaml'});"
        "print(heavy, file=sys.stderr); sys.exit(rc)"
    )
    event = '{"source": "shop.orders", "detail": {"amount": 250}}'
    codes = []
    for args in ([PATTERN, event], [PATTERN, "{}"], ['{"source": []}', event]):
        proc = subprocess.run([sys.executable, "-c", code, "events", "test-pattern", *args], cwd=ROOT, capture_output=True, text=True)
        assert proc.stderr.strip().splitlines()[-1] == "[]"
        codes.append(proc.returncode)
    assert codes == [0, 1, 2]
