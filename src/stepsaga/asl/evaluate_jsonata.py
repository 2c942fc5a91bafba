"""Evaluate JSONata as Step Functions does: its expressions, its own functions, null against undefined.

The one JSONata evaluator of stepsaga, on jsonata-python (the ``local`` extra): the local runtime's moto hook
(``stepsaga.local._moto.jsonata``) evaluates every ``{% %}`` field of a running machine with it, and the
handler harness builds a JSONata Task's event with it. ``evaluate`` takes one expression, its workflow
variables and ``$states``; ``render`` a field's JSON template (every ``{% %}`` string an expression).

Step Functions' own functions are bound natively (``SFN_FUNCTIONS``: ``$partition``, ``$range``, ``$hash``,
``$random``, ``$uuid``, ``$parse``), and ``$eval`` is not available, as AWS documents
(https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html). Values are bound as they are,
never written into the expression text; a result is new JSON data (null as None), or ``UNDEFINED``.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

import jsonata as _jsonata
from jsonata import parser as _jsonata_parser
from jsonata import utils as _jsonata_utils

__all__ = ["JsonataError", "SFN_FUNCTIONS", "UNDEFINED", "evaluate", "render"]

_NULL: Final = _jsonata_utils.Utils.NULL_VALUE  # JSONata's null; a None result is "undefined"
# a function value: a built-in or bound one (JFunctionCallable), or a lambda the expression defines (Symbol)
_FUNCTION_TYPES: Final = (_jsonata.Jsonata.JFunctionCallable, _jsonata_parser.Parser.Symbol)


class JsonataError(Exception):
    """An expression JSONata could not evaluate, or whose result JSON cannot hold; ``str()`` is the cause."""


class _Undefined:
    """What an expression that selects nothing returns: JSONata's undefined, which JSON has no value for."""

    def __repr__(self) -> str:
        return "UNDEFINED"


#: ``evaluate``'s result for an expression that returns nothing; JSON null is None.
UNDEFINED: Final = _Undefined()


# ----------------------------------------------------------------------------------------------------
# Step Functions' own functions (transforming-data.html, "JSONata functions provided by Step Functions")
# ----------------------------------------------------------------------------------------------------
#: The largest array $range builds, as States.ArrayRange (intrinsic-functions.html#asl-intrsc-func-arrays).
RANGE_MAX_ITEMS: Final = 1000
#: The algorithms $hash takes, as States.Hash, and hashlib's name of each.
HASH_ALGORITHMS: Final = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _whole(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value == int(value)


def sfn_partition(array: Any, size: Any) -> list[list[Any]]:
    """``$partition(array, chunkSize)``: the array in chunks of ``chunkSize`` items, the last one possibly shorter."""
    if not isinstance(array, list):
        raise JsonataError(f"$partition takes an array first, not {_type(array)}")
    if not _whole(size) or size <= 0:
        raise JsonataError(f"$partition's chunk size must be a positive whole number, not {size!r}")
    n = int(size)
    return [list(array[i:i + n]) for i in range(0, len(array), n)]


def sfn_range(first: Any, last: Any, step: Any) -> list[int]:
    """``$range(start, end, step)``: whole numbers from ``start`` to ``end`` inclusive, ``step`` apart (at most 1000)."""
    if not all(_whole(v) for v in (first, last, step)) or step == 0:
        raise JsonataError(f"$range takes whole numbers and a step other than 0, not ({first!r}, {last!r}, {step!r})")
    a, b, s = int(first), int(last), int(step)
    values = list(range(a, b + (1 if s > 0 else -1), s))
    if len(values) > RANGE_MAX_ITEMS:
        raise JsonataError(f"$range would build {len(values)} items; it builds at most {RANGE_MAX_ITEMS}")
    return values


def sfn_hash(value: Any, algorithm: Any) -> str:
    """``$hash(value, algorithm)``: the hex digest of a string with MD5, SHA-1, SHA-256, SHA-384 or SHA-512."""
    if not isinstance(value, str):
        raise JsonataError(f"$hash takes a string to hash, not {_type(value)}")
    if algorithm not in HASH_ALGORITHMS:
        raise JsonataError(f"$hash's algorithm is {algorithm!r}; it is one of {', '.join(HASH_ALGORITHMS)}")
    return hashlib.new(HASH_ALGORITHMS[algorithm], value.encode("utf-8")).hexdigest()


def sfn_random(seed: Any = None) -> float:
    """``$random([seed])``: a number from 0 (inclusive) to 1 (exclusive); the same for the same whole-number seed.

    A seeded number is reproducible here, not the one AWS draws for that seed (its generator is not documented).
    """
    if seed is None:
        return random.random()
    if not _whole(seed):
        raise JsonataError(f"$random's seed must be a whole number, not {seed!r}")
    return random.Random(int(seed)).random()


def sfn_uuid() -> str:
    """``$uuid()``: a version 4 UUID."""
    return str(uuid.uuid4())


def sfn_parse(text: Any) -> Any:
    """``$parse(jsonString)``: the JSON value a string holds (Step Functions' stand-in for ``$eval``)."""
    if not isinstance(text, str):
        raise JsonataError(f"$parse takes a JSON string, not {_type(text)}")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise JsonataError(f"$parse: the string is not JSON ({exc})") from None


def _no_eval(*_args: Any) -> Any:
    raise JsonataError("$eval is not available in Step Functions; use $parse to read a JSON string")


#: The functions Step Functions adds to JSONata, and the one it takes away, by name (without ``$``).
SFN_FUNCTIONS: Final[dict[str, Callable[..., Any]]] = {
    "partition": sfn_partition,
    "range": sfn_range,
    "hash": sfn_hash,
    "random": sfn_random,
    "uuid": sfn_uuid,
    "parse": sfn_parse,
    "eval": _no_eval,
}
_SFN_BINDINGS: Final = {name: _jsonata.Jsonata.JLambda(fn) for name, fn in SFN_FUNCTIONS.items()}


# ----------------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _compiled(expression: str) -> Any:
    # A parsed expression keeps no per-evaluation state: evaluate() with bindings binds them, and the input,
    # in a new frame each call (jsonata/jsonata.py:1996-2036). Nulls stay JSONata's, to tell them from undefined.
    compiled = _jsonata.Jsonata(expression)
    compiled.set_output_convert_nulls(False)
    return compiled


def _type(value: Any) -> str:
    if value is None or value is _NULL:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _bound(value: Any) -> Any:
    # A binding of None would read as undefined; a variable holding JSON null is null.
    return _NULL if value is None else value


def _plain(value: Any) -> Any:
    """A JSONata result as new JSON data: JSONata's null as None, its sequences as lists, functions refused.

    New containers all the way down, so the state data never shares an object with a variable or an input.
    """
    if value is _NULL:
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, _FUNCTION_TYPES):
        raise JsonataError("returned an unsupported result type")
    return value


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (datetime.datetime, datetime.date)) else value


def _context(context: Mapping[str, Any]) -> dict[str, Any]:
    # moto's context object holds Execution.StartTime as a datetime (its backend/execution_worker.py:75), which
    # it writes as ISO text (asl/utils/encoding.py:_DateTimeEncoder). Execution.Input is the saga's, left as is.
    return {key: {k: _iso(v) for k, v in part.items()} if isinstance(part, dict) else _iso(part) for key, part in context.items()}


def evaluate(expression: str, variables: Mapping[str, Any], states: Mapping[str, Any] | None = None) -> Any:
    """The JSON value of a JSONata expression (null is None), or ``UNDEFINED`` when it returns nothing.

    ``variables``: the workflow variables by name (without ``$``); ``states``: ``$states`` (``input``,
    ``context``, ``result``, ``errorOutput``), None in JSONPath states. Step Functions' functions are bound
    (``SFN_FUNCTIONS``). Raises ``JsonataError`` for an expression JSONata rejects or cannot evaluate, and for
    a result JSON cannot hold.
    """
    bindings = {name: _bound(value) for name, value in variables.items()}
    bindings.update(_SFN_BINDINGS)
    if states is not None:
        view = {key: value for key, value in states.items() if key != "context"}
        if "context" in states:
            view["context"] = _context(states["context"])
        bindings["states"] = view
    try:
        result = _compiled(expression).evaluate(None, bindings)
    except JsonataError:
        raise
    except Exception as exc:  # jsonata-python raises JException, and Python errors from a bad argument
        raise JsonataError(str(exc) or type(exc).__name__) from None
    return UNDEFINED if result is None else _plain(result)


def render(template: Any, variables: Mapping[str, Any], states: Mapping[str, Any] | None = None) -> Any:
    """A JSONata field's value: each ``{% <expression> %}`` string of ``template`` evaluated, the rest as written.

    Raises ``JsonataError`` for an expression that cannot be evaluated or returns nothing (Step Functions
    fails the state with States.QueryEvaluationError then).
    """
    if isinstance(template, dict):
        return {key: render(value, variables, states) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, variables, states) for value in template]
    if isinstance(template, str) and template.startswith("{%") and template.endswith("%}"):
        value = evaluate(template[2:-2].strip(), variables, states)
        if value is UNDEFINED:
            raise JsonataError(f"the JSONata expression {template!r} returned nothing (undefined)")
        return value
    return template
