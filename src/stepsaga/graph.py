"""A plain-text outline of a compiled state machine: each state, its type and where it goes."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def outline(title: str, doc: dict[str, Any]) -> str:
    """One line per state: name, type, then its transitions (Next, Catch routes, End)."""
    states: dict[str, Any] = doc["States"]
    width = max(len(n) for n in states)
    lines = [f"{title}: {len(states)} states, start at {doc['StartAt']}"]
    for name, state in states.items():
        kind = state["Type"]
        if kind == "Task":
            kind = "Task " + ("(lambda)" if state["Resource"].endswith("lambda:invoke") else "(sqs)")
        routes = []
        if "Next" in state:
            routes.append(f"-> {state['Next']}")
        retries = [f"{_errors(r['ErrorEquals'])} x{r.get('MaxAttempts', 3)}" for r in state.get("Retry", [])]
        for rule in state.get("Choices", []):
            if "Condition" in rule:  # JSONata: the condition is one expression; a rule's Output/Assign route nowhere
                routes.append(f"if {rule['Condition']} -> {rule['Next']}")
                continue
            test = " ".join(f"{k} {v}" for k, v in rule.items() if k not in ("Next", "Variable"))
            routes.append(f"if {rule.get('Variable', '')} {test} -> {rule['Next']}")
        if "Default" in state:
            routes.append(f"else -> {state['Default']}")
        for c in state.get("Catch", []):
            routes.append(f"on {_errors(c['ErrorEquals'])} -> {c['Next']}")
        if state["Type"] == "Fail":
            routes.append("fails with " + (state.get("Error") or state.get("ErrorPath", "")))
        if state["Type"] == "Succeed" or state.get("End"):
            routes.append("ends")
        retry = f"  [retry {', '.join(retries)}]" if retries else ""
        lines.append(f"  {name:<{width}}  {kind:<13}  {'; '.join(routes)}{retry}")
    return "\n".join(lines) + "\n"


def _errors(names: list[str]) -> str:
    if all(n.startswith("Lambda.") for n in names) and len(names) > 2:
        return "Lambda transient errors"
    return "|".join(names)
