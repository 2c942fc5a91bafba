"""An ASL linter for compiled output and for hand-written definitions alike."""

from __future__ import annotations

import json
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

from stepsaga.asl.limits import ASL_MAX_INT, MAX_DELAY_SECONDS, MAX_NAME_LENGTH
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
    """Every problem in a definition: reachability, transitions, error matching, ranges, names."""
    problems: list[LintProblem] = []
    _lint_machine(doc, problems, prefix="", extra_dups=tuple(duplicate_names))
    return problems


def _lint_machine(doc: dict[str, Any], out: list[LintProblem], prefix: str, extra_dups: tuple[str, ...] = ()) -> None:
    states = doc.get("States")
    if not isinstance(states, dict) or not states:
        out.append(LintProblem(prefix or None, "states", "has no States"))
        return
    for name in tuple(getattr(states, "duplicates", ())) + extra_dups:
        out.append(LintProblem(prefix + name, "duplicate-name", f"is declared more than once; state names must be unique"))
    start = doc.get("StartAt")
    if start not in states:
        out.append(LintProblem(prefix or None, "start-at", f"StartAt {start!r} names no state"))

    for name, state in states.items():
        where = prefix + name
        if len(name) > MAX_NAME_LENGTH:
            out.append(LintProblem(where, "name-length", f"name is {len(name)} characters long; ASL allows at most {MAX_NAME_LENGTH}"))
        if not isinstance(state, dict):
            out.append(LintProblem(where, "shape", "is not a JSON object"))
            continue
        kind = state.get("Type")
        if kind not in _KNOWN_TYPES:
            out.append(LintProblem(where, "type", f"has unknown Type {kind!r}"))
            continue
        for target, via in _targets(state):
            if target not in states:
                out.append(LintProblem(where, "next-missing", f"{via} {target!r} names no state"))
        has_next, has_end = "Next" in state, state.get("End") is True
        if kind in _NEEDS_TRANSITION and not (has_next or has_end):
            out.append(LintProblem(where, "no-transition", "has neither Next nor End"))
        if has_next and has_end:
            out.append(LintProblem(where, "next-and-end", "has both Next and End"))
        if kind in _TERMINAL and (has_next or "End" in state):
            out.append(LintProblem(where, "terminal-transition", f"is a {kind} state and cannot have Next or End"))
        if kind == "Choice" and not state.get("Choices"):
            out.append(LintProblem(where, "choice-empty", "is a Choice state with no Choices"))
        _lint_matchers(state.get("Retry", []), "Retry", where, out)
        _lint_matchers(state.get("Catch", []), "Catch", where, out)
        for i, retrier in enumerate(state.get("Retry", ()) or ()):
            if isinstance(retrier, dict):
                _lint_retrier(retrier, f"Retry[{i}]", where, out)
        _lint_timeouts(state, where, out)
        for j, branch in enumerate(state.get("Branches", ()) or ()):
            if isinstance(branch, dict):
                _lint_machine(branch, out, prefix=f"{where}.Branches[{j}].")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                _lint_machine(state[key], out, prefix=f"{where}.{key}.")

    if start in states:
        reached = _reachable(states, start)
        for name in states:
            if name not in reached:
                out.append(LintProblem(prefix + name, "unreachable", f"cannot be reached from StartAt {start!r}"))


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
        if not isinstance(errors, list) or not errors:
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


def _lint_timeouts(state: dict[str, Any], where: str, out: list[LintProblem]) -> None:
    for key in ("TimeoutSeconds", "HeartbeatSeconds"):
        if key in state and not (_is_int(state[key]) and 1 <= state[key] <= ASL_MAX_INT):
            out.append(LintProblem(where, "timeout-range", f"{key} is {state[key]!r}; it must be a whole number from 1 to {ASL_MAX_INT}"))
    t, h = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    if _is_int(t) and _is_int(h) and h >= t:
        out.append(LintProblem(where, "timeout-range", f"HeartbeatSeconds {h} must be smaller than TimeoutSeconds {t}"))
