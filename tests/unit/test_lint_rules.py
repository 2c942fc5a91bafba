"""The linter on hand-written ASL: each rule for fields, query languages, Choice rules, state types and nested
scopes fires where it should, with the state's path, the field and what to write (issue 11.4).

tests/unit/test_lint.py holds the graph rules (transitions, reachability, retriers); tests/unit/test_import_corpus.py
shows the linter passes the whole corpus, which has every state type and field in both languages.
"""

from __future__ import annotations

import copy

import pytest

from stepsaga.asl import lint


def machine(language: str | None = None, **states: dict) -> dict:
    doc: dict = {"StartAt": next(iter(states)), "States": states}
    if language:
        doc["QueryLanguage"] = language
    return doc


TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}
JSONATA_TASK = {**TASK, "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"}}


def found(doc: dict) -> list[tuple[str | None, str]]:
    return [(p.state, p.rule) for p in lint(doc)]


def message(doc: dict) -> str:
    [problem] = lint(doc)
    return str(problem)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        # fields and query languages
        pytest.param(machine(A={**TASK, "Parameter": {}}), [("A", "unknown-field")], id="unknown-field"),
        pytest.param(machine("JSONata", A={**JSONATA_TASK, "Parameters": {"x.$": "$.x"}}), [("A", "query-language")], id="jsonpath-field-in-jsonata"),
        pytest.param(machine("JSONata", A={**JSONATA_TASK, "ResultPath": "$.r"}), [("A", "query-language")], id="result-path-in-jsonata"),
        pytest.param(machine("JSONata", A={"Type": "Wait", "SecondsPath": "$.s", "End": True}), [("A", "query-language")], id="seconds-path-in-jsonata"),
        pytest.param(machine(A={**TASK, "Arguments": {"x": 1}}), [("A", "query-language")], id="jsonata-field-in-jsonpath"),
        pytest.param(machine("JSONata", A={**TASK, "QueryLanguage": "JSONPath"}), [("A", "query-language")], id="jsonpath-state-in-jsonata-definition"),
        pytest.param(machine(A={**TASK, "QueryLanguage": "JSONata", "Arguments": {"p.$": "$.x"}}), [("A", "jsonata")], id="dollar-key-in-jsonata"),
        pytest.param(machine("JSONata", A={**TASK, "Output": "{% $states.input"}), [("A", "jsonata")], id="unclosed-expression"),
        pytest.param(machine(A={"Type": "Pass", "Result": "{% $now() %}", "End": True}), [("A", "jsonata")], id="jsonata-expression-in-jsonpath"),
        pytest.param(machine(A={**TASK, "TimeoutSeconds": "60"}), [("A", "timeout-range")], id="timeout-as-text-in-jsonpath"),
        pytest.param(machine(A={**TASK, "Comment": 7}), [("A", "field-type")], id="comment-not-a-string"),
        pytest.param(machine(A={**TASK, "End": "yes"}), [("A", "field-type")], id="end-not-a-boolean"),
        pytest.param({"StartAt": "A", "States": {"A": TASK}, "QueryLanguage": "JSONPATH"}, [(None, "field-type")], id="bad-query-language"),
        pytest.param({"StartAt": "A", "States": {"A": TASK}, "Timeout": 5}, [(None, "unknown-field")], id="unknown-top-level-field"),
        pytest.param(machine(A={**TASK, "InputPath": "input"}), [("A", "path")], id="path-not-a-path"),
        pytest.param(machine(A={**TASK, "Parameters": {"id.$": "input.id"}}), [("A", "payload-template")], id="payload-key-without-path"),
        pytest.param(machine(A={**TASK, "Parameters": {"id.$": "States.Formatt('{}', $.id)"}}), [("A", "intrinsic")], id="unknown-intrinsic"),
        pytest.param(machine(A={"Type": "Fail", "CausePath": "States.JsonToStrin($)"}), [("A", "intrinsic")], id="unknown-intrinsic-in-cause-path"),
        # Catch
        pytest.param(machine(A={**TASK, "Catch": [{"ErrorEquals": ["States.ALL"]}]}), [("A", "catch-next")], id="catch-without-next"),
        pytest.param(machine(A={**TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]}), [("A", "next-missing")], id="bad-catch-target"),
        pytest.param(machine("JSONata", A={**JSONATA_TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "A"}]}),
                     [("A", "query-language")], id="catch-result-path-in-jsonata"),
        # Choice rules
        pytest.param(machine(C={"Type": "Choice", "Choices": [{"Variable": "$.x", "Next": "Z"}], "Default": "Z"}, Z={"Type": "Succeed"}),
                     [("C", "choice-rule")], id="variable-without-operator"),
        pytest.param(machine(C={"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "a", "NumericEquals": 1, "Next": "Z"}]},
                             Z={"Type": "Succeed"}), [("C", "choice-rule")], id="two-operators"),
        pytest.param(machine(C={"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": "1", "Next": "Z"}]}, Z={"Type": "Succeed"}),
                     [("C", "choice-rule")], id="operand-of-the-wrong-type"),
        pytest.param(machine(C={"Type": "Choice", "Choices": [{"Variable": "$.t", "TimestampEquals": "yesterday", "Next": "Z"}]}, Z={"Type": "Succeed"}),
                     [("C", "choice-rule")], id="not-a-timestamp"),
        pytest.param(machine(C={"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEqual": "a", "Next": "Z"}]}, Z={"Type": "Succeed"}),
                     [("C", "choice-rule"), ("C", "choice-rule")], id="misspelt-operator"),
        pytest.param(machine(C={"Type": "Choice", "Choices": [{"And": [{"Variable": "$.x", "IsNull": True, "Next": "Z"}], "Next": "Z"}]},
                             Z={"Type": "Succeed"}), [("C", "choice-rule")], id="next-in-a-nested-rule"),
        pytest.param(machine(C={"Type": "Choice", "Choices": [{"Or": [], "Next": "Z"}]}, Z={"Type": "Succeed"}), [("C", "choice-rule")], id="empty-or"),
        pytest.param(machine(C={"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True}], "Default": "Z"}, Z={"Type": "Succeed"}),
                     [("C", "choice-rule")], id="rule-without-next"),
        pytest.param(machine("JSONata", C={"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Z"}]}, Z={"Type": "Succeed"}),
                     [("C", "query-language"), ("C", "query-language"), ("C", "choice-rule")], id="jsonpath-rule-in-jsonata"),
        pytest.param(machine("JSONata", C={"Type": "Choice", "Choices": [{"Condition": "$states.input.x", "Next": "Z"}]}, Z={"Type": "Succeed"}),
                     [("C", "choice-rule")], id="condition-not-an-expression"),
        pytest.param(machine(C={"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "Z"}], "Next": "Z"}, Z={"Type": "Succeed"}),
                     [("C", "choice-transition")], id="choice-with-next"),
        # state types
        pytest.param(machine(A={"Type": "Task", "End": True}), [("A", "task-resource")], id="task-without-resource"),
        pytest.param(machine(A={**TASK, "TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t"}), [("A", "exclusive-fields")], id="value-and-path"),
        pytest.param(machine(A={**TASK, "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "Parameters": {"QueueUrl": "q", "MessageBody.$": "$"}}),
                     [("A", "task-token")], id="callback-without-token"),
        pytest.param(machine("JSONata", A={**TASK, "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "Arguments": {"FunctionName": "f"}}),
                     [("A", "task-token")], id="jsonata-callback-without-token"),
        pytest.param(machine(W={"Type": "Wait", "End": True}), [("W", "wait-time")], id="wait-without-time"),
        pytest.param(machine(W={"Type": "Wait", "Seconds": 5, "Timestamp": "2026-01-01T00:00:00Z", "End": True}), [("W", "wait-time")], id="wait-with-two-times"),
        pytest.param(machine(F={"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}), [("F", "exclusive-fields")], id="error-and-error-path"),
        pytest.param(machine(P={"Type": "Parallel", "Branches": [], "End": True}), [("P", "branches")], id="parallel-without-branches"),
        pytest.param(machine(M={"Type": "Map", "End": True}), [("M", "item-processor")], id="map-without-processor"),
        pytest.param(machine(M={"Type": "Map", "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}, "End": True,
                                "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}}), [("M", "distributed-only")], id="reader-in-an-inline-map"),
        pytest.param(machine(M={"Type": "Map", "End": True, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "X",
                                                                              "States": {"X": {"Type": "Succeed"}}}}), [("M", "map-config")], id="distributed-without-execution-type"),
        pytest.param(machine(M={"Type": "Map", "End": True, "ToleratedFailurePercentage": 120,
                                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "X",
                                                  "States": {"X": {"Type": "Succeed"}}}}), [("M", "field-type")], id="percentage-over-100"),
        pytest.param(machine(M={"Type": "Map", "End": True, "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}},
                                "ItemBatcher": {"MaxItemsPerBatch": 10}}), [("M", "distributed-only")], id="batcher-in-an-inline-map"),
        # scopes
        pytest.param(machine(A={"Type": "Parallel", "End": True, "Branches": [machine(A={"Type": "Succeed"})]}), [("A.Branches[0].A", "duplicate-name")],
                     id="name-reused-in-a-branch"),
        pytest.param(machine(A={"Type": "Pass", "Next": "B"}, B={"Type": "Pass", "Next": "A"}), [(None, "no-terminal")], id="no-terminal"),
        pytest.param(machine(M={"Type": "Map", "End": True, "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Y"}}}}),
                     [("M.ItemProcessor.X", "next-missing")], id="next-out-of-an-item-processor"),
    ],
)
def test_each_rule_fires(doc, expected):
    assert found(doc) == expected


def test_messages_name_the_state_the_field_and_what_to_write():
    assert message(machine("JSONata", A={**JSONATA_TASK, "Parameters": {"x.$": "$.x"}})) == (
        "state A: Parameters is a JSONPath field, but this is a JSONata state; write Arguments, with {% %} expressions and no .$ keys [query-language]")
    assert message(machine(A={**TASK, "Parameter": {}})) == "state A: Parameter is not a field of a Task state; did you mean Parameters? [unknown-field]"
    assert message(machine(A={**TASK, "Parameters": {"id.$": "States.Formatt('{}', $.id)"}})) == (
        "state A: Parameters.id.$ calls States.Formatt, which is not an intrinsic function; did you mean States.Format? [intrinsic]")
    assert message(machine(A={**TASK, "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "Parameters": {"QueueUrl": "q"}})) == (
        "state A: calls arn:aws:states:::sqs:sendMessage.waitForTaskToken, which waits for a task token, but Parameters never sends "
        "$$.Task.Token, so no callback can end it; write \"TaskToken.$\": \"$$.Task.Token\" in Parameters [task-token]")
    nested = machine(P={"Type": "Parallel", "End": True, "Branches": [machine(Q={**TASK, "ResultPath": 5})]})
    assert message(nested) == 'state P.Branches[0].Q: ResultPath is 5, not a JSONPath; write a path such as "$.result", or null [path]'


def test_a_state_inherits_the_query_language_of_the_map_or_parallel_it_is_in():
    inner = {"StartAt": "X", "States": {"X": {**TASK, "Parameters": {"a.$": "$.a"}}}}
    doc = machine(M={"Type": "Map", "QueryLanguage": "JSONata", "End": True, "ItemProcessor": inner})
    assert found(doc) == [("M.ItemProcessor.X", "query-language")]
    doc["States"]["M"]["ItemProcessor"]["States"]["X"]["QueryLanguage"] = "JSONPath"  # allowed: the definition is JSONPath
    assert found(doc) == []


def test_jsonata_states_may_compute_their_numbers():
    doc = machine("JSONata", A={**JSONATA_TASK, "TimeoutSeconds": "{% $states.input.t %}", "HeartbeatSeconds": "{% 10 %}", "End": False, "Next": "W"},
                  W={"Type": "Wait", "Seconds": "{% $states.input.s %}", "End": True})
    assert found(doc) == []
    doc["QueryLanguage"] = "JSONPath"
    del doc["States"]["A"]["Arguments"]
    assert ("A", "timeout-range") in found(doc) and ("W", "field-type") in found(doc)


def test_a_clean_definition_of_every_state_type_stays_clean_when_copied_into_a_branch():
    # the rules do not depend on where a state is: the same states in a Parallel branch lint the same
    states = {
        "T": {**TASK, "End": False, "Next": "C", "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}]},
        "C": {"Type": "Choice", "Choices": [{"Not": {"Variable": "$.x", "IsPresent": True}, "Next": "W"}], "Default": "S"},
        "W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "F"},
        "F": {"Type": "Fail", "Error": "E", "CausePath": "$.c"},
        "S": {"Type": "Succeed", "OutputPath": "$.out"},
    }
    assert lint({"StartAt": "T", "States": states}) == []
    renamed = {f"{k}2": copy.deepcopy(v) for k, v in states.items()}
    for state in renamed.values():
        for key in ("Next", "Default"):
            if key in state:
                state[key] += "2"
        for rule in state.get("Choices", []):
            rule["Next"] += "2"
    doc = machine(P={"Type": "Parallel", "End": True, "Branches": [{"StartAt": "T2", "States": renamed}]})
    assert lint(doc) == []


def test_a_field_given_twice_in_the_text_is_a_problem():
    from stepsaga.asl import lint_text

    text = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "Result": 2, "End": true}}}'
    assert [(p.state, p.rule, p.message) for p in lint_text(text)] == [
        ("A", "duplicate-field", "Result is given more than once, and only the last one counts; write it once")]
