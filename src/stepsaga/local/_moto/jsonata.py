"""JSONata expressions evaluated by jsonata-python: moto's own bridge to jsonata-java is empty.

moto 5.2.5 parses JSONata definitions (``QueryLanguage: "JSONata"``, ``{% ... %}`` fields, ``Assign``) but
evaluates every expression through ``asl/jsonata/jsonata.py:eval_jsonata_expression``, whose evaluator is
never set (``_eval_jsonata = None``, :90-93): each one fails with ``TypeError``. Two patches evaluate them with
jsonata-python (a pure-Python port of jsonata-java, the library the bridge was written for), during a run
and under ``lambda_only``, in both install modes (it is how a JSONata machine runs at all, not a shortcut):

* ``StringJSONata._eval_body`` (``asl/component/common/string/string_expression.py:177-229``): a ``{% %}``
  field of a JSONata state.
* ``StringVariableSample._eval_body`` (:124-159): a ``$variable`` reference (in JSONPath states too).

Stock composes one expression text per evaluation, every variable and ``$states`` written out as JSON
literals (``(<declarations>; <expression>)``, :150-157), and evaluates it in the JVM. Here the expression is
parsed once per text and evaluated with the variables and ``$states`` as bindings: the same values, without
re-parsing kilobytes of literals each time (about 20 ms per expression for a 3 KB saga), and without stock's
unescaped string literals (``jsonata.py:encode_jsonata_variable_declarations`` writes a string variable as
``"<value>"``, so one holding a quote breaks the expression).

What AWS documents and stock checks the same way: a ``{% %}`` field that returns nothing (undefined) fails
with ``States.QueryEvaluationError`` ("returned nothing (undefined)", stock ``asl/jsonata/validations.py``),
so does one returning a function ("an unsupported result type"), and so does an expression JSONata cannot
evaluate (its message in the cause; AWS words that cause its own way). The evaluator, with Step Functions'
own functions and without ``$eval``, is ``stepsaga.asl.evaluate_jsonata``.
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
"""

from __future__ import annotations

from typing import Any, Final

from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
    StringJSONata,
    StringVariableSample,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from stepsaga.asl.evaluate_jsonata import UNDEFINED, JsonataError, evaluate
from stepsaga.local._moto.run import Patch, gate_runtime


def _variables(env: Environment) -> dict[str, Any]:
    # VariableStore keeps an outer scope (Parallel/Map parents) and the inner one (asl/eval/variable_store.py:51-74)
    store = env.variable_store
    return {**store._outer_scope, **store._inner_scope}


def _query_evaluation_error(env: Environment, cause: str) -> FailureEventException:
    """A States.QueryEvaluationError failure, its EvaluationFailed event recorded, as stock's validations do."""
    error_name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    exc = FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error_name,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=EventDetails(
                evaluationFailedEventDetails=EvaluationFailedEventDetails(cause=cause, error=error_name.error_name)
            ),
        )
    )
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=EventDetails(evaluationFailedEventDetails=exc.get_evaluation_failed_event_details()),
    )
    return exc


def _string_jsonata_eval_body(self: StringJSONata, env: Environment) -> None:
    # StringJSONata._eval_body: a {% %} field, with $states, the variables and Step Functions' functions.
    try:
        result = evaluate(self.expression, _variables(env), env.states._states_data)
    except JsonataError as exc:
        raise _query_evaluation_error(env, f"The JSONata expression '{self.expression}' {_reason(str(exc))}") from None
    if result is UNDEFINED:
        raise _query_evaluation_error(env, f"The JSONata expression '{self.expression}' returned nothing (undefined).")
    env.stack.append(result)


def _reason(message: str) -> str:
    return message + "." if message == "returned an unsupported result type" else f"could not be evaluated: {message}"


def _variable_sample_eval_body(self: StringVariableSample, env: Environment) -> None:
    # StringVariableSample._eval_body: a $variable reference; $states only in JSONata states, as stock (:136-145).
    states = env.states._states_data if self.query_language_mode == QueryLanguageMode.JSONata else None
    try:
        result = evaluate(self.expression, _variables(env), states)
    except JsonataError as exc:
        raise _query_evaluation_error(env, f"The variable reference '{self.expression}' {_reason(str(exc))}") from None
    env.stack.append(None if result is UNDEFINED else result)  # stock pushes what the JVM returned: null


PATCHES: Final[tuple[Patch, ...]] = (
    (StringJSONata, "_eval_body", gate_runtime(_string_jsonata_eval_body)),
    (StringVariableSample, "_eval_body", gate_runtime(_variable_sample_eval_body)),
)
