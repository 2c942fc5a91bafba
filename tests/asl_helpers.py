"""What "semantically equal ASL" means in the tests, written independently of ``stepsaga.asl.equal``.

Two definitions are semantically equal when their parsed JSON values are equal after ``canonical``:

* an object is the set of its (key, value) pairs: key order does not count, keys do;
* an array keeps its order (Choices, Retry, Catch, Branches and ErrorEquals are ordered in ASL);
* a number is its value (``2`` and ``2.0`` are one number), and booleans are not numbers (``true`` is not ``1``);
* strings and ``null`` are themselves.

Whitespace and the layout of the text are gone once parsed. Nothing is normalised beyond that: a field left out
is not equal to the field set to its default. docs/import.md states the same definition.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any


def canonical(value: Any) -> Any:
    """A hashable form of a JSON value in which exactly the semantically equal values are equal."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, (int, float)):
        return ("number", Fraction(value))
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null",)
    if isinstance(value, list):
        return ("array", tuple(canonical(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, canonical(v)) for k, v in value.items()))
    raise TypeError(f"{type(value).__name__} is not JSON")


def same_asl(a: str | dict, b: str | dict) -> bool:
    """Whether two definitions (JSON text or parsed) are semantically equal, by ``canonical``."""
    parse = lambda x: json.loads(x) if isinstance(x, str) else x  # noqa: E731
    return canonical(parse(a)) == canonical(parse(b))


def run_module(source: str, where: Path) -> Any:
    """Write ``source`` to ``where`` and import it as ``stepsaga compile`` does; the definition it makes."""
    from stepsaga.asl.builder import StateMachine
    from stepsaga.loader import import_target
    from stepsaga.model import Saga

    where.write_text(source, encoding="utf-8")
    module = import_target(str(where))
    [made] = [v for v in vars(module).values() if isinstance(v, (Saga, StateMachine))]
    return made


def compiled(definition: Any) -> str:
    """The ASL text of a Saga or a builder StateMachine, as ``stepsaga compile`` writes it."""
    from stepsaga.orchestration import to_asl

    return definition.to_asl() if hasattr(definition, "to_asl") else to_asl(definition)
