"""Lambda invokes, dispatched in-process to the handler each state names, with faults applied."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from stepsaga._record import Record
from stepsaga.errors import StepsagaError
from stepsaga.local import _moto
from stepsaga.local.faults import CrashAfter, Exit, Fail, Fault, FunctionTimeout, Timeout


class HandlerImportError(StepsagaError):
    """A handler path named in the saga cannot be imported."""


class Call(Record):
    """One Lambda attempt as the handler saw it: state, attempt number, and what happened."""

    __slots__ = ("state", "attempt", "function", "outcome", "error", "injected", "event")
    state: str
    attempt: int
    function: str
    outcome: str  # "ok" | "error" | "timeout"
    error: str | None
    injected: str | None  # the fault kind that fired: "fail" | "timeout" | "function_timeout" | "exit" | "crash"
    event: Any

    def __init__(self, state: str, attempt: int, function: str, outcome: str, error: str | None, injected: str | None, event: Any) -> None:
        self._init(state=state, attempt=attempt, function=function, outcome=outcome, error=error, injected=injected, event=event)


def resolve(path: str) -> Callable[..., Any]:
    """Import ``package.module.function`` and return the function."""
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerImportError(f"cannot import {module_name} for handler {path}: {exc}") from exc
    handler = getattr(module, attr, None)
    if not callable(handler):
        raise HandlerImportError(f"{module_name} has no function {attr} (handler {path})")
    return handler


class Dispatcher:
    """Routes a run's Lambda invokes to Python handlers, counts attempts, fires faults, logs calls."""

    def __init__(self, functions: dict[str, tuple[str, str]], faults: dict[str, Fault]) -> None:
        # function name -> (state name, handler path); handlers are imported once, up front
        self._handlers = {fn: (state, resolve(path)) for fn, (state, path) in functions.items()}
        self.faults = faults
        self.calls: list[Call] = []
        self._attempts: dict[str, int] = {}

    def __call__(self, invocation: Any, context: Any) -> Any:
        """Run one attempt: a fault, the real handler, or the real handler then a crash."""
        entry = self._handlers.get(invocation.function_name)
        if entry is None:
            raise _moto.LambdaServiceError("ResourceNotFoundException", f"Function not found: {invocation.function_name}")
        state, handler = entry
        attempt = self._attempts[state] = self._attempts.get(state, 0) + 1
        fault = self.faults.get(state)
        fault = fault if fault is not None and fault.applies(attempt) else None
        log = lambda outcome, error=None, injected=None: self.calls.append(  # noqa: E731
            Call(state, attempt, invocation.function_name, outcome, error, injected, invocation.payload)
        )
        if isinstance(fault, Timeout):
            log("timeout", "States.Timeout", "timeout")
            raise _moto.TaskTimedOut(f"injected timeout of {state} attempt {attempt}")
        if isinstance(fault, FunctionTimeout):
            log("error", "Sandbox.Timedout", "function_timeout")
            raise _moto.FunctionTimedOut(fault.seconds)
        if isinstance(fault, Exit):
            log("error", "Runtime.ExitError", "exit")
            raise _moto.RuntimeExited(fault.status)
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
        return _moto.RuntimeExited(1)
    if name == "Sandbox.Timedout":
        return _moto.FunctionTimedOut()
    if name.startswith("Lambda.") and name.count(".") == 1:
        return _moto.LambdaServiceError(name.split(".", 1)[1], message)
    return _moto.FunctionError(name, message)
