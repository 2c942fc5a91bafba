"""One execution's path through the compiled state machine, for ``stepsaga run --svg FILE``.

From a local run's result (``stepsaga.local.result.SagaResult``, read from the execution history): the states
entered in order, each with its attempts, and the transition each step of the path took. A Task whose last
attempt failed left through its ``Catch``; any other state through its ``Next`` or its Choice.
`stepsaga.state_graph.diagram` draws the path on the machine's picture. The caption's compensation line is the
timeline's (`stepsaga.local.timeline`, which imports rich, as ``stepsaga run`` does anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stepsaga.state_graph import StateGraph


@dataclass(frozen=True, slots=True)
class StateTaken:
    """A state the execution entered, the lines written on it (each attempt, when one failed), and whether it
    failed: a Task whose last attempt failed, which left through its Catch (or ended the run)."""

    name: str
    notes: tuple[str, ...]
    failed: bool


@dataclass(frozen=True, slots=True)
class RunPath:
    """The states entered, in order; the transitions taken, as ``(source, target, how)`` in order; and the
    lines under the picture (the execution, its status and error, the compensations)."""

    execution: str
    states: tuple[StateTaken, ...]
    transitions: tuple[tuple[str, str, str], ...]
    caption: tuple[str, ...]


def run_path(graph: StateGraph, result: Any) -> RunPath:
    """The path of an orchestration run (a ``SagaResult`` with ``mode == "orchestration"``) on ``graph``.

    Raises ValueError when the run is a choreography's (it has no states of this machine), or when it went
    between two states that no transition of the machine joins (the run is not of this machine).
    """
    if result.mode != "orchestration":
        raise ValueError(f"a {result.mode} run has no path through the state machine; draw an orchestration run")
    states = []
    for s in result.states:
        graph.state(s.name)  # KeyError: not a state of this machine
        states.append(StateTaken(s.name, _notes(s), s.type == "Task" and not s.succeeded))
    transitions = []
    for before, after in zip(result.states, result.states[1:]):
        transitions.append(_transition(graph, before, after.name))
    return RunPath(result.execution, tuple(states), tuple(transitions), _caption(result))


def _transition(graph: StateGraph, before: Any, target: str) -> tuple[str, str, str]:
    ways = [t for t in graph.transitions if t.source == before.name and t.target == target]
    failed = before.type == "Task" and not before.succeeded  # as StateTaken.failed
    chosen = [t for t in ways if (t.how == "catch") == failed]
    if len(chosen) != 1:
        how = "a Catch" if failed else "a Next or Choice"
        raise ValueError(f"the run went from {before.name} to {target}, but the state machine has no such transition by {how}")
    return (chosen[0].source, chosen[0].target, chosen[0].how)


def _notes(state: Any) -> tuple[str, ...]:
    """The attempts of a Task that had a failed one, a run of equal outcomes on one line
    (``attempts 1-2: PaymentGatewayTimeout (injected)``, ``attempt 3: ok``); none for any other state."""
    if all(a.outcome == "ok" for a in state.attempts):
        return ()
    runs: list[tuple[int, int, str]] = []  # (first, last, outcome)
    for a in state.attempts:
        what = "ok" if a.outcome == "ok" else (a.error or a.outcome)
        if a.injected and a.outcome != "ok":
            what += " (injected)" if a.injected == "fail" else f" (injected {a.injected})"
        if runs and runs[-1][2] == what:
            runs[-1] = (runs[-1][0], a.number, what)
        else:
            runs.append((a.number, a.number, what))
    return tuple(f"attempt {first}: {what}" if first == last else f"attempts {first}-{last}: {what}" for first, last, what in runs)


def _caption(result: Any) -> tuple[str, ...]:
    from stepsaga.local.timeline import compensation_line

    head = f"{result.saga} execution {result.execution}: {result.status}" + (f" with {result.error}" if result.error else "")
    line = compensation_line(result)
    return (head, line) if line else (head,)
