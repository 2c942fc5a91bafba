"""The README's factual claims agree with the Makefile and the compiled ASL they describe."""

from __future__ import annotations

import json
import re
from pathlib import Path

from stepsaga.loader import load
from stepsaga.orchestration import to_asl

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def demo_titles() -> list[str]:
    return re.findall(r'--title "([^"]+)"', (ROOT / "Makefile").read_text(encoding="utf-8"))


def test_the_quickstart_counts_the_demo_scenarios():
    failures = [t for t in demo_titles() if "happy path" not in t]
    [said] = re.findall(r"the happy path and (\w+) failure", README)
    assert said == NUMBERS[len(failures)], f"README says {said} failure scenarios; make demo runs {len(failures)}"


def _payload_keys(state: dict) -> set[str]:
    return {k.removesuffix(".$") for k in state["Parameters"]["Payload"]}


def test_the_readme_names_every_field_a_handler_receives():
    [saga] = load(str(ROOT / "workflows" / "order_saga.py"))
    states = json.loads(to_asl(saga))["States"]
    steps = {s.name for s in saga.steps}
    compensations = {s.compensation.name for s in saga.compensatable}
    step_keys = set().union(*(_payload_keys(states[n]) for n in steps))
    comp_keys = set().union(*(_payload_keys(states[n]) for n in compensations)) - step_keys
    [sentence] = re.findall(r"Every handler gets (.*?)the same on\s+every retry", README, re.S)
    quoted = set(re.findall(r'"(\w+)"', sentence))
    assert step_keys <= quoted, f"README omits {sorted(step_keys - quoted)}"
    assert comp_keys <= quoted, f"README omits the compensation fields {sorted(comp_keys - quoted)}"


# --- the choreography commands: each one the README shows runs, and what it says of `cost` is what it prints ---


def _readme_commands(*names: str) -> list[list[str]]:
    import shlex

    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line, comments=True)[1:] for line in lines if line.startswith("stepsaga ") and shlex.split(line, comments=True)[1] in names]


def test_every_choreography_command_in_the_readme_runs(tmp_path, monkeypatch, capsys):
    from stepsaga.cli import main

    commands = [c for c in _readme_commands("graph", "compile", "cost") if "choreography" in c or c[0] == "cost"]
    assert {c[0] for c in commands} == {"graph", "compile", "cost"}
    monkeypatch.chdir(ROOT)
    for argv in commands:
        argv = [str(tmp_path / "out") + "/" if i and argv[i - 1] == "-o" else a for i, a in enumerate(argv)]  # never into the repository
        assert main(argv) == 0, argv
    capsys.readouterr()


def test_the_readme_cost_table_is_what_cost_prints(capsys):
    from stepsaga.cli import main

    [argv] = _readme_commands("cost")
    assert main([a if a != "workflows/order_saga.py" else str(ROOT / a) for a in argv]) == 0
    out = capsys.readouterr().out
    totals = out[out.index("monthly total, "):]
    [block] = [b for b in re.findall(r"```text\n(.*?)```", README, re.S) if b.startswith("monthly total, ")]
    assert block == totals
    from stepsaga.cost import DEFAULT_INPUT_BYTES, DEFAULT_LAMBDA_MS, DEFAULT_RESULT_BYTES, IDLE_POLLERS_PER_QUEUE, LONG_POLL_SECONDS
    from stepsaga.functions import LAMBDA_MEMORY_MB

    prose = " ".join(README.split())
    assert f"{DEFAULT_LAMBDA_MS} ms per Lambda call" in prose and f"the template's {LAMBDA_MEMORY_MB} MB" in prose
    assert f"a {DEFAULT_INPUT_BYTES // 1024} KiB input" in prose and f"{DEFAULT_RESULT_BYTES}-byte results" in prose and f"every {LONG_POLL_SECONDS} s" in prose
    assert f"{NUMBERS[IDLE_POLLERS_PER_QUEUE]} idle long pollers per queue" in prose


def test_the_readme_event_pattern_commands_print_what_it_shows(capsys):
    import shlex

    from stepsaga.cli import main

    [block] = re.findall(r"```text\n(\$ stepsaga events test-pattern .*?)```", README, re.S)
    runs = re.findall(r"^\$ (.+)\n((?:(?!\$ ).*\n)*)", block, re.M)
    assert len(runs) == 3
    codes = []
    for command, shown in runs:
        argv = shlex.split(command)
        assert argv[:3] == ["stepsaga", "events", "test-pattern"]
        codes.append(main(argv[1:]))
        out = capsys.readouterr()
        assert out.out + out.err == shown, command
    assert codes == [0, 1, 2]  # and each exit code the README claims
