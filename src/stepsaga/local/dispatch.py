"""Lambda invokes, dispatched in-process to the handler each state names, with faults applied.

The handlers come loaded, each in its own sandbox (``stepsaga.sandbox``): the dispatcher only routes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stepsaga.local.engine import FunctionError, FunctionTimedOut, LambdaServiceError, RuntimeExited, TaskTimedOut
from stepsaga.local.faults import CrashAfter, Exit, Fail, Fault, FunctionTimeout, Timeout


@dataclass(frozen=True, slots=True)
class Call:
    """One Lambda attempt as the handler saw it: state, attempt number, and what happened."""

    state: str
    attempt: int
    function: str
    outcome: str  # "ok" | "error" | "timeout"
    error: str | None
    injected: str | None  # the fault kind that fired: "fail" | "timeout" | "function_timeout" | "exit" | "crash"
    event: Any


class Dispatcher:
    """Routes a run's Lambda invokes to Python handlers, counts attempts, fires faults, logs calls."""

    def __init__(self, handlers: Mapping[str, tuple[str, Callable[[Any, Any], Any]]], faults: dict[str, Fault]) -> None:
        # function name -> (state name, the handler as its Lambda calls it: in its own sandbox)
        self._handlers = dict(handlers)
        self.faults = faults
        self.calls: list[Call] = []
        self._attempts: dict[str, int] = {}

    def __call__(self, invocation: Any, context: Any) -> Any:
        """Run one attempt: a fault, the real handler, or the real handler then a crash."""
        entry = self._handlers.get(invocation.function_name)
        if entry is None:
            raise LambdaServiceError("ResourceNotFoundException", f"Function not found: {invocation.function_name}")
        state, handler = entry
        attempt = self._attempts[state] = self._attempts.get(state, 0) + 1
        fault = self.faults.get(state)
        fault = fault if fault is not None and fault.applies(attempt) else None
        log = lambda outcome, error=None, injected=None: self.calls.append(  # noqa: E731
            Call(state, attempt, invocation.function_name, outcome, error, injected, invocation.payload)
        )
        if isinstance(fault, Timeout):
            log("timeout", "States.Timeout", "timeout")
            raise TaskTimedOut(f"injected timeout of {state} attempt {attempt}")
        if isinstance(fault, FunctionTimeout):
            log("error", "Sandbox.Timedout", "function_timeout")
            raise FunctionTimedOut(fault.seconds)
        if isinstance(fault, Exit):
            log("error", "Runtime.ExitError", "exit")
            raise RuntimeExited(fault.status)
        if isinstance(fault, Fail):
            log("error", fault.error, "fail")
            raise _error(fault.error, fault.message)
        try:
            result = handler(invocation.payload, context)
        except Exception as exc:
            log("error", getattr(exc, "error_type", type(exc).__name__))
            raise
        if isinstance(fault, CrashAfter):
            log("error", fault.error, "crash")
            raise _error(fault.error, f"{state} crashed after its work was done (injected)")
        log("ok")
        return result


def _error(name: str, message: str) -> Exception:
    # each error as Lambda reports it: a service error, Lambda's own payload, or the runtime's
    if name == "Runtime.ExitError":
        return RuntimeExited(1)
    if name == "Sandbox.Timedout":
        return FunctionTimedOut()
    if name.startswith("Lambda.") and name.count(".") == 1:
        return LambdaServiceError(name.split(".", 1)[1], message)
    return FunctionError(name, message)
