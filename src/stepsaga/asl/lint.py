"""An ASL linter for compiled output and for hand-written definitions alike.

Every problem names its state by path (``Fanout.Branches[0].Charge``, ``Each.ItemProcessor.Resize``; None for
the definition itself), the field, and what to write instead. This module walks the definition and judges
its graph (start, transitions, reachability, unique names, retriers and catchers, timeouts); the rules of
fields and query languages are ``lint_fields``', of Choice rules ``lint_choice``', and of single state types
``lint_states``'. A state's query language is its own ``QueryLanguage``, else its parent's, else the
definition's, else JSONPath; once the definition says JSONata, no state may say JSONPath.
"""

from __future__ import annotations

import json
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

from stepsaga.asl.fields import JSONATA, JSONPATH, QUERY_LANGUAGES
from stepsaga.asl.limits import ASL_MAX_INT, MAX_DELAY_SECONDS, MAX_NAME_LENGTH
from stepsaga.asl.lint_choice import choice_problems
from stepsaga.asl.lint_fields import field_problems, is_jsonata
from stepsaga.asl.lint_states import state_problems
from stepsaga.errors import LintProblem

_NEEDS_TRANSITION = {"Task", "Pass", "Wait", "Map", "Parallel"}
_TERMINAL = {"Succeed", "Fail"}
_KNOWN_TYPES = _NEEDS_TRANSITION | _TERMINAL | {"Choice"}


class _Pairs(dict):
    """A JSON object that remembers the keys it saw twice (json keeps only the last)."""

    duplicates: tuple[str, ...] = ()


def _pairs(items: list[tuple[str, Any]]) -> _Pairs:
    out = _Pairs()
    dups = []
    for key, value in items:
        if key in out and key not in dups:
            dups.append(key)
        out[key] = value
    out.duplicates = tuple(dups)
    return out


def lint_text(text: str) -> list[LintProblem]:
    """Lint ASL given as JSON text, catching duplicated state names that a dict would hide."""
    try:
        doc = json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as exc:
        return [LintProblem(None, "json", f"is not valid JSON: {exc}")]
    if not isinstance(doc, dict):
        return [LintProblem(None, "shape", "is not a JSON object")]
    return lint(doc)


def lint(doc: dict[str, Any], duplicate_names: Iterable[str] = ()) -> list[LintProblem]:
    """Every problem in a definition: fields and query languages, reachability, transitions, error matching,
    ranges, names; nested Parallel branches and Map processors included."""
    problems: list[LintProblem] = []
    language = doc.get("QueryLanguage") if doc.get("QueryLanguage") in QUERY_LANGUAGES else JSONPATH
    problems.extend(field_problems("StateMachine", doc, language, None))
    _lint_timeouts({"TimeoutSeconds": doc["TimeoutSeconds"]} if "TimeoutSeconds" in doc else {}, None, problems, language)
    _lint_machine(doc, problems, prefix="", extra_dups=tuple(duplicate_names), language=language, top=language, seen={})
    return problems


def _lint_machine(doc: dict[str, Any], out: list[LintProblem], prefix: str, extra_dups: tuple[str, ...] = (),
                  language: str = JSONPATH, top: str = JSONPATH, seen: dict[str, str] | None = None) -> None:
    """Lint one scope (the definition, a branch, an item processor): its states, then the scopes inside them.

    ``language`` is the scope's query language, ``top`` the definition's; ``seen`` maps every state name met so
    far, in any scope, to the scope that declared it (names must be unique in the whole definition).
    """
    seen = {} if seen is None else seen
    states = doc.get("States")
    if not isinstance(states, dict) or not states:
        out.append(LintProblem(prefix.rstrip(".") or None, "states", "has no States; write at least one state, and StartAt naming it"))
        return
    before = len(out)
    for name in tuple(getattr(states, "duplicates", ())) + extra_dups:
        out.append(LintProblem(prefix + name, "duplicate-name", f"is declared more than once; state names must be unique"))
    start = doc.get("StartAt")
    if start not in states:
        out.append(LintProblem(prefix.rstrip(".") or None, "start-at", f"StartAt {start!r} names no state"))

    ends = False
    for name, state in states.items():
        where = prefix + name
        scope = prefix.rstrip(".") or "the top level"
        if name in seen:
            out.append(LintProblem(where, "duplicate-name", f"is also a state at {seen[name]}; state names must be unique in the whole definition, branches and item processors included"))
        seen.setdefault(name, scope)
        if len(name) > MAX_NAME_LENGTH:
            out.append(LintProblem(where, "name-length", f"name is {len(name)} characters long; ASL allows at most {MAX_NAME_LENGTH}"))
        if not isinstance(state, dict):
            out.append(LintProblem(where, "shape", "is not a JSON object"))
            continue
        for field in getattr(state, "duplicates", ()):  # only JSON text has them: a dict keeps the last value
            out.append(LintProblem(where, "duplicate-field", f"{field} is given more than once, and only the last one counts; write it once"))
        kind = state.get("Type")
        ends = ends or kind in _TERMINAL or state.get("End") is True
        if kind not in _KNOWN_TYPES:
            out.append(LintProblem(where, "type", f"has unknown Type {kind!r}; write one of {', '.join(sorted(_KNOWN_TYPES))}"))
            continue
        own = state.get("QueryLanguage")
        lang = own if own in QUERY_LANGUAGES else language
        if top == JSONATA and own == JSONPATH:
            out.append(LintProblem(where, "query-language", "QueryLanguage is JSONPath, but the definition's is JSONata, and then every state's is; write this state in JSONata, or make the definition JSONPath and set JSONata state by state"))
        out.extend(field_problems(kind, state, lang, where))
        out.extend(state_problems(kind, state, lang, where))
        for target, via in _targets(state):
            if target not in states:
                out.append(LintProblem(where, "next-missing", f"{via} {target!r} names no state"))
        has_next, has_end = "Next" in state, state.get("End") is True
        malformed_end = "End" in state and not isinstance(state["End"], bool)  # the field-type rule's concern
        if kind in _NEEDS_TRANSITION and not (has_next or has_end or malformed_end):
            out.append(LintProblem(where, "no-transition", "has neither Next nor End"))
        if has_next and has_end:
            out.append(LintProblem(where, "next-and-end", "has both Next and End"))
        if kind in _TERMINAL and (has_next or "End" in state):
            out.append(LintProblem(where, "terminal-transition", f"is a {kind} state and cannot have Next or End"))
        if kind == "Choice" and (has_next or "End" in state):
            out.append(LintProblem(where, "choice-transition", "is a Choice state, which has no Next or End: its Choices and Default choose the next state; remove them"))
        if kind == "Choice" and not state.get("Choices"):
            out.append(LintProblem(where, "choice-empty", "is a Choice state with no Choices"))
        elif kind == "Choice":
            out.extend(choice_problems(state["Choices"], lang, where))
        _lint_matchers(state.get("Retry", []), "Retry", where, out)
        _lint_matchers(state.get("Catch", []), "Catch", where, out)
        for field, entry_kind in (("Retry", "Retrier"), ("Catch", "Catcher")):
            for i, entry in enumerate(state.get(field, ()) if isinstance(state.get(field), list) else ()):
                if not isinstance(entry, dict):
                    continue
                out.extend(field_problems(entry_kind, entry, lang, where, f"{field}[{i}]."))
                if entry_kind == "Retrier":
                    _lint_retrier(entry, f"Retry[{i}]", where, out)
                elif "Next" not in entry:
                    out.append(LintProblem(where, "catch-next", f"Catch[{i}] has no Next; name the state that handles the error"))
        _lint_timeouts(state, where, out, lang)
        for j, branch in enumerate(state.get("Branches", ()) if kind == "Parallel" and isinstance(state.get("Branches"), list) else ()):
            if isinstance(branch, dict):
                out.extend(field_problems("Branch", branch, lang, where, f"Branches[{j}]."))
                _lint_machine(branch, out, prefix=f"{where}.Branches[{j}].", language=lang, top=top, seen=seen)
        for key in ("ItemProcessor", "Iterator") if kind == "Map" else ():
            if isinstance(state.get(key), dict):
                out.extend(field_problems(key, state[key], lang, where, f"{key}."))
                _lint_machine(state[key], out, prefix=f"{where}.{key}.", language=lang, top=top, seen=seen)

    if start in states:
        reached = _reachable(states, start)
        for name in states:
            if name not in reached:
                out.append(LintProblem(prefix + name, "unreachable", f"cannot be reached from StartAt {start!r}"))
    if not ends and len(out) == before:  # a scope with other problems has its missing end among them
        out.append(LintProblem(prefix.rstrip(".") or None, "no-terminal", "has no state that ends it; add a Succeed or Fail state, or End: true on the last state"))


def _targets(state: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    if "Next" in state:
        out.append((state["Next"], "Next"))
    for i, c in enumerate(state.get("Catch", ()) or ()):
        if isinstance(c, dict) and "Next" in c:
            out.append((c["Next"], f"Catch[{i}].Next"))
    for i, c in enumerate(state.get("Choices", ()) or ()):
        if isinstance(c, dict) and "Next" in c:
            out.append((c["Next"], f"Choices[{i}].Next"))
    if "Default" in state:
        out.append((state["Default"], "Default"))
    return out


def _reachable(states: dict[str, Any], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        state = states.get(todo.pop())
        if not isinstance(state, dict):
            continue
        for target, _ in _targets(state):
            if target in states and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _lint_matchers(entries: Any, field: str, where: str, out: list[LintProblem]) -> None:
    if not isinstance(entries, list):
        out.append(LintProblem(where, "shape", f"{field} is not a list"))
        return
    for i, entry in enumerate(entries):
        errors = entry.get("ErrorEquals") if isinstance(entry, dict) else None
        if not isinstance(errors, list) or not errors or not all(isinstance(e, str) and e for e in errors):
            out.append(LintProblem(where, "error-equals", f"{field}[{i}].ErrorEquals must be a non-empty list of error names"))
            continue
        if "States.ALL" in errors:
            if len(errors) > 1:
                out.append(LintProblem(where, "states-all-last", f"{field}[{i}] lists States.ALL with other errors; States.ALL must appear alone"))
            if i != len(entries) - 1:
                out.append(LintProblem(where, "states-all-last", f"{field}[{i}] matches States.ALL but is not the last {field} entry"))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _lint_retrier(r: dict[str, Any], field: str, where: str, out: list[LintProblem]) -> None:
    def bad(key: str, rule: str) -> None:
        out.append(LintProblem(where, "retry-range", f"{field}.{key} is {r[key]!r}; {rule}"))

    if "IntervalSeconds" in r and not (_is_int(r["IntervalSeconds"]) and 1 <= r["IntervalSeconds"] <= ASL_MAX_INT):
        bad("IntervalSeconds", f"it must be a whole number from 1 to {ASL_MAX_INT}")
    if "MaxAttempts" in r and not (_is_int(r["MaxAttempts"]) and 0 <= r["MaxAttempts"] <= ASL_MAX_INT):
        bad("MaxAttempts", f"it must be a whole number from 0 to {ASL_MAX_INT}")
    rate = r.get("BackoffRate")
    if "BackoffRate" in r and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 1.0):
        bad("BackoffRate", "it must be a number of 1.0 or more")
    if "MaxDelaySeconds" in r and not (_is_int(r["MaxDelaySeconds"]) and 1 <= r["MaxDelaySeconds"] <= MAX_DELAY_SECONDS):
        bad("MaxDelaySeconds", f"it must be a whole number from 1 to {MAX_DELAY_SECONDS}")
    if "JitterStrategy" in r and r["JitterStrategy"] not in ("FULL", "NONE"):
        bad("JitterStrategy", "it must be FULL or NONE")


def _lint_timeouts(state: dict[str, Any], where: str | None, out: list[LintProblem], language: str = JSONPATH) -> None:
    for key in ("TimeoutSeconds", "HeartbeatSeconds"):
        if key in state and language == JSONATA and is_jsonata(state[key]):
            continue  # a JSONata state may compute its timeouts: {% ... %}
        if key in state and not (_is_int(state[key]) and 1 <= state[key] <= ASL_MAX_INT):
            out.append(LintProblem(where, "timeout-range", f"{key} is {state[key]!r}; it must be a whole number from 1 to {ASL_MAX_INT}"))
    t, h = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    if _is_int(t) and _is_int(h) and h >= t:
        out.append(LintProblem(where, "timeout-range", f"HeartbeatSeconds {h} must be smaller than TimeoutSeconds {t}"))
