"""The linter's Choice rules: each rule's shape in its query language, nested rules included (rule ``choice-rule``).

JSONPath: a rule is ``Variable`` with exactly one comparison operator whose value has the operator's type,
or exactly one of ``And`` / ``Or`` (a non-empty list of rules) and ``Not`` (one rule). JSONata: a rule is a
``Condition`` (a ``{% %}`` expression, or true/false). Only a top-level rule has ``Next``.
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html. Standard library only.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stepsaga.asl.fields import CHOICE_RULE_FIELDS, COMPARISONS, JSONATA, JSONATA_INSTEAD, JSONPATH, JSONPATH_INSTEAD
from stepsaga.asl.lint_fields import is_jsonata, is_path, value_problems
from stepsaga.errors import LintProblem

_RULE_FIELDS = dict(CHOICE_RULE_FIELDS)
# RFC 3339, as TimestampEquals and the other Timestamp comparisons take it: https://states-language.net/spec.html#timestamps
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def choice_problems(choices: Any, language: str, where: str | None) -> list[LintProblem]:
    """Every problem of a Choice state's ``Choices`` (a list of rules; its emptiness is the ``choice-empty`` rule)."""
    out: list[LintProblem] = []
    if not isinstance(choices, list):
        return out
    for i, rule in enumerate(choices):
        _rule(rule, language, where, f"Choices[{i}]", top=True, out=out)
    return out


def _rule(rule: Any, language: str, where: str | None, name: str, top: bool, out: list[LintProblem]) -> None:
    def bad(what: str, instead: str) -> None:
        out.append(LintProblem(where, "choice-rule", f"{name} {what}; {instead}"))

    if not isinstance(rule, dict):
        bad(f"is {type(rule).__name__}, not a rule", "write an object such as {\"Variable\": \"$.x\", \"IsPresent\": true, \"Next\": \"...\"}"
            if language == JSONPATH else "write an object such as {\"Condition\": \"{% $states.input.x > 0 %}\", \"Next\": \"...\"}")
        return
    comparisons = [k for k in rule if k in COMPARISONS]
    for key, value in rule.items():
        field = f"{name}.{key}"
        belongs = _RULE_FIELDS.get(key) or (JSONPATH if key in COMPARISONS else None)
        if belongs is None:
            bad(f"has the field {key}, which no Choice rule has", _closest_operator(key, language))
        elif belongs == JSONPATH and language == JSONATA:
            out.append(LintProblem(where, "query-language", f"{field} is a JSONPath field, but this is a JSONata state; {JSONATA_INSTEAD.get(key, 'write Condition with a {% %} expression')}"))
        elif belongs == JSONATA and language == JSONPATH:
            out.append(LintProblem(where, "query-language", f"{field} is a JSONata field, but this is a JSONPath state; {JSONPATH_INSTEAD[key]}"))
        elif key in ("Next", "Output", "Assign", "Comment"):
            if not top and key in ("Next", "Output", "Assign"):
                bad(f"has {key}, but only a top-level rule has {key}", f"move {key} to the rule in Choices that holds this one")
            else:
                out.extend(value_problems(key, value, language, where, field))
    if top and "Next" not in rule:
        bad("has no Next", "name the state this rule leads to: \"Next\": \"...\"")
    if language == JSONATA:
        if "Condition" not in rule:
            bad("has no Condition", "write \"Condition\": \"{% $states.input.x > 0 %}\"")
        elif not (is_jsonata(rule["Condition"]) or isinstance(rule["Condition"], bool)):
            bad(f"Condition is {rule['Condition']!r}, not a {{% %}} expression", "write \"{% ... %}\", or true or false")
        return
    if "Variable" in rule:
        if not is_path(rule["Variable"]):
            bad(f"Variable is {rule['Variable']!r}, not a JSONPath", "write a path such as \"$.status\"")
        if len(comparisons) != 1:
            bad(f"has {len(comparisons)} comparison operators" + (f" ({', '.join(comparisons)})" if comparisons else ""),
                "give the Variable exactly one, such as \"StringEquals\": \"ok\"; combine several with And or Or")
        for key in ("And", "Or", "Not"):
            if key in rule:
                bad(f"has both Variable and {key}", f"move the comparison into the {key} list, or make {key} a rule of its own")
        for op in comparisons:
            _operand(op, rule[op], f"{name}.{op}", bad)
        return
    if comparisons:
        bad(f"has {comparisons[0]} but no Variable", "name what it compares: \"Variable\": \"$.value\"")
        return
    boolean = [k for k in ("And", "Or", "Not") if k in rule]
    if len(boolean) != 1:
        bad("has neither Variable nor exactly one of And, Or and Not" if not boolean else f"has {' and '.join(boolean)} together",
            "write a Variable with one comparison, or one And, Or or Not")
        return
    key = boolean[0]
    if key == "Not":
        _rule(rule["Not"], language, where, f"{name}.Not", top=False, out=out)
    elif not isinstance(rule[key], list) or not rule[key]:
        bad(f"{key} is {rule[key]!r}", f"write a non-empty list of rules: \"{key}\": [{{...}}, {{...}}]")
    else:
        for i, inner in enumerate(rule[key]):
            _rule(inner, language, where, f"{name}.{key}[{i}]", top=False, out=out)


def _operand(op: str, value: Any, name: str, bad: Any) -> None:
    want = COMPARISONS[op]
    if want == "path":
        ok, instead = is_path(value), "write a path such as \"$.limit\""
    elif want == "number":
        ok, instead = isinstance(value, (int, float)) and not isinstance(value, bool), f"write a number, or compare a path with {op}Path"
    elif want == "boolean":
        ok, instead = isinstance(value, bool), "write true or false"
    elif want == "timestamp":
        ok, instead = isinstance(value, str) and bool(_TIMESTAMP.fullmatch(value)), "write an RFC 3339 timestamp such as \"2026-01-01T00:00:00Z\""
    else:
        ok, instead = isinstance(value, str), f"write a string, or compare a path with {op}Path"
    if not ok:
        bad(f"is {value!r}, but {op} takes a {'JSONPath' if want == 'path' else want}", instead)


def _closest_operator(key: str, language: str) -> str:
    import difflib  # only on the error path

    names = list(_RULE_FIELDS) + (list(COMPARISONS) if language == JSONPATH else [])
    match = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    return f"did you mean {match[0]}?" if match else "remove it"
