"""Recognise a hand-written saga: Lambda Tasks whose Catches lead into a reverse chain of compensations ending in a Fail.

Such a definition is a saga, but stepsaga's Saga DSL writes its own state shape around the steps (the input
check, the saga's state record, the idempotency payload, the retries and dead-letter states), so its ASL
differs and the import keeps the builder. ``explain`` says so concretely: the saga it sees, and how the ASL a
``Saga`` of those steps compiles to would differ, state by state.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stepsaga.asl.equal import semantically_equal
from stepsaga.errors import DefinitionError

#: How many states or fields ``explain`` names in one line before it says "and N more".
_MOST = 8


class Shape:
    """A saga seen in ASL: the forward ``steps`` in order, the compensation ``chain`` in the order it runs
    (ending in the Fail state), and each step's compensation (None for a step its Catch does not undo)."""

    __slots__ = ("steps", "chain", "compensation")

    def __init__(self, steps: list[str], chain: list[str], compensation: dict[str, str | None]) -> None:
        self.steps, self.chain, self.compensation = steps, chain, compensation

    def describe(self) -> str:
        """One sentence: which steps catch into which chain."""
        catching = [s for s in self.steps if s in self.compensation]
        return f"{_names(catching)} catch{'es' if len(catching) == 1 else ''} into the compensation chain {' -> '.join(self.chain)}"


def _is_lambda(state: Any) -> bool:
    if not isinstance(state, dict) or state.get("Type") != "Task" or not isinstance(state.get("Resource"), str):
        return False
    resource = state["Resource"]
    return resource.startswith("arn:aws:states:::lambda:invoke") or resource.startswith("arn:aws:lambda:") or ":lambda:" in resource


def saga_shape(doc: dict[str, Any]) -> Shape | None:
    """The saga in a definition's top-level states, or None when it has none.

    The forward path is StartAt followed by Next. Each Lambda Task on it that has a Catch is a step; where
    its last Catch goes must be a chain of Lambda Tasks (the compensations) linked by Next into one Fail
    state, each step's chain a suffix of the next step's (later steps undo more, in reverse order).
    """
    states = doc.get("States")
    if not isinstance(states, dict):
        return None
    path, name = [], doc.get("StartAt")
    while isinstance(name, str) and name in states and name not in path:
        path.append(name)
        state = states[name]
        if not isinstance(state, dict) or state.get("Type") in ("Choice", "Succeed", "Fail") or state.get("End"):
            break
        name = state.get("Next")
    steps = [n for n in path if _is_lambda(states[n])]
    chains: dict[str, list[str]] = {}
    for step in steps:
        catch = states[step].get("Catch")
        if isinstance(catch, list) and catch and isinstance(catch[-1], dict):
            chain = _chain(states, catch[-1].get("Next"), set(path))
            if chain is None:
                return None
            chains[step] = chain
    if not chains or all(len(c) == 1 for c in chains.values()):
        return None  # no Catch leads to a compensation
    longest = max(chains.values(), key=len)
    previous: list[str] = []
    compensation: dict[str, str | None] = {}
    for step in steps:
        if step not in chains:
            continue
        chain = chains[step]
        if chain != longest[len(longest) - len(chain):] or len(chain) < len(previous):
            return None  # not one chain run in reverse order
        new = chain[: len(chain) - len(previous)] if previous else chain[:-1]
        if len(new) > 1:
            return None  # one step's failure would start several compensations no earlier step needs
        compensation[step] = new[0] if new else None
        previous = chain
    return Shape(steps, longest, compensation)


def _chain(states: dict[str, Any], name: Any, forward: set[str]) -> list[str] | None:
    chain: list[str] = []
    while isinstance(name, str) and name in states and name not in chain:
        state = states[name]
        chain.append(name)
        if isinstance(state, dict) and state.get("Type") == "Fail":
            return chain
        if name in forward or not _is_lambda(state):
            return None
        name = state.get("Next")
    return None


def explain(doc: dict[str, Any], shape: Shape, name: str) -> list[str]:
    """Why the saga DSL cannot write this saga: the lines of the generated file's header comment."""
    from stepsaga.model import Compensation, Saga, Step
    from stepsaga.names import snake_case
    from stepsaga.orchestration import to_asl

    lines = [f"This ASL is a saga: {shape.describe()}.", "The Saga DSL cannot write it as it is, so this is the low-level builder, faithful to the ASL."]
    try:
        saga = Saga(name, [
            Step(s, f"tasks.{snake_case(s)}.handler",
                 compensation=Compensation(c, f"compensations.{snake_case(c)}.handler") if (c := shape.compensation.get(s)) else None)
            for s in shape.steps
        ])
    except DefinitionError as exc:
        return [*lines, f"A Saga cannot have these steps: {exc.problems[0]}."]
    compiled = json.loads(to_asl(saga))
    ours, theirs = doc.get("States", {}), compiled["States"]
    added = [s for s in theirs if s not in ours]
    dropped = [s for s in ours if s not in theirs]
    lines.append("A Saga of these steps compiles to other ASL:")
    if added:
        lines.append(f"  - it adds the states {_names(added)}: its input check, end states and dead-letter states;")
    if dropped:
        lines.append(f"  - it has no states {_names(dropped)};")
    changed: dict[str, None] = {}
    fields: dict[str, None] = {}
    for state in (s for s in ours if s in theirs):
        mine, other = ours[state], theirs[state]
        differ = [f for f in dict.fromkeys([*mine, *other]) if f not in mine or f not in other or not semantically_equal(mine[f], other[f])]
        if differ:
            changed[state] = None
            fields.update(dict.fromkeys(differ))
    if changed:
        lines.append(f"  - it writes {_names(list(changed))} with fields of its own ({_names(list(fields))}): the saga "
                     "payload with its idempotency key, its record of results, its retries and its catches.")
    lines.append("To move it to the DSL, write the Saga the way README \"Bring your existing ASL\" shows, and give its handlers the saga payload.")
    return lines


def _names(items: list[str]) -> str:
    if len(items) > _MOST:
        return ", ".join(items[:_MOST]) + f" and {len(items) - _MOST} more"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
