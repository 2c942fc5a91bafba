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
