"""Faults to inject into a local run, per state and per attempt, declared as plain data.

    {"ProcessPayment": Fail("PaymentDeclined")}          every attempt raises PaymentDeclined
    {"ProcessPayment": Fail("PaymentGatewayTimeout", attempts=2)}   the first 2 fail, then the real handler runs
    {"ReserveInventory": Timeout()}                      the task times out (States.Timeout)
    {"ProcessPayment": CrashAfter()}                     the real handler runs, then the Lambda crashes

The same faults are written on the command line as ``STATE=ERROR[@N]`` where ERROR is an error
name, ``timeout``, or ``crash[:ERROR]``.
"""

from __future__ import annotations

from collections.abc import Mapping

from stepsaga._record import Record
from stepsaga.errors import StepsagaError

#: What a Lambda reports when its runtime dies after doing its work (out of memory, a crash).
CRASH_ERROR = "Runtime.ExitError"


class FaultError(StepsagaError, ValueError):
    """A fault was declared wrongly: unknown state, bad attempt count or bad syntax."""


class Fault(Record):
    """Base of the fault kinds; ``attempts`` None means every attempt, N means the first N."""

    __slots__ = ("attempts",)
    attempts: int | None

    def applies(self, attempt: int) -> bool:
        """Whether this fault fires on the given attempt (1-based)."""
        return self.attempts is None or attempt <= self.attempts

    def _check(self) -> None:
        if self.attempts is not None and (not isinstance(self.attempts, int) or isinstance(self.attempts, bool) or self.attempts < 1):
            raise FaultError(f"attempts is {self.attempts!r}; write a whole number from 1, or leave it out for every attempt")


class Fail(Fault):
    """Raise ``error`` instead of running the handler."""

    __slots__ = ("error", "message", "attempts")
    error: str
    message: str

    def __init__(self, error: str, message: str = "", attempts: int | None = None) -> None:
        if not isinstance(error, str) or not error:
            raise FaultError("Fail needs an error name, for example Fail('PaymentDeclined')")
        self._init(error=error, message=message or f"injected {error}", attempts=attempts)
        self._check()


class Timeout(Fault):
    """Make the Task time out (States.Timeout) instead of running the handler."""

    __slots__ = ("attempts",)

    def __init__(self, attempts: int | None = None) -> None:
        self._init(attempts=attempts)
        self._check()


class CrashAfter(Fault):
    """Run the real handler, side effects and all, then fail as if the Lambda crashed."""

    __slots__ = ("error", "attempts")
    error: str

    def __init__(self, error: str = CRASH_ERROR, attempts: int | None = 1) -> None:
        self._init(error=error, attempts=attempts)
        self._check()


def parse_fault(text: str) -> tuple[str, Fault]:
    """Parse ``STATE=ERROR[@N]`` (ERROR: a name, ``timeout`` or ``crash[:NAME]``)."""
    state, sep, spec = text.partition("=")
    if not sep or not state or not spec:
        raise FaultError(f"{text!r} is not STATE=ERROR[@N]; write for example ProcessPayment=PaymentDeclined or ProcessPayment=PaymentGatewayTimeout@2")
    return state.strip(), parse_spec(spec.strip())


def parse_spec(spec: str) -> Fault:
    """Parse the part after ``=``: ``PaymentDeclined``, ``PaymentGatewayTimeout@2``, ``timeout``, ``crash:Boom@1``."""
    body, at, count = spec.partition("@")
    attempts: int | None = None
    if at:
        if not count.isdigit() or int(count) < 1:
            raise FaultError(f"{spec!r}: @{count} is not an attempt count; write @1, @2, ...")
        attempts = int(count)
    if body.lower() in ("timeout", "states.timeout"):
        return Timeout(attempts)
    if body.lower() == "crash" or body.lower().startswith("crash:"):
        error = body.partition(":")[2] or CRASH_ERROR
        return CrashAfter(error, attempts if at else 1)
    return Fail(body, attempts=attempts)


def normalise(faults: Mapping[str, Fault | str] | None, known_states: list[str]) -> dict[str, Fault]:
    """Check fault declarations against the saga's Lambda states; strings are parsed as specs."""
    out: dict[str, Fault] = {}
    for state, fault in (faults or {}).items():
        if state not in known_states:
            import difflib

            close = difflib.get_close_matches(state, known_states, n=1)
            hint = f"did you mean {close[0]}?" if close else "the states are " + ", ".join(known_states)
            raise FaultError(f"fault on {state!r}: the saga has no such step or compensation; {hint}")
        if isinstance(fault, str):
            fault = parse_spec(fault)
        if not isinstance(fault, Fault):
            raise FaultError(f"fault on {state!r} is {type(fault).__name__}; write Fail('Error'), Timeout() or CrashAfter()")
        out[state] = fault
    return out
