"""The ASL parsed and validated once per definition and process, whichever cloud creates it.

moto parses a definition with ANTLR (``asl/parse/asl_parser.py``), about 250 ms for the order saga, when
CreateStateMachine validates it and when an execution starts. ``speed.py`` memoises the parse per definition
text, but every embedded cloud's text is new: SAM's DefinitionSubstitutions fill in the cloud's dead-letter
queue URL, which names the cloud. So a cloud registers its definition as a *variant* of a canonical text, the
same for every cloud of a saga, and says which whole JSON string literals differ (``variant``). The canonical
text is parsed once per process; a variant's Program is that Program with those literals rebound
(``parse``): the objects on the paths to them are copied, every other object is shared. Sharing is as safe
as the per-text cache already is: a Program keeps no per-execution state (that lives in the Environment),
and the same Program already runs every execution of a definition, in any thread.

A variant is used only where the rebinding is sure to give what parsing its own text gives: the texts differ
only in whole string literals that need no JSON escape, and each literal reached the canonical Program only
as that same whole string, once per place it is written (otherwise its own text is parsed). The differential
test (``tests/functional/test_cheap_clouds.py``) compares rebound Programs with parsed ones, object by object.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Final, cast

from moto.stepfunctions.parser.asl.component.program.program import Program

from stepsaga.local._moto import program_cache

_ATOMIC: Final = (str, int, float, bool, type(None), bytes)
_CONTAINERS: Final = (list, tuple, dict, set, frozenset)
_PARSER_PACKAGE: Final = "moto.stepfunctions.parser."

# definition text -> (canonical text, ((canonical literal, its value in this definition), ...))
_VARIANTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
_VARIANTS_LOCK = threading.Lock()


def variant(definition: str, canonical: str, literals: Mapping[str, str]) -> bool:
    """Register ``definition`` as ``canonical`` with each whole string literal ``key`` written as ``value``.

    Returns whether the variant is taken: only when ``definition`` is exactly ``canonical`` with those
    literals swapped, each of them written in ``canonical`` only as a whole JSON string (``"<key>"``), none
    needing an escape. A variant not taken costs nothing: its own text is parsed, as without one.
    """
    pairs = tuple(literals.items())
    if not pairs or not all(_inert(key) and _inert(value) and key != value for key, value in pairs):
        return False
    rebuilt = canonical
    for key, value in pairs:
        quoted = f'"{key}"'
        if canonical.count(key) != canonical.count(quoted) or value in canonical:
            return False
        if any(other != key and (other in key or key in other) for other, _ in pairs):
            return False
        rebuilt = rebuilt.replace(quoted, f'"{value}"')
    if rebuilt != definition:
        return False
    with _VARIANTS_LOCK:
        _VARIANTS[definition] = (canonical, pairs)
    return True


def forget(definition: str) -> None:
    """Drop a registered variant (its cloud is gone); Programs already parsed stay memoised by the caller."""
    with _VARIANTS_LOCK:
        _VARIANTS.pop(definition, None)


def parse(definition: str) -> Program:
    """The Program of a definition: a registered variant rebound from its canonical Program, else parsed.

    Raises what moto's parser raises for a definition it rejects: a variant's canonical text is rejected
    exactly when the variant's is (they differ only in inert string literals).
    """
    found = _VARIANTS.get(definition)
    if found is not None:
        canonical, pairs = found
        rebound = _rebound(_canonical_program(canonical), pairs, canonical)
        if rebound is not None:
            return rebound
    return _parsed(definition)


def _parsed(definition: str) -> Program:
    """moto's parse of a definition, read back from the disk cache when another process made it (program_cache)."""
    return cast(Program, program_cache.parsed(definition, _antlr_parse))


def _antlr_parse(definition: str) -> Program:
    # imported here: the generated lexer and parser take about 0.15 s to import, and a cached parse needs neither
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    return cast(Program, AmazonStateLanguageParser.parse(definition)[0])


def clear() -> None:
    """Forget the canonical Programs and their rebinding plans (``_moto.uninstall`` calls it)."""
    _canonical_program.cache_clear()
    _plan.cache_clear()


def _inert(text: str) -> bool:
    """A non-empty string that JSON writes as itself between quotes (no escape to undo when parsing)."""
    return bool(text) and json.dumps(text)[1:-1] == text


@functools.lru_cache(maxsize=64)
def _canonical_program(canonical: str) -> Program:
    return _parsed(canonical)


class _Plan:
    """Where a canonical Program holds its literals: the objects to copy, and every object to share."""

    def __init__(self, program: Program, literals: frozenset[str]) -> None:
        nodes: dict[int, Any] = {}
        parents: dict[int, list[int]] = {}
        holders: dict[int, int] = {}  # id of an object holding a literal -> how many slots hold one
        stack: list[tuple[Any, int | None]] = [(program, None)]
        while stack:
            obj, parent = stack.pop()
            key = id(obj)
            if parent is not None:
                parents.setdefault(key, []).append(parent)
            if key in nodes:
                continue
            nodes[key] = obj
            for child in _children(obj):
                if type(child) is str:
                    if child in literals:
                        holders[key] = holders.get(key, 0) + 1
                    elif any(literal in child for literal in literals):
                        holders[key] = -(10**9)  # a literal inside a longer string: never rebind
                elif not isinstance(child, _ATOMIC):
                    stack.append((child, key))
        affected = set(holders)
        todo = list(affected)
        while todo:  # every object on a path from the program to a holder is copied
            for parent in parents.get(todo.pop(), ()):
                if parent not in affected:
                    affected.add(parent)
                    todo.append(parent)
        self.program = program
        self.slots = sum(holders.values())
        self.affected = [nodes[key] for key in affected]
        self.shared = {key: obj for key, obj in nodes.items() if key not in affected}


@functools.lru_cache(maxsize=64)
def _plan(program: Program, literals: frozenset[str]) -> _Plan:
    return _Plan(program, literals)


def _children(obj: Any) -> Iterator[Any]:
    """What an object of a Program refers to; enums and anything outside the parser are leaves."""
    kind = type(obj)
    if kind is dict:
        yield from obj.keys()
        yield from obj.values()
    elif kind in _CONTAINERS:
        yield from obj
    elif kind.__module__.startswith(_PARSER_PACKAGE) and hasattr(obj, "__dict__") and not isinstance(obj, type):
        if not hasattr(kind, "__members__"):  # an Enum member is a leaf
            yield from vars(obj).values()


def _rebound(program: Program, pairs: tuple[tuple[str, str], ...], canonical: str) -> Program | None:
    """``program`` with every literal rebound, or None when the plan cannot say where they all are."""
    plan = _plan(program, frozenset(key for key, _ in pairs))
    if plan.slots != sum(canonical.count(f'"{key}"') for key, _ in pairs):
        return None  # a literal kept twice, derived, or inside an object the plan does not walk
    return cast(Program, _copy(program, dict(plan.shared), dict(pairs)))


def _copy(obj: Any, memo: dict[int, Any], values: Mapping[str, str]) -> Any:
    """A copy of an object on a path to a literal, the literals swapped; shared objects (in ``memo``) as they are."""
    kind = type(obj)
    if kind is str:
        return values.get(obj, obj)
    if isinstance(obj, _ATOMIC):
        return obj
    found = memo.get(id(obj))
    if found is not None:
        return found
    if kind is list:
        new_list: list[Any] = []
        memo[id(obj)] = new_list
        new_list.extend(_copy(v, memo, values) for v in obj)
        return new_list
    if kind is dict:
        new_dict: dict[Any, Any] = {}
        memo[id(obj)] = new_dict
        for k, v in obj.items():
            new_dict[_copy(k, memo, values)] = _copy(v, memo, values)
        return new_dict
    if kind in (tuple, set, frozenset):  # a tuple or frozenset holds no cycle that does not pass a mutable object
        made = kind(_copy(v, memo, values) for v in obj)
        memo[id(obj)] = made
        return made
    clone = kind.__new__(kind)  # as copy.copy does (copyreg.__newobj__): no __init__
    memo[id(obj)] = clone
    clone.__dict__.update({name: _copy(value, memo, values) for name, value in vars(obj).items()})
    return clone
