"""The ASL linter on hand-written broken definitions: each rule fires, and only where it should."""

from __future__ import annotations

import json

import pytest

from stepsaga.asl import lint, lint_text


def machine(**states: dict) -> dict:
    """A definition starting at the first state given."""
    return {"StartAt": next(iter(states)), "States": states}


TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}


def rules(doc: dict) -> list[tuple[str | None, str]]:
    return [(p.state, p.rule) for p in lint(doc)]


def test_a_clean_definition_has_no_problems():
    doc = machine(
        A={**TASK, "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"]}],
           "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}], "Next": "Done"},
        Done={"Type": "Succeed"},
        Failed={"Type": "Fail", "Error": "E"},
    )
    assert lint(doc) == []


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        pytest.param(machine(A={"Type": "Pass", "End": True}, B={"Type": "Succeed"}), [("B", "unreachable")], id="unreachable"),
        pytest.param(machine(A={"Type": "Pass", "Next": "Nowhere"}), [("A", "next-missing")], id="next-missing"),
        pytest.param(
            machine(A={**TASK, "End": True, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]}),
            [("A", "next-missing")],
            id="catch-next-missing",
        ),
        pytest.param(machine(A={"Type": "Pass"}), [("A", "no-transition")], id="neither-next-nor-end"),
        pytest.param(machine(A={"Type": "Pass", "Next": "B", "End": True}, B={"Type": "Succeed"}), [("A", "next-and-end")], id="next-and-end"),
        pytest.param(
            machine(A={**TASK, "End": True, "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}),
            [("A", "states-all-last")],
            id="retry-states-all-not-last",
        ),
        pytest.param(
            machine(A={**TASK, "End": True, "Catch": [{"ErrorEquals": ["States.ALL", "X"], "Next": "A"}]}),
            [("A", "states-all-last")],
            id="catch-states-all-not-alone",
        ),
        pytest.param(machine(**{"N" * 81: {"Type": "Succeed"}}), [("N" * 81, "name-length")], id="name-too-long"),
        pytest.param(machine(A={**TASK, "End": True, "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": -1}]}), [("A", "retry-range")], id="max-attempts"),
        pytest.param(machine(A={**TASK, "End": True, "Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 0}]}), [("A", "retry-range")], id="interval"),
        pytest.param(machine(A={**TASK, "End": True, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}), [("A", "retry-range")], id="backoff"),
        pytest.param(machine(A={**TASK, "End": True, "Retry": [{"ErrorEquals": ["X"], "MaxDelaySeconds": 0}]}), [("A", "retry-range")], id="max-delay"),
        pytest.param(machine(A={**TASK, "End": True, "Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "SOME"}]}), [("A", "retry-range")], id="jitter"),
        pytest.param(machine(A={**TASK, "End": True, "Retry": [{"ErrorEquals": []}]}), [("A", "error-equals")], id="empty-error-equals"),
        pytest.param(machine(A={**TASK, "End": True, "TimeoutSeconds": 10, "HeartbeatSeconds": 10}), [("A", "timeout-range")], id="heartbeat"),
        pytest.param({"StartAt": "Z", "States": {"A": {"Type": "Succeed"}}}, [(None, "start-at")], id="start-at"),
        pytest.param(machine(A={"Type": "Succeed", "Next": "A"}), [("A", "terminal-transition")], id="terminal-with-next"),
        pytest.param(machine(A={"Type": "Choice"}), [("A", "choice-empty")], id="choice-empty"),
        pytest.param(machine(A={"Type": "Paws", "End": True}), [("A", "type")], id="unknown-type"),
    ],
)
def test_each_rule_fires(doc, expected):
    assert rules(doc) == expected


def test_duplicated_state_names_are_caught_from_text():
    text = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}, "A": {"Type": "Succeed"}}}'
    assert json.loads(text)["States"]["A"]["Type"] == "Succeed"  # a dict silently keeps the last one
    assert [(p.state, p.rule) for p in lint_text(text)] == [("A", "duplicate-name"), ("B", "unreachable")]


def test_choice_and_parallel_branches_are_followed():
    doc = machine(
        C={"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "P"}], "Default": "Gone"},
        P={"Type": "Parallel", "End": True, "Branches": [machine(X={"Type": "Pass"})]},
    )
    assert rules(doc) == [("C", "next-missing"), ("P.Branches[0].X", "no-transition")]


def test_invalid_json_is_one_problem():
    problems = lint_text("{not json")
    assert [p.rule for p in problems] == ["json"]


def test_messages_say_what_is_wrong():
    [problem] = lint(machine(A={**TASK, "End": True, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}))
    assert str(problem) == "state A: Retry[0].BackoffRate is 0.5; it must be a number of 1.0 or more [retry-range]"
