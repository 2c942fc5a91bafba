"""``stepsaga check`` lints every event pattern in template.yaml: AWS::Events::Rule and SAM's EventBridgeRule/CloudWatchEvent."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepsaga import EventTrigger, Saga, Step
from stepsaga.cli import main
from stepsaga.sam import Layout, pattern_problems, render
from tests.unit.test_template import project  # noqa: F401  (the fixture: a copy of the repository's project)

ROOT = Path(__file__).resolve().parents[2]


def events_rule(name: str, pattern: str) -> str:
    """An ``AWS::Events::Rule`` resource of template.yaml, its EventPattern written as given."""
    return f"  {name}:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern: {pattern}\n"


GOOD_RULES = "".join([
    events_rule("UserGoodRule", '{source: [shop.orders], account: [!Ref AWS::AccountId], detail: {amount: [{numeric: [">", 100]}], flag: [true, null]}}'),
    events_rule("UserGoodTextRule", """'{"source": ["shop.orders"], "detail-type": [{"prefix": "Order"}]}'"""),
    events_rule("UserThresholdRule", '{detail: {amount: [{numeric: [">", !Ref Threshold]}]}}'),  # only known once deployed
])

BAD_RULES = events_rule("UserBadRule", '{source: shop.orders, detail: {amount: [{numerc: [">", 100]}]}}') + events_rule(
    "UserBadTextRule", """'{"source": ["shop.orders"], "detail-type": []}'""") + """\
  UserWorker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: worker/
      Events:
        Placed:
          Type: EventBridgeRule
          Properties:
            Pattern:
              detail-type: [{prefix: 5}]
        Legacy:
          Type: CloudWatchEvent
          Properties:
            Pattern:
              source: [{exists: "yes"}]
        Nightly:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
"""

BAD_LINES = [
    'UserBadRule: EventPattern source: is "shop.orders", not an array of values; write ["shop.orders"] (the value of a field is an array or an object)',
    "UserBadRule: EventPattern detail.amount[0]: unknown operator 'numerc'; did you mean 'numeric'?",
    "UserBadTextRule: EventPattern detail-type: is an empty array, which EventBridge rejects; list at least one value to match",
    'UserWorker: Events.Placed.Pattern detail-type[0]: prefix is 5, not a string; write {"prefix": "us-"} or {"prefix": {"equals-ignore-case": "us-"}}',
    'UserWorker: Events.Legacy.Pattern source[0]: exists is "yes", not a boolean; write {"exists": true} or {"exists": false}',
]


def with_user_rules(rules: str, template: Path | None = None) -> str:
    """A template (the repository's, by default) with the user's own resources at the end of Resources, where
    `stepsaga template` keeps them."""
    text = (template or ROOT / "template.yaml").read_text(encoding="utf-8")
    head, sep, outputs = text.partition("\nOutputs:")
    return f"{head.rstrip()}\n\n{rules}{sep}{outputs}"


def test_pattern_problems_names_the_resource_the_property_and_the_path():
    assert pattern_problems(with_user_rules(GOOD_RULES + BAD_RULES)) == [f"template.yaml: {line}" for line in BAD_LINES]


def test_the_generated_patterns_and_the_users_good_ones_are_valid():
    assert pattern_problems(with_user_rules(GOOD_RULES)) == []


def test_a_generated_eventbridge_rule_is_linted_like_the_users(tmp_path):
    saga = Saga("ShipSaga", steps=[Step("Book", "tasks.book.handler")], triggers=[EventTrigger("shop.orders", "OrderPaid")])
    text = render(None, Layout(tmp_path / "template.yaml", tmp_path / "asl").generate([saga]), prune=True)
    assert "Type: EventBridgeRule" in text and pattern_problems(text) == []
    broken = text.replace("- shop.orders", "- {prefx: shop.}", 1)
    assert pattern_problems(broken) == ["template.yaml: ShipSagaStateMachine: Events.OnOrderPaid.Pattern source[0]: unknown operator 'prefx'; did you mean 'prefix'?"]


@pytest.mark.parametrize(("pattern", "problem"), [
    ("'{\"source\": [\"a\"'", "EventPattern is not JSON (Expecting ',' delimiter at line 1 column 16); write a JSON object, for example {\"source\": [\"shop.orders\"]}"),
    ("[shop.orders]", 'EventPattern is an array, not a JSON object; write a JSON object, for example {"source": ["shop.orders"]}'),
    ("{}", 'EventPattern has no fields; name at least one, for example {"source": ["shop.orders"]}'),
])
def test_a_pattern_that_is_no_pattern_object_is_reported(pattern, problem):
    assert pattern_problems("Resources:\n" + events_rule("R", pattern), where="t.yaml") == [f"t.yaml: R: {problem}"]


@pytest.mark.parametrize("pattern", [
    "!Sub '{\"source\": [\"${AWS::StackName}\"]}'",  # the whole pattern is only known once deployed
    "{source: [{prefix: !Ref Prefix}]}",  # an operator's operand is
    "{detail: !Ref Detail}",
])
def test_a_pattern_an_intrinsic_function_decides_is_not_checked(pattern):
    assert pattern_problems("Resources:\n" + events_rule("R", pattern)) == []


def test_an_intrinsic_function_as_a_fields_value_stands_for_a_string():
    text = "Resources:\n" + events_rule("R", "{account: [!Ref AWS::AccountId], source: x}")
    assert pattern_problems(text) == ['template.yaml: R: EventPattern source: is "x", not an array of values; write ["x"] (the value of a field is an array or an object)']


def test_check_exits_1_on_an_invalid_user_rule_and_0_on_good_ones(project, capsys):  # noqa: F811
    template = project / "template.yaml"
    assert main(["template"]) == 0  # the project's own paths (its adapter layer's folder among them)
    generated = project / "generated.yaml"
    generated.write_text(template.read_text(encoding="utf-8"), encoding="utf-8")
    template.write_text(with_user_rules(GOOD_RULES, generated), encoding="utf-8")
    capsys.readouterr()
    assert main(["check"]) == 0, capsys.readouterr().err
    assert "match asl/ and template.yaml" in capsys.readouterr().out

    template.write_text(with_user_rules(GOOD_RULES + BAD_RULES, generated), encoding="utf-8")
    assert main(["check"]) == 1
    assert capsys.readouterr().err.splitlines() == [f"template.yaml: {line}" for line in BAD_LINES]


def test_check_lints_the_patterns_even_when_a_saga_does_not_load(tmp_path, monkeypatch, capsys):
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "broken.py").write_text("raise RuntimeError('boom')\n")
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n" + BAD_RULES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "template.yaml: not compared with workflows/, whose sagas did not all load" in err
    assert err[-len(BAD_LINES):] == [f"template.yaml: {line}" for line in BAD_LINES]
