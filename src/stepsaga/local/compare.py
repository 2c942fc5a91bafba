"""Whether two runs of one saga, in the two modes, reached the same business outcome, in one line.

What ``stepsaga run --mode both`` prints under the two timelines, and what the equivalence property asserts:
the same status and error, the same completed steps, the same compensations in the same order (done, failed
and pending), and the same repair records by kind and state.
"""

from __future__ import annotations

from typing import Any


def outcome(result: Any) -> dict[str, Any]:
    """The parts of a run that both modes must agree on."""
    return {
        "status": result.status,
        "error": result.error,
        "steps done": [s.name for s in result.states if s.kind == "step" and s.succeeded],
        "compensations": list(result.compensations),
        "compensations failed": list(result.compensations_failed),
        "compensations pending": list(result.compensations_pending),
        "repair records": sorted((r.get("kind"), r.get("step") or r.get("failed_compensation")) for r in result.dlq),
    }


def same_outcome(first: Any, second: Any) -> str:
    """``same outcome in both modes: ...`` or ``DIFFERENT outcomes: <field>: <a> vs <b>; ...``."""
    a, b = outcome(first), outcome(second)
    differ = [f"{k}: {a[k]} ({first.mode}) vs {b[k]} ({second.mode})" for k in a if a[k] != b[k]]
    if differ:
        return "DIFFERENT outcomes: " + "; ".join(differ)
    undone = ", ".join(a["compensations"]) or "nothing"
    return f"same outcome in both modes: {a['status']}" + (f" with {a['error']}" if a["error"] else "") + f"; compensated {undone}"
