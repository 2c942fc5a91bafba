"""Faults to inject into a local run, per state and per attempt, declared as plain data.

    {"ProcessPayment": Fail("PaymentDeclined")}          every attempt raises PaymentDeclined
    {"ProcessPayment": Fail("PaymentGatewayTimeout", attempts=2)}   the first 2 fail, then the real handler runs
    {"ReserveInventory": Timeout()}                      the task times out (States.Timeout)
    {"ReserveInventory": FunctionTimeout()}              the Lambda function times out (Sandbox.Timedout)
    {"ProcessPayment": Exit()}                           the function's process exits (Runtime.ExitError)
    {"ProcessPayment": CrashAfter()}                     the real handler runs, then the Lambda crashes

A choreography run also takes delivery faults, on the deliveries of the events that trigger a consumer
(a step, a compensation, or ``SagaLog``): every one, or the first N with ``attempts=N``:

    {"ProcessPayment": Duplicate()}                      each event it reacts to is delivered twice
    {"ProcessPayment": Delay(30)}                        ... 30 virtual seconds late
    {"ProcessPayment": Reorder()}                        ... after the next delivery on the bus
    {"ProcessPayment": Undeliverable()}                  EventBridge cannot deliver to it: retried, then dead-lettered

A consumer may have a handler fault and delivery faults together: pass a list or tuple of them.

The same faults are written on the command line as ``STATE=SPEC[@N]`` (see ``parse_spec``).
Each is reported as Lambda reports it: an error name is the Python runtime's JSON (errorMessage,
errorType, requestId, stackTrace); ``Lambda.<Code>`` a Lambda service error; ``Runtime.ExitError``
and ``Sandbox.Timedout`` Lambda's own short JSON (errorMessage, errorType) with the request id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stepsaga.errors import FaultError

#: What a Lambda reports when its runtime dies after doing its work (out of memory, a crash).
CRASH_ERROR = "Runtime.ExitError"


class Fault:
    """Base of the fault kinds; ``attempts`` None means every attempt, N means the first N.

    Each kind is a frozen dataclass that declares ``attempts`` last, where its signature wants it.
    """

    __slots__ = ()
    attempts: int | None

    def applies(self, attempt: int) -> bool:
        """Whether this fault fires on the given attempt (1-based)."""
        return self.attempts is None or attempt <= self.attempts

    def _check(self) -> None:
        if self.attempts is not None and (not isinstance(self.attempts, int) or isinstance(self.attempts, bool) or self.attempts < 1):
            raise FaultError(f"attempts is {self.attempts!r}; write a whole number from 1, or leave it out for every attempt")


@dataclass(frozen=True, slots=True)
class Fail(Fault):
    """Raise ``error`` instead of running the handler."""

    error: str
    message: str = ""
    attempts: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.error, str) or not self.error:
            raise FaultError("Fail needs an error name, for example Fail('PaymentDeclined')")
        if not self.message:
            object.__setattr__(self, "message", f"injected {self.error}")
        self._check()


@dataclass(frozen=True, slots=True)
class Timeout(Fault):
    """Make the Task time out (States.Timeout) instead of running the handler."""

    attempts: int | None = None

    def __post_init__(self) -> None:
        self._check()


@dataclass(frozen=True, slots=True)
class FunctionTimeout(Fault):
    """The Lambda function times out (``Sandbox.Timedout``) instead of returning; the handler does not run.

    ``seconds``: the function's timeout, advanced on the virtual clock (default: the Task's TimeoutSeconds,
    at most 900). It is a function error, so the step's retriers and catchers see ``Sandbox.Timedout``.
    """

    seconds: float | None = None
    attempts: int | None = None

    def __post_init__(self) -> None:
        seconds = self.seconds
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 900):
            raise FaultError(f"seconds is {seconds!r}; write a Lambda timeout from 1 to 900, or leave it out")
        self._check()


@dataclass(frozen=True, slots=True)
class Exit(Fault):
    """The function's process exits before the handler returns (``Runtime.ExitError``, exit ``status``)."""

    status: int = 1
    attempts: int | None = None

    def __post_init__(self) -> None:
        status = self.status
        if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status <= 255:
            raise FaultError(f"status is {status!r}; write a process exit status from 0 to 255")
        self._check()


@dataclass(frozen=True, slots=True)
class CrashAfter(Fault):
    """Run the real handler, side effects and all, then fail as if the Lambda crashed."""

    error: str = CRASH_ERROR
    attempts: int | None = 1

    def __post_init__(self) -> None:
        self._check()


class DeliveryFault(Fault):
    """Base of the faults of an event's delivery to a consumer (choreography runs only).

    ``attempts`` None acts on every delivery to the consumer in a run, N on its first N deliveries; for
    ``Undeliverable`` it counts EventBridge's delivery attempts (None: every attempt fails).
    """

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Duplicate(DeliveryFault):
    """Deliver the consumer's triggering event ``copies`` more times (at-least-once delivery)."""

    copies: int = 1
    attempts: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.copies, bool) or not isinstance(self.copies, int) or not 1 <= self.copies <= 10:
            raise FaultError(f"copies is {self.copies!r}; write a whole number of extra deliveries from 1 to 10")
        self._check()


@dataclass(frozen=True, slots=True)
class Delay(DeliveryFault):
    """Deliver the consumer's triggering event ``seconds`` late (virtual seconds)."""

    seconds: float = 60.0
    attempts: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, (int, float)) or not 0 < self.seconds <= 86_400:
            raise FaultError(f"seconds is {self.seconds!r}; write a delay from 1 to 86400 seconds (EventBridge keeps an event 24 hours)")
        self._check()


@dataclass(frozen=True, slots=True)
class Reorder(DeliveryFault):
    """Deliver the consumer's triggering event after the next delivery on the bus, not before it."""

    attempts: int | None = None

    def __post_init__(self) -> None:
        self._check()


@dataclass(frozen=True, slots=True)
class Undeliverable(DeliveryFault):
    """EventBridge fails to deliver to the consumer's queue: ``attempts`` times (None: every time, until the
    rule target's retry policy gives up and the event goes to the dead-letter queue)."""

    attempts: int | None = None

    def __post_init__(self) -> None:
        self._check()


def parse_fault(text: str) -> tuple[str, Fault]:
    """Parse ``STATE=SPEC[@N]``; SPEC is described in ``parse_spec``."""
    state, sep, spec = text.partition("=")
    if not sep or not state or not spec:
        raise FaultError(f"{text!r} is not STATE=ERROR[@N]; write for example ProcessPayment=PaymentDeclined or ProcessPayment=PaymentGatewayTimeout@2")
    return state.strip(), parse_spec(spec.strip())


def parse_spec(spec: str) -> Fault:
    """Parse the part after ``=``, optionally followed by ``@N`` (only the first N attempts):

    ``ERROR``                          Fail(ERROR): e.g. ``PaymentDeclined``, ``Lambda.ServiceException``
    ``timeout``                        Timeout(): the Task times out (States.Timeout)
    ``function-timeout[:SECONDS]``     FunctionTimeout(): the function times out (``Sandbox.Timedout`` too)
    ``exit[:STATUS]``                  Exit(): the process exits, the handler never returns (``Runtime.ExitError`` too)
    ``crash[:ERROR]``                  CrashAfter(): the handler runs, then the process exits (or raises ERROR)
    ``duplicate[:COPIES]``             Duplicate(): the triggering event is delivered again (choreography)
    ``delay:SECONDS``                  Delay(): the triggering event arrives late (choreography)
    ``reorder``                        Reorder(): it arrives after the next delivery (choreography)
    ``undeliverable``                  Undeliverable(): EventBridge cannot deliver it (choreography); @N: N times

    Examples: ``PaymentGatewayTimeout@2``, ``function-timeout:30``, ``exit:137@1``, ``crash:Boom``, ``delay:30``.
    """
    body, at, count = spec.partition("@")
    attempts: int | None = None
    if at:
        if not count.isdigit() or int(count) < 1:
            raise FaultError(f"{spec!r}: @{count} is not an attempt count; write @1, @2, ...")
        attempts = int(count)
    kind, _, arg = body.partition(":")
    if body.lower() in ("timeout", "states.timeout"):
        return Timeout(attempts)
    if kind.lower() in ("function-timeout", "sandbox.timedout"):
        try:
            seconds = float(arg) if arg else None
        except ValueError:
            raise FaultError(f"{spec!r}: {arg!r} is not a number of seconds; write for example function-timeout:30") from None
        return FunctionTimeout(seconds, attempts)
    if kind.lower() in ("exit", "runtime.exiterror"):
        if arg and not arg.isdigit():
            raise FaultError(f"{spec!r}: {arg!r} is not an exit status; write for example exit:1")
        return Exit(int(arg) if arg else 1, attempts)
    if kind.lower() == "duplicate":
        if arg and not arg.isdigit():
            raise FaultError(f"{spec!r}: {arg!r} is not a number of copies; write for example duplicate:2")
        return Duplicate(int(arg) if arg else 1, attempts)
    if kind.lower() == "delay":
        try:
            return Delay(float(arg) if arg else 60.0, attempts)
        except ValueError:
            raise FaultError(f"{spec!r}: {arg!r} is not a number of seconds; write for example delay:30") from None
    if body.lower() == "reorder":
        return Reorder(attempts)
    if body.lower() == "undeliverable":
        return Undeliverable(attempts)
    if body.lower() == "crash" or body.lower().startswith("crash:"):
        error = body.partition(":")[2] or CRASH_ERROR
        return CrashAfter(error, attempts if at else 1)
    return Fail(body, attempts=attempts)


def normalise(faults: Mapping[str, Fault | str] | None, known_states: list[str]) -> dict[str, Fault]:
    """Check fault declarations against the saga's Lambda states; strings are parsed as specs.

    Only handler faults, one per state (an orchestration run): a delivery fault is a ``FaultError``.
    """
    handler, delivery = plan_faults(faults, known_states, ())
    return handler


def plan_faults(
    faults: Mapping[str, Fault | str | tuple[Fault | str, ...] | list[Fault | str]] | None,
    known_states: list[str],
    consumers: tuple[str, ...] | list[str],
) -> tuple[dict[str, Fault], dict[str, tuple[DeliveryFault, ...]]]:
    """(handler faults by state, delivery faults by consumer): each state may take one handler fault and
    delivery faults, given alone or in a list; strings are parsed as specs.

    ``consumers`` are the states whose deliveries can fail (a choreography's); empty for an orchestration,
    where a delivery fault is a ``FaultError`` saying so.
    """
    handler: dict[str, Fault] = {}
    delivery: dict[str, tuple[DeliveryFault, ...]] = {}
    every = list(known_states) + [c for c in consumers if c not in known_states]
    for state, given in (faults or {}).items():
        if state not in every:
            import difflib

            close = difflib.get_close_matches(state, every, n=1)
            hint = f"did you mean {close[0]}?" if close else "the states are " + ", ".join(every)
            raise FaultError(f"fault on {state!r}: the saga has no such step or compensation; {hint}")
        items = list(given) if isinstance(given, (list, tuple)) else [given]
        for fault in items:
            if isinstance(fault, str):
                fault = parse_spec(fault)
            if not isinstance(fault, Fault):
                raise FaultError(f"fault on {state!r} is {type(fault).__name__}; write Fail('Error'), Timeout(), FunctionTimeout(), Exit(), CrashAfter(), Duplicate(), Delay(), Reorder() or Undeliverable()")
            if isinstance(fault, DeliveryFault):
                if state not in consumers:
                    raise FaultError(f"fault on {state!r}: {type(fault).__name__} is a fault of event delivery, which only a choreography has; run it as one (mode='choreography', or stepsaga run --mode choreography)")
                delivery[state] = delivery.get(state, ()) + (fault,)
            elif state not in known_states:
                raise FaultError(f"fault on {state!r}: {type(fault).__name__} fails a handler, and {state} calls none; give it a delivery fault, or name a step or compensation")
            elif state in handler:
                raise FaultError(f"faults on {state!r}: {handler[state]!r} and {fault!r} both fail its handler; give each state one handler fault")
            else:
                handler[state] = fault
    return handler, delivery
