"""The payload evaluator behind the handler harness: the compiler's constructs, evaluated as AWS does,
and a loud error for anything else (https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html)."""

from __future__ import annotations

import pytest

from stepsaga.asl.evaluate import evaluate
from stepsaga.errors import EvaluationError

DATA = {"input": {"order": {"id": "o-1"}, "n": 3}, "results": {}, "error": {"Error": "E", "Cause": "C"}}
CONTEXT = {"Execution": {"Name": "run-1", "Id": "arn:aws:states:us-east-1:1:execution:M:run-1"}}


def test_paths_format_and_literals_evaluate_as_the_compiled_asl_uses_them():
    template = {
        "saga_id.$": "$$.Execution.Name",
        "step": "Pay",
        "key.$": "States.Format('{}:Pay', $$.Execution.Name)",
        "input.$": "$.input",
        "order_id.$": "$.input.order.id",
        "nested": {"error.$": "$.error", "fixed": [1, "two", None]},
        "whole.$": "$",
    }
    assert evaluate(template, DATA, CONTEXT) == {
        "saga_id": "run-1",
        "step": "Pay",
        "key": "run-1:Pay",
        "input": DATA["input"],
        "order_id": "o-1",
        "nested": {"error": {"Error": "E", "Cause": "C"}, "fixed": [1, "two", None]},
        "whole": DATA,
    }


def test_states_format_takes_escapes_and_scalar_arguments():
    out = evaluate({"x.$": r"States.Format('\{{}\} \'{}\' {}', $.input.order.id, $.input.n, $$.Execution.Id)"}, DATA, CONTEXT)
    assert out == {"x": "{o-1} '3' arn:aws:states:us-east-1:1:execution:M:run-1"}


@pytest.mark.parametrize("expression, message", [
    ("$.input.missing", r"The JSONPath '\$.input.missing' specified for the field 'x.\$' could not be found"),
    ("$.input.order.id.deeper", "could not be found"),
    ("$.items[0]", "not a reference path"),
    ("States.JsonMerge($.input, $.error, false)", "neither a reference path nor States.Format"),
    ("States.Format('{} {}', $.input.n)", "more {} than arguments"),
    ("States.Format('{}', $.input.n, $.input.n)", "more arguments than {}"),
    ("States.Format('{}', $.input)", "not dict"),
])
def test_anything_else_fails_loudly(expression, message):
    with pytest.raises(EvaluationError, match=message):
        evaluate({"x.$": expression}, DATA, CONTEXT)


def test_arrays_of_objects_and_non_string_paths_are_refused():
    with pytest.raises(EvaluationError, match="array holding objects"):
        evaluate({"x": [{"y.$": "$.input"}]}, DATA, CONTEXT)
    with pytest.raises(EvaluationError, match="takes a path"):
        evaluate({"x.$": 3}, DATA, CONTEXT)
