"""EventBridge event patterns: every reason PutRule rejects one, and whether one matches an event.

Each rule below is one of the EventBridge User Guide's, and the comment beside it names its page:

* syntax, and how EventBridge reads a pattern (keys joined with dots, numbers, duplicate keys):
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html
* the comparison operators: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
* null and empty strings: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
* arrays: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
* the size of a pattern: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html

Where the pages leave a case open, or say other than what EventBridge does, the comment beside it says
how it is decided here and why: numbers compare by value, lists in anything-but's nested operators,
arrays of objects (Event Ruler's README, the engine EventBridge runs on), an empty object.

A reason reads after the pattern's name (``EventPattern detail.amount[0]: unknown operator 'numerc'; did
you mean 'numeric'?``): a path, what is wrong, and what to write instead. Standard library only: the
local bus imports this to route every event, and ``stepsaga check`` to lint every ``EventPattern``.
"""

from __future__ import annotations

import ipaddress
import json
import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

from stepsaga.choreography.limits import EVENT_PATTERN_DEFAULT_QUOTA, MAX_EVENT_PATTERN_LENGTH, NUMERIC_MATCH_LIMIT
from stepsaga.errors import PatternError

#: The operators a filter object may name. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
OPERATORS = ("anything-but", "cidr", "equals-ignore-case", "exists", "numeric", "prefix", "suffix", "wildcard")
#: The operators ``anything-but`` may nest: anything-but (begins with, ends with, ignore case, using a wildcard).
ANYTHING_BUT_OPERATORS = ("equals-ignore-case", "prefix", "suffix", "wildcard")
#: Numeric matching's comparisons. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#filtering-numeric-matching
NUMERIC_OPERATORS = ("=", "<", "<=", ">", ">=")
#: The key of a choice between patterns: ``"$or": [{...}, {...}]``, at any level of a pattern object.
OR = "$or"

_EXAMPLE = '{"source": ["shop.orders"]}'
_LOWER, _UPPER = (">", ">="), ("<", "<=")


# --- the public functions -----------------------------------------------------------------------


def validate(pattern: object, *, max_length: int = EVENT_PATTERN_DEFAULT_QUOTA) -> list[str]:
    """Every reason PutRule would reject ``pattern``; ``[]`` when it is valid.

    ``pattern`` is the parsed JSON object, or its JSON text (CloudFormation takes ``EventPattern`` as
    either). ``max_length`` is the account's pattern size quota, 2048 characters unless raised
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html); the text's length is counted,
    or for an object its compact JSON's.
    """
    return _Compiler().run(pattern, max_length)[0]


def compile_pattern(pattern: object, *, max_length: int = EVENT_PATTERN_DEFAULT_QUOTA) -> Pattern:
    """``pattern`` validated once, to match many events; PatternError lists every reason it is invalid."""
    return Pattern(pattern, max_length=max_length)


def matches(pattern: object, event: dict[str, object]) -> bool:
    """Whether EventBridge would deliver ``event`` to a rule with ``pattern`` (a Pattern, or JSON data or text).

    An invalid pattern raises PatternError; an event that is not a JSON object raises TypeError.
    """
    return (pattern if isinstance(pattern, Pattern) else Pattern(pattern)).matches(event)


def exact_values(pattern: object, field: str) -> frozenset[str] | None:
    """The strings ``field`` must hold for ``pattern`` to match, or None when the pattern does not pin it.

    Every event the pattern matches has at least one value at ``field`` (see ``values_at``) in the set, so
    a bus may index rules on it (``source``, ``detail-type``). None when a filter of the field is anything
    but exact strings (an operator, a number, null, ``exists``), or when a ``$or`` branch leaves it free.
    """
    return (pattern if isinstance(pattern, Pattern) else Pattern(pattern)).exact_values(field)


def values_at(event: dict[str, object], field: str) -> list[object]:
    """The values a pattern's ``field`` is compared with: ``event[field]``, through keys joined with dots.

    ``"detail.state"`` reads ``event["detail"]["state"]`` or ``event["detail.state"]`` (EventBridge joins keys
    with dots, eb-create-pattern.html); arrays are flattened, objects are not values (eb-event-patterns-arrays.html).
    """
    return [value for value, _ in _leaves(event, field)]


class Pattern:
    """A valid event pattern, compiled to match many events: the local bus keeps one per rule."""

    __slots__ = ("pattern", "_root")

    def __init__(self, pattern: object, *, max_length: int = EVENT_PATTERN_DEFAULT_QUOTA) -> None:
        reasons, parsed, root = _Compiler().run(pattern, max_length)
        if reasons:
            raise PatternError(reasons)
        self.pattern = parsed
        self._root = root

    def __repr__(self) -> str:
        return f"Pattern({_show(self.pattern, 200)})"

    def matches(self, event: dict[str, object]) -> bool:
        """Whether EventBridge would deliver ``event`` (a JSON object) to this pattern's rule."""
        if not isinstance(event, dict):
            raise TypeError(f"an event is a JSON object, not {_describe(event)}")
        run = _Run(event)
        certain, possible = run.bounds(self._root)
        if certain or not possible:
            return certain
        # Values from different elements of one array of objects may not meet in one match (array-consistent
        # matching): search for one choice of value per field whose elements agree.
        return next(run.solve(self._root, {}), None) is not None

    def exact_values(self, field: str) -> frozenset[str] | None:
        """See ``exact_values``."""
        return _exact(self._root, field)


# --- compiled patterns ----------------------------------------------------------------------------


class _Field:
    """One field of a pattern and its array of values: the field matches when any value matches."""

    __slots__ = ("path", "strings", "numbers", "booleans", "null", "tests", "any_value", "if_absent")

    def __init__(self, path: str) -> None:
        self.path = path
        self.strings: set[str] = set()
        self.numbers: set[float] = set()
        self.booleans: set[bool] = set()
        self.null = False
        self.tests: list[Callable[[object], bool]] = []
        self.any_value = False  # {"exists": true}
        self.if_absent = False  # {"exists": false}

    def accepts(self, value: object) -> bool:
        if self.any_value:
            return True
        # JSON types are kept apart: "1" is not 1, and true is not 1 (Python says True == 1).
        if value is None:
            if self.null:
                return True
        elif isinstance(value, bool):
            if value in self.booleans:
                return True
        elif isinstance(value, str):
            if value in self.strings:
                return True
        elif _is_number(value) and value in self.numbers:
            return True
        return any(test(value) for test in self.tests)

    def exact_strings(self) -> frozenset[str] | None:
        if self.numbers or self.booleans or self.null or self.tests or self.any_value or self.if_absent:
            return None
        return frozenset(self.strings)


class _All:
    """Fields and choices that must all match: a pattern object."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[_Field | _All | _Any]) -> None:
        self.parts = parts


class _Any:
    """Branches of which one must match: a ``$or``."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[_Field | _All | _Any]) -> None:
        self.parts = parts


def _exact(node: _Field | _All | _Any, field: str) -> frozenset[str] | None:
    if isinstance(node, _Field):
        return node.exact_strings() if node.path == field else None
    found = [_exact(part, field) for part in node.parts]
    if isinstance(node, _Any):
        if any(f is None for f in found):
            return None
        return frozenset().union(*found)  # type: ignore[arg-type]
    # Any one conjunct's set is sound; not their intersection, since an array may meet each with another element.
    pinned = [f for f in found if f is not None]
    return min(pinned, key=len) if pinned else None


class _Run:
    """One event being matched: the values at each path, read once."""

    __slots__ = ("event", "_outcomes")

    def __init__(self, event: dict[str, object]) -> None:
        self.event = event
        self._outcomes: dict[int, tuple[bool, list[tuple[tuple[int, int], ...]]]] = {}

    def outcome(self, field: _Field) -> tuple[bool, list[tuple[tuple[int, int], ...]]]:
        """(met whatever else matches, the array elements of each value that meets it otherwise)."""
        found = self._outcomes.get(id(field))
        if found is None:
            found = self._outcomes[id(field)] = _outcome(field, _leaves(self.event, field.path))
        return found

    def bounds(self, node: _Field | _All | _Any) -> tuple[bool, bool]:
        """(certainly matches, possibly matches), before array consistency is looked at."""
        if isinstance(node, _Field):
            free, elements = self.outcome(node)
            return free, free or bool(elements)
        certain, possible = isinstance(node, _All), isinstance(node, _All)
        for part in node.parts:
            c, p = self.bounds(part)
            if isinstance(node, _All):
                certain, possible = certain and c, possible and p
                if not possible:
                    break
            else:
                certain, possible = certain or c, possible or p
                if certain:
                    break
        return certain, possible

    def solve(self, node: _Field | _All | _Any, chosen: dict[int, int]) -> Iterator[dict[int, int]]:
        """Each way ``node`` matches that keeps ``chosen`` (array -> element) and what it adds to it."""
        if isinstance(node, _Field):
            free, elements = self.outcome(node)
            if free:
                yield chosen
                return
            for within in elements:
                merged = _agree(chosen, within)
                if merged is not None:
                    yield merged
        elif isinstance(node, _Any):
            for part in node.parts:
                yield from self.solve(part, chosen)
        else:
            yield from self._solve_all(node.parts, 0, chosen)

    def _solve_all(self, parts: list[_Field | _All | _Any], index: int, chosen: dict[int, int]) -> Iterator[dict[int, int]]:
        if index == len(parts):
            yield chosen
            return
        for step in self.solve(parts[index], chosen):
            yield from self._solve_all(parts, index + 1, step)


def _outcome(field: _Field, leaves: list[tuple[object, tuple[tuple[int, int], ...]]]) -> tuple[bool, list[tuple[tuple[int, int], ...]]]:
    if not leaves:
        return field.if_absent, []
    elements = []
    for value, within in leaves:
        if field.accepts(value):
            if not within:
                return True, []
            elements.append(within)
    return False, elements


def _agree(chosen: dict[int, int], within: tuple[tuple[int, int], ...]) -> dict[int, int] | None:
    merged = None
    for array, element in within:
        if chosen.get(array, element) != element:
            return None
        if array not in chosen:
            merged = dict(chosen) if merged is None else merged
            merged[array] = element
    return chosen if merged is None else merged


def _leaves(event: object, path: str) -> list[tuple[object, tuple[tuple[int, int], ...]]]:
    """The values at a dotted path, each with the (array, element) pairs of the arrays of objects it is inside."""
    out: list[tuple[object, tuple[tuple[int, int], ...]]] = []
    _walk(event, path, (), out)
    return out


def _walk(node: object, rest: str, within: tuple[tuple[int, int], ...], out: list) -> None:
    if isinstance(node, dict):
        # EventBridge joins keys with dots, so "a.b" is found as {"a.b": ...} and as {"a": {"b": ...}}
        # (eb-create-pattern.html, "Considerations when creating event patterns").
        if rest in node:
            _collect(node[rest], out, within)
        dot = rest.find(".")
        while dot != -1:
            head = rest[:dot]
            if head in node:
                _walk(node[head], rest[dot + 1:], within, out)
            dot = rest.find(".", dot + 1)
    elif isinstance(node, list):
        # An array of objects is crushed: each element is read as the value of the array's field, and two fields
        # match only within one element (Pattern.matches). The User Guide's arrays page covers arrays of values;
        # this is how AWS's Event Ruler, the engine EventBridge runs on, documents arrays of objects (its README,
        # "JSON Array Matching": https://github.com/aws/event-ruler).
        for index, element in enumerate(node):
            _walk(element, rest, (*within, (id(node), index)), out)


def _collect(value: object, out: list, within: tuple[tuple[int, int], ...]) -> None:
    if isinstance(value, dict):
        return  # an object is an intermediate node, not a value: exists matching "only works on leaf nodes"
    if isinstance(value, list):
        for element in value:  # "If the value in the event is an array", any element may match
            _collect(element, out, within)
        return
    out.append((value, within))


# --- validation and compilation -------------------------------------------------------------------


class _Compiler:
    """Walks a pattern once: every reason it is invalid, and its compiled form when there is none."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def fail(self, where: str, text: str) -> None:
        self.reasons.append(f"{where}: {text}" if where else text)

    def run(self, pattern: object, max_length: int) -> tuple[list[str], object, _All]:
        text = None
        if isinstance(pattern, str):
            text = pattern
            try:
                pattern = json.loads(text)  # duplicate keys: the last one counts, as on EventBridge
            except json.JSONDecodeError as exc:
                self.fail("", f"is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); write a JSON object, for example {_EXAMPLE}")
                return self.reasons, None, _All([])
        root = _All([])
        if not isinstance(pattern, dict):
            self.fail("", f"is {_describe(pattern)}, not a JSON object; write a JSON object, for example {_EXAMPLE}")
            return self.reasons, pattern, root
        if text is None:
            try:
                text = json.dumps(pattern, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError):
                text = ""  # the walk below names the value that is not JSON
        if len(text) > max_length:
            self.fail("", (
                f"is {len(text)} characters long, over the {max_length}-character quota of an event pattern; "
                f"shorten it, or raise the account's quota (PutRule takes at most {MAX_EVENT_PATTERN_LENGTH})"
            ))
        if not pattern:
            # The User Guide does not say; an object that names no field to match is taken for a mistake.
            self.fail("", f"has no fields; name at least one, for example {_EXAMPLE}")
        self.object(pattern, "", "", root.parts)
        return self.reasons, pattern, root

    def object(self, obj: dict, where: str, prefix: str, into: list[_Field | _All | _Any]) -> None:
        """The fields of one pattern object, ANDed into ``into``."""
        for raw_key, value in obj.items():
            key = str(raw_key)
            here = f"{where}.{key}" if where else key
            if key == OR:
                self.either(value, here, prefix, into)
                continue
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                if not value:
                    self.fail(here, "is an empty object; give it a field to match, or remove it")
                self.object(value, here, path, into)
            elif isinstance(value, (list, tuple)):
                into.append(self.field(value, here, path))
            elif _is_json_scalar(value):
                if key in OPERATORS:
                    parent = where.rsplit(".", 1)[-1] or "field"
                    self.fail(here, f"is {_show(value)}, an operator outside an array; write \"{parent}\": [{{\"{key}\": {_show(value)}}}]")
                else:
                    self.fail(here, f"is {_show(value)}, not an array of values; write [{_show(value)}] (the value of a field is an array or an object)")
            else:
                self.fail(here, f"is {_describe(value)}, which is not JSON; write an array of values or an object")

    def either(self, value: object, where: str, prefix: str, into: list[_Field | _All | _Any]) -> None:
        """``"$or": [pattern, pattern, ...]``: the fields of one branch or another, at the same level."""
        instead = 'write "$or": [{"a": ["x"]}, {"b": ["y"]}]'
        if not isinstance(value, (list, tuple)):
            self.fail(where, f"is {_describe(value)}, not an array of patterns; {instead}")
            return
        if len(value) < 2:
            self.fail(where, f"has {len(value)} pattern{'' if len(value) == 1 else 's'}, but $or chooses between two or more; {instead}, or drop the $or")
        branches: list[_Field | _All | _Any] = []
        for index, branch in enumerate(value):
            here = f"{where}[{index}]"
            if not isinstance(branch, dict):
                self.fail(here, f"is {_describe(branch)}, not a pattern object; {instead}")
                continue
            if not branch:
                self.fail(here, "is an empty object; give the branch a field to match, or remove it")
            parts: list[_Field | _All | _Any] = []
            self.object(branch, here, prefix, parts)
            branches.append(_All(parts))
        into.append(_Any(branches))

    def field(self, values: list | tuple, where: str, path: str) -> _Field:
        """A field's array of values: exact values and one-operator filters, any of which may match."""
        field = _Field(path)
        if not values:
            self.fail(where, "is an empty array, which EventBridge rejects; list at least one value to match")
        for index, value in enumerate(values):
            here = f"{where}[{index}]"
            if value is None:
                field.null = True  # [null] matches a null, not a missing field (eb-event-patterns-null-values.html)
            elif isinstance(value, bool):
                field.booleans.add(value)
            elif isinstance(value, str):
                field.strings.add(value)
            elif _is_number(value):
                if self.finite(value, here, ""):
                    # Numbers match by value: the user guide says 300 and 300.0 differ (eb-create-pattern.html),
                    # but TestEventPattern matches them (LocalStack's AWS-recorded number_comparison_float case).
                    field.numbers.add(value)
            elif isinstance(value, dict):
                self.filter(value, here, field)
            elif isinstance(value, (list, tuple)):
                self.fail(here, "is an array; a field's values are strings, numbers, booleans, null or one-operator objects such as {\"prefix\": \"a\"}, in one array")
            else:
                self.fail(here, f"is {_describe(value)}, which is not JSON; write a string, a number, true, false, null or an operator object")
        return field

    def filter(self, value: dict, where: str, field: _Field) -> None:
        """One operator object, ``{"prefix": "us-"}``: "Comparison operators only work on leaf nodes"."""
        if not value:
            self.fail(where, 'is an empty object; write one operator, for example {"prefix": "a"}')
            return
        names = [str(k) for k in value]
        if len(names) > 1:
            both = " (for a prefix and a suffix together, one {\"wildcard\": \"a*b\"})" if set(names) == {"prefix", "suffix"} else ""
            self.fail(where, (
                f"has {len(names)} operators ({', '.join(names)}), but a filter object takes one; give each its own "
                f"object in the array, where they are alternatives{both}"
            ))
            return
        [(name, operand)] = value.items()
        name = str(name)
        test = None
        if name == "exists":
            if not isinstance(operand, bool):
                self.fail(where, f"exists is {_show(operand)}, not a boolean; write {{\"exists\": true}} or {{\"exists\": false}}")
            elif operand:
                field.any_value = True
            else:
                field.if_absent = True  # absent, or not a leaf: an object, or an empty array (eb-create-pattern-operators.html#eb-filtering-exists-matching)
            return
        if name in ("prefix", "suffix"):
            test = self.affix(name, operand, where)
        elif name == "equals-ignore-case":
            if isinstance(operand, str):
                test = _ignore_case(frozenset([operand]))
            else:
                self.fail(where, f"equals-ignore-case is {_show(operand)}, not a string; write {{\"equals-ignore-case\": \"alice\"}}, one object per value")
        elif name == "wildcard":
            parts = self.wildcard(operand, where, "wildcard")
            test = None if parts is None else _wildcard([parts])
        elif name == "numeric":
            test = self.numeric(operand, where)
        elif name == "cidr":
            test = self.cidr(operand, where)
        elif name == "anything-but":
            test = self.anything_but(operand, where)
        elif name == OR:
            self.fail(where, 'is a $or inside a field\'s values; put "$or": [{...}, {...}] beside the fields it chooses between')
        else:
            self.fail(where, f"unknown operator {name!r}; {_suggest(name, OPERATORS)}")
        if test is not None:
            field.tests.append(test)

    def affix(self, name: str, operand: object, where: str) -> Callable[[object], bool] | None:
        """``prefix``/``suffix``: a string, or ``{"equals-ignore-case": string}`` (begins/ends with, ignore case)."""
        starts = name == "prefix"
        if isinstance(operand, str):
            return (lambda v: isinstance(v, str) and v.startswith(operand)) if starts else (lambda v: isinstance(v, str) and v.endswith(operand))
        instead = f'write {{"{name}": "us-"}} or {{"{name}": {{"equals-ignore-case": "us-"}}}}'
        if isinstance(operand, dict) and len(operand) == 1 and "equals-ignore-case" in operand:
            text = operand["equals-ignore-case"]
            if isinstance(text, str):
                low = text.lower()
                if starts:
                    return lambda v: isinstance(v, str) and v.lower().startswith(low)
                return lambda v: isinstance(v, str) and v.lower().endswith(low)
            self.fail(where, f"{name} equals-ignore-case is {_show(text)}, not a string; {instead}")
        elif isinstance(operand, dict):
            self.fail(where, f"{name} is {_show(operand)}, but the one object {name} takes is {{\"equals-ignore-case\": \"...\"}}; {instead}")
        else:
            self.fail(where, f"{name} is {_show(operand)}, not a string; {instead}")
        return None

    def wildcard(self, operand: object, where: str, label: str) -> list[str] | None:
        """A wildcard's literal parts between its ``*``s, or None after reporting why it is not one.

        "consecutive wildcard characters are not supported"; ``\\*`` is a literal ``*`` and ``\\\\`` a literal
        backslash, and "Using the backslash to escape other characters is not supported"
        (eb-create-pattern-operators.html#eb-filtering-wildcard-matching).
        """
        if not isinstance(operand, str):
            self.fail(where, f"{label} is {_show(operand)}, not a string; write {{\"wildcard\": \"*.png\"}}")
            return None
        parts, literal, star = [], [], False
        index = 0
        while index < len(operand):
            char = operand[index]
            if char == "\\":
                if index + 1 == len(operand):
                    self.fail(where, f"{label} {_show(operand)} ends in a lone backslash; write \\\\ for a backslash, \\* for a star")
                    return None
                escaped = operand[index + 1]
                if escaped not in "*\\":
                    self.fail(where, (
                        f"{label} {_show(operand)} escapes {escaped!r} at character {index + 1}, but a backslash escapes only "
                        f"* and \\; write \\\\ for a backslash"
                    ))
                    return None
                literal.append(escaped)
                index, star = index + 2, False
                continue
            if char == "*":
                if star:
                    self.fail(where, f"{label} {_show(operand)} has consecutive wildcard characters at character {index + 1}, which EventBridge does not support; write one *")
                    return None
                parts.append("".join(literal))
                literal, star = [], True
            else:
                literal.append(char)
                star = False
            index += 1
        parts.append("".join(literal))
        return parts

    def numeric(self, operand: object, where: str) -> Callable[[object], bool] | None:
        """``[op, number]`` or a range ``[lower-op, number, upper-op, number]`` (eb-create-pattern-operators.html#filtering-numeric-matching)."""
        shape = 'write a comparison and a number, or two for a range: ["=", 100] or [">", 0, "<=", 5]'
        if not isinstance(operand, (list, tuple)) or len(operand) not in (2, 4):
            self.fail(where, f"numeric is {_show(operand)}; {shape}")
            return None
        pairs = [(operand[i], operand[i + 1]) for i in range(0, len(operand), 2)]
        ok = True
        for op, number in pairs:
            if not isinstance(op, str) or op not in NUMERIC_OPERATORS:
                self.fail(where, f"numeric has the comparison {_show(op)}; write one of {', '.join(NUMERIC_OPERATORS)}")
                ok = False
            elif not _is_number(number):
                self.fail(where, f"numeric {op} is followed by {_show(number)}, not a number; write for example [\"{op}\", 5]")
                ok = False
            elif not self.finite(number, where, f"numeric {op} "):
                ok = False
            elif abs(number) > NUMERIC_MATCH_LIMIT:
                self.fail(where, f"numeric {op} {_show(number)} is outside -5.0e9 to 5.0e9, the numbers numeric matching works on; compare within that range")
                ok = False
        if not ok:
            return None
        if len(pairs) == 2:
            (op1, n1), (op2, n2) = pairs
            if "=" in (op1, op2):
                self.fail(where, f"numeric {_show(operand)} joins = with another comparison; write [\"=\", {_show(n1 if op1 == '=' else n2)}] alone, or a range such as [\">=\", 5, \"<\", 10]")
                return None
            if (op1 in _LOWER) == (op2 in _LOWER):
                kind = "lower" if op1 in _LOWER else "upper"
                self.fail(where, f"numeric {_show(operand)} has two {kind} bounds; a range is one of > or >= and one of < or <=, such as [\">\", 0, \"<=\", 5]")
                return None
            (low_op, low), (high_op, high) = sorted(pairs, key=lambda p: p[0] in _UPPER)
            if low > high or (low == high and (low_op == ">" or high_op == "<")):
                self.fail(where, f"numeric {_show(operand)} matches no number, its lower bound is not below its upper bound; swap or widen them")
                return None
        return _numeric(pairs)

    def cidr(self, operand: object, where: str) -> Callable[[object], bool] | None:
        """An IPv4 or IPv6 CIDR block (eb-create-pattern-operators.html#eb-filtering-ip-matching)."""
        instead = 'write for example {"cidr": "10.0.0.0/24"} or {"cidr": "2001:db8::/32"}'
        if not isinstance(operand, str):
            self.fail(where, f"cidr is {_show(operand)}, not a string; {instead}")
            return None
        if operand.count("/") != 1:
            self.fail(where, f"cidr {_show(operand)} is not an address, one '/' and the mask bits; {instead}")
            return None
        address, bits = operand.split("/")
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            self.fail(where, f"cidr {_show(operand)} has {address!r}, which is not an IPv4 or IPv6 address; {instead}")
            return None
        if not (bits.isascii() and bits.isdigit()):
            self.fail(where, f"cidr {_show(operand)} has the mask bits {bits!r}, not a whole number; {instead}")
            return None
        if int(bits) > ip.max_prefixlen:
            self.fail(where, f"cidr {_show(operand)} has {int(bits)} mask bits, but an IPv{ip.version} address has {ip.max_prefixlen}; write /0 to /{ip.max_prefixlen}")
            return None
        return _cidr(ipaddress.ip_network(operand, strict=False))

    def anything_but(self, operand: object, where: str) -> Callable[[object], bool] | None:
        """Anything but: a string or number, a list of only strings or only numbers, or one nested operator.

        https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-anything-but
        """
        instead = (
            'anything-but takes a string, a number, a list of strings or of numbers, or one of prefix, suffix, '
            'equals-ignore-case and wildcard, such as {"anything-but": {"prefix": "init"}}'
        )
        if isinstance(operand, str):
            return _none_of(frozenset([operand]), frozenset())
        if _is_number(operand):
            return _none_of(frozenset(), frozenset([operand])) if self.finite(operand, where, "anything-but ") else None
        if isinstance(operand, (list, tuple)):
            if not operand:
                self.fail(where, "anything-but is an empty list; list the values to exclude")
                return None
            if all(isinstance(v, str) for v in operand):
                return _none_of(frozenset(operand), frozenset())
            if all(_is_number(v) for v in operand):
                if all(self.finite(v, where, "anything-but ") for v in operand):
                    return _none_of(frozenset(), frozenset(operand))
                return None
            self.fail(where, f"anything-but lists {_show(operand)}, which holds {_kinds(operand)}; it takes a list of only strings or only numbers")
            return None
        if isinstance(operand, dict) and len(operand) == 1:
            [(name, nested)] = operand.items()
            name = str(name)
            if name not in ANYTHING_BUT_OPERATORS:
                self.fail(where, f"anything-but cannot nest {name!r}; {_suggest(name, ANYTHING_BUT_OPERATORS, instead)}")
                return None
            # The User Guide shows one string each (and once said "only works with a single prefix, not a list"),
            # but PutRule takes a list of strings for each (LocalStack's AWS-recorded content_anything_*_list cases).
            texts = (nested,) if isinstance(nested, str) else tuple(nested) if isinstance(nested, (list, tuple)) else ()
            if not texts or not all(isinstance(t, str) for t in texts):
                self.fail(where, f"anything-but {name} is {_show(nested)}, not a string or a list of strings; write {{\"anything-but\": {{\"{name}\": \"init\"}}}}")
                return None
            if name in ("prefix", "suffix") and "" in texts:
                # PutRule rejects it (LocalStack's AWS-recorded content_anything_prefix_empty_EXC): it would exclude every string.
                self.fail(where, f"anything-but {name} is an empty string, which EventBridge rejects; give the {name} to exclude")
                return None
            if name == "prefix":
                return _excluding(lambda v: any(v.startswith(t) for t in texts))
            if name == "suffix":
                return _excluding(lambda v: any(v.endswith(t) for t in texts))
            if name == "equals-ignore-case":
                return _excluding(_ignore_case(frozenset(texts)))
            parts = [self.wildcard(t, where, "anything-but wildcard") for t in texts]
            return None if any(p is None for p in parts) else _excluding(_wildcard(parts))  # type: ignore[arg-type]
        self.fail(where, f"anything-but is {_show(operand)}; {instead}")
        return None

    def finite(self, number: float, where: str, label: str) -> bool:
        if isinstance(number, float) and not math.isfinite(number):
            self.fail(where, f"{label}{number!r} is not a JSON number; write a finite number")
            return False
        return True


# --- the tests each operator compiles to ------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_json_scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, bool, int, float))


def _ignore_case(texts: frozenset[str]) -> Callable[[object], bool]:
    lowered = frozenset(t.lower() for t in texts)
    return lambda v: isinstance(v, str) and v.lower() in lowered


def _wildcard(alternatives: list[list[str]]) -> Callable[[object], bool]:
    """A string that any of the wildcards matches whole; each is its literal parts between ``*``s."""

    def one(parts: list[str], value: str) -> bool:
        if len(parts) == 1:
            return value == parts[0]
        first, last = parts[0], parts[-1]
        if len(value) < len(first) + len(last) or not value.startswith(first) or not value.endswith(last):
            return False
        start, end = len(first), len(value) - len(last)
        for middle in parts[1:-1]:  # leftmost is enough: a * matches any run of characters
            found = value.find(middle, start, end)
            if found < 0:
                return False
            start = found + len(middle)
        return True

    return lambda v: isinstance(v, str) and any(one(parts, v) for parts in alternatives)


def _numeric(pairs: list[tuple[str, float]]) -> Callable[[object], bool]:
    checks = {
        "=": lambda v, n: v == n, "<": lambda v, n: v < n, "<=": lambda v, n: v <= n,
        ">": lambda v, n: v > n, ">=": lambda v, n: v >= n,
    }
    bound = [(checks[op], number) for op, number in pairs]

    def test(value: object) -> bool:
        # Only JSON numbers, within the range numeric matching works on (abs() first: a huge int is no float).
        if not _is_number(value) or abs(value) > NUMERIC_MATCH_LIMIT or (isinstance(value, float) and math.isnan(value)):  # type: ignore[arg-type]
            return False
        return all(check(value, number) for check, number in bound)

    return test


def _cidr(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Callable[[object], bool]:
    def test(value: object) -> bool:
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == network.version and address in network

    return test


def _none_of(strings: frozenset[str], numbers: frozenset[float]) -> Callable[[object], bool]:
    """anything-but values: every value but these (of other JSON types too, null included)."""
    return lambda v: not ((isinstance(v, str) and v in strings) or (_is_number(v) and v in numbers))


def _excluding(test: Callable[[str], bool]) -> Callable[[object], bool]:
    """anything-but prefix, suffix, equals-ignore-case or wildcard: a value that is not a string it names."""
    return lambda v: not (isinstance(v, str) and test(v))


# --- words -------------------------------------------------------------------------------------------


def _show(value: object, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {_show(value)}"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if _is_number(value):
        return f"the number {_show(value)}"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a Python {type(value).__name__}"


def _kinds(values: list | tuple) -> str:
    """``["a", 1, null]`` -> ``"nulls, numbers and strings"``."""
    names = sorted({"strings" if isinstance(v, str) else "numbers" if _is_number(v) else "nulls" if v is None
                    else "booleans" if isinstance(v, bool) else "arrays" if isinstance(v, (list, tuple)) else "objects" for v in values})
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _suggest(name: str, choices: tuple[str, ...], otherwise: str = "") -> str:
    import difflib  # only on the way to an error message

    close = difflib.get_close_matches(name.lower(), choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return otherwise or f"write one of {', '.join(choices)}"
