"""The low-level ASL builder: every state type and field, rendered faithfully and in a fixed order (issue 11.4)."""

from __future__ import annotations

import pytest

from stepsaga.asl import builder as b
from stepsaga.asl.fields import KEYWORD, OBJECT_FIELDS, STATE_FIELDS
from stepsaga.errors import LintError


def test_every_state_type_renders_type_first_then_its_fields_in_table_order():
    task = b.Task(next="B", resource="arn:aws:states:::lambda:invoke", comment="c", result_path=None, timeout_seconds=5)
    assert list(task.to_json()) == ["Type", "Comment", "Resource", "ResultPath", "TimeoutSeconds", "Next"]
    assert task.to_json()["ResultPath"] is None  # None is JSON null: the result is discarded


@pytest.mark.parametrize("kind", sorted(STATE_FIELDS))
def test_each_state_class_takes_exactly_its_asl_fields(kind):
    cls = getattr(b, kind)
    values = {KEYWORD[field]: f"value of {field}" for field, _ in STATE_FIELDS[kind]}
    rendered = cls(**values).to_json()
    assert rendered["Type"] == kind
    assert list(rendered)[1:] == [field for field, _ in STATE_FIELDS[kind]]
    assert all(rendered[field] == f"value of {field}" for field, _ in STATE_FIELDS[kind])


@pytest.mark.parametrize("kind", ["Retrier", "Catcher", "Branch", "ItemProcessor", "StateMachine"])
def test_each_object_class_takes_exactly_its_asl_fields(kind):
    values = {KEYWORD[field]: 1 for field, _ in OBJECT_FIELDS[kind]}
    assert list(getattr(b, kind)(**values).to_json()) == [field for field, _ in OBJECT_FIELDS[kind]]


def test_a_field_left_out_is_absent_and_nested_objects_render():
    doc = b.StateMachine(
        name="Each", start_at="M",
        states={"M": b.Map(
            items_path="$.items",
            item_processor=b.ItemProcessor(processor_config={"Mode": "INLINE"}, start_at="X", states={"X": b.Succeed()}),
            retry=[b.Retrier(error_equals=["States.ALL"], max_attempts=1)],
            catch=[{"ErrorEquals": ["States.ALL"], "Next": "F"}],  # an ASL dict is taken as well
            next="F",
        ), "F": b.Fail(error="E")},
    ).to_json()
    assert doc == {"StartAt": "M", "States": {
        "M": {"Type": "Map", "ItemsPath": "$.items",
              "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "X", "States": {"X": {"Type": "Succeed"}}},
              "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}], "Next": "F"},
        "F": {"Type": "Fail", "Error": "E"},
    }}


def test_objects_are_immutable_values_whose_repr_rebuilds_them():
    machine = b.StateMachine(name="X", start_at="A", states={"A": b.Pass(result={"n": 1}, end=True)})
    with pytest.raises(AttributeError):
        machine.name = "Y"
    namespace = {name: getattr(b, name) for name in b.__all__}
    rebuilt = eval(repr(machine), namespace)  # noqa: S307 - our own repr
    assert rebuilt == machine and rebuilt.name == "X"
    assert rebuilt != b.StateMachine(name="X", start_at="A", states={"A": b.Pass(result={"n": 2}, end=True)})
    assert rebuilt != b.StateMachine(name="Y", start_at="A", states={"A": b.Pass(result={"n": 1}, end=True)})


def test_a_class_whose_keywords_drift_from_the_field_table_is_refused():
    with pytest.raises(TypeError, match="unlike the Succeed fields"):
        class Broken(b._Node, kind="Succeed"):  # noqa: F841 - defining it is the test
            def __init__(self, *, comment=b.UNSET, outputs=b.UNSET) -> None:
                self._set(locals())


def test_to_asl_lints_and_names_every_problem():
    broken = b.StateMachine(start_at="A", states={"A": b.Task(resource="arn:aws:states:::lambda:invoke", next="Gone")})
    with pytest.raises(LintError) as caught:
        broken.to_asl()
    assert [p.rule for p in caught.value.problems] == ["next-missing"]
    fine = b.StateMachine(start_at="A", states={"A": b.Succeed(comment="done")})
    assert fine.to_asl() == '{\n  "StartAt": "A",\n  "States": {\n    "A": {\n      "Type": "Succeed",\n      "Comment": "done"\n    }\n  }\n}\n'
