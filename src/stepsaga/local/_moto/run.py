"""The active run and the gate every patch goes through: patched moto behaves stock outside a run.

``run_inline`` sets ``ACTIVE`` for the duration of one execution; ``lambda_only`` pushes a dispatcher on
``LAMBDA_ONLY`` (stock executions run in moto's own threads, where the ContextVar is not set). A patch
table is a tuple of ``(owner, attribute, make)``: ``make(original)`` returns the value to set, usually
``gated(original, replacement)``. ``stepsaga.local._moto.install`` applies the tables.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final

from moto.stepfunctions.parser.asl.eval.environment import Environment

from stepsaga.asl.limits import ASL_MAX_INT
from stepsaga.local.engine import Dispatcher, VirtualClock

#: One patch: the owner (a class or module), the attribute, and how to build its value from the original.
Patch = tuple[Any, str, Callable[[Any], Any]]

# Frame attribute carrying a Task's TimeoutSeconds from the driver's _evaluate_inline to the Lambda hook.
TIMEOUT_ATTR: Final = "_stepsaga_task_timeout"
DEFAULT_TASK_TIMEOUT_S: Final = ASL_MAX_INT  # AWS's and moto's default Task TimeoutSeconds


@dataclass(slots=True)
class Run:
    """One inline execution in progress: its dispatcher, its virtual clock and its limit."""

    dispatcher: Dispatcher
    clock: VirtualClock = field(default_factory=VirtualClock)
    lock: threading.Lock = field(default_factory=threading.Lock)  # Parallel/Map threads share the clock
    deadline: float | None = None  # virtual seconds the execution may run (TimeoutSeconds, Express's 300)
    thread: int = 0  # the run_inline thread, the one that may end the execution
    timed_out: bool = False


class ExecutionTimedOut(BaseException):
    """The virtual clock reached the execution's limit. A BaseException: no state's ``except Exception`` may
    catch it (States.ALL does not catch an execution timeout); the driver's Program.eval ends the execution."""


# Set by run_inline for the duration of one execution; every patch is inert while it is None.
ACTIVE: contextvars.ContextVar[Run | None] = contextvars.ContextVar("stepsaga_moto_run", default=None)

# lambda_only(): stock executions run in moto's threads, where the ContextVar is not set.
LAMBDA_ONLY: list[Dispatcher] = []
LAMBDA_ONLY_LOCK = threading.Lock()

# Set by choreography_run() while a choreography's deliveries drive moto's DynamoDB and SQS in this thread:
# no execution runs, but its handlers write the same models as an inline run's, so the runtime-wide patches
# (growth: a transaction saves only the items it targets, moto's models are not tracked) apply to them too.
CHOREOGRAPHY: contextvars.ContextVar[bool] = contextvars.ContextVar("stepsaga_choreography_run", default=False)


@contextlib.contextmanager
def choreography_run() -> Iterator[None]:
    """The runtime-wide patches (``gated_runtime``) for the block, in this context: one choreography run."""
    token = CHOREOGRAPHY.set(True)
    try:
        yield
    finally:
        CHOREOGRAPHY.reset(token)


def state_name(env: Environment) -> str | None:
    """``$$.State.Name`` of the state ``env`` is in, if any."""
    state = env.states.context_object.context_object_data.get("State")
    return state.get("Name") if state else None


def advance(env: Environment, seconds: float, kind: str) -> None:
    """Record a delay on the active run's clock; one that reaches the execution's limit is cut there.

    Only the run's own thread ends the execution: a Parallel branch or Map iteration marks the run, and the
    next state entered in the run's thread (``check_deadline``) ends it.
    """
    run = ACTIVE.get()
    if run is None:
        return
    with run.lock:
        if run.timed_out:
            seconds = 0.0
        elif run.deadline is not None and run.clock.now + seconds >= run.deadline:
            seconds = max(run.deadline - run.clock.now, 0.0)
            run.timed_out = True
        run.clock.advance(seconds, kind, state_name(env))
    check_deadline(run)


def check_deadline(run: Run | None) -> None:
    """Raise ExecutionTimedOut in the run's own thread once the run has reached its limit."""
    if run is not None and run.timed_out and threading.get_ident() == run.thread:
        raise ExecutionTimedOut()


def gated(original: Callable[..., Any], replacement: Callable[..., Any], pass_original: bool = False) -> Any:
    """Call ``replacement`` while a run is active in this context, ``original`` otherwise."""

    if pass_original:

        @functools.wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            if ACTIVE.get() is None:
                return original(*args, **kwargs)
            return replacement(original, *args, **kwargs)

    else:

        @functools.wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            if ACTIVE.get() is None:
                return original(*args, **kwargs)
            return replacement(*args, **kwargs)

    return patched


def gated_runtime(original: Callable[..., Any], replacement: Callable[..., Any]) -> Any:
    """Call ``replacement`` during an inline run, while lambda_only is active (both engines) and during a
    choreography run, else ``original``."""

    @functools.wraps(original)
    def patched(*args: Any, **kwargs: Any) -> Any:
        if ACTIVE.get() is None and not LAMBDA_ONLY and not CHOREOGRAPHY.get():
            return original(*args, **kwargs)
        return replacement(*args, **kwargs)

    return patched


def gate(replacement: Callable[..., Any]) -> Callable[[Any], Any]:
    """A patch's ``make``: ``replacement`` during a run (it does not get the original)."""
    return lambda original: gated(original, replacement)


def gate_wrapping(replacement: Callable[..., Any]) -> Callable[[Any], Any]:
    """A patch's ``make``: ``replacement(original, ...)`` during a run."""
    return lambda original: gated(original, replacement, pass_original=True)


def gate_runtime(replacement: Callable[..., Any]) -> Callable[[Any], Any]:
    """A patch's ``make``: ``replacement`` during a run, under lambda_only and during a choreography run."""
    return lambda original: gated_runtime(original, replacement)


def module(dotted: str) -> ModuleType:
    """``moto.stepfunctions.parser.<dotted>``."""
    return importlib.import_module(f"moto.stepfunctions.parser.{dotted}")
