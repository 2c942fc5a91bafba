"""The moto-facing engine of the local runtime: run ASL on moto's own Step Functions interpreter.

This package is the only part of stepsaga that imports moto internals; they are pinned to moto
``MOTO_VERSION``. Paths in comments are relative to ``moto/stepfunctions/parser/`` (``asl/`` =
``parser/asl/``) of moto 5.2.5. What the engine takes and returns (``Invocation``, ``LambdaContext``, the
signals a dispatcher raises, ``ExecutionOutcome``) is the public contract ``stepsaga.local.engine``, which
imports no moto.

One module per reason to change, each with its own patch table (``PATCHES``):

=================  ====================================================================================
``driver``         the inline driver: an execution in the calling thread, Retry/Wait on a virtual clock
``lambda_invoke``  a Lambda task's call shaped for the dispatcher, its answer shaped as Lambda's
``fidelity``       where stock moto differs from AWS (the "Fidelity" list of what the inline run changes)
``jsonata``        JSONata expressions evaluated by jsonata-python (stock moto's bridge is empty)
``speed``          fewer parses, copies and encodings per state (identical results)
``programs``       the ASL parsed once per process for every cloud of a saga (no patches; ``speed`` uses it)
``reset``          a cloud's tables, queues and executions put back as they were when it started (no patches)
``imports``        moto's service packages no run uses (Batch, and EC2 through it) imported only when used
``growth``         a run's cost does not grow with the runs before it (identical results)
``sqs_clock``      SQS's visibility timeouts and delays on a choreography run's virtual clock
``inprocess``      boto3 DynamoDB and SQS calls answered by moto without the HTTP layer (identical results)
``expressions``    DynamoDB expressions parsed once while moto answers in-process (identical results)
``item_size``      DynamoDB items measured once while they are built in-process (identical results)
``history``        an execution's outcome and history as boto3 returns them (no patches)
``mocked``         a Step Functions Local test case as moto's port of the mocked integrations plays it
``table_watch``    rows written during one handler attempt, for the contract check (no patches)
``version``        the pinned moto version and its check (no patches)
``run``            the active run and the gate every patch goes through
=================  ====================================================================================

``install(fast=True)`` applies the tables once; ``install(fast=False)`` applies only the driver, Lambda
invocation, fidelity and JSONata tables and leaves the speed shortcuts (``speed``, ``growth``, ``inprocess``, ``expressions``, ``item_size``) off, so that a
difference between the two modes is a speed bug, and a difference from AWS in both is a fidelity bug. Each
patched function checks the ``ContextVar`` holding the active run and delegates to the original when no
``run_inline`` is active in the current context, so moto behaves stock for everything else in the process
(users' own moto tests, stock executions started through boto3). ``lambda_only(dispatcher)`` is the one
exception: while it is active, Lambda invokes of *stock* executions (which run in moto's own threads) also
go to the dispatcher, and the runtime-wide patches (the 256 KiB measure, ``growth``) apply; nothing else
changes. ``inprocess`` has its own gate, ``aws_in_process()``, which the embedded cloud enters for its own
calls and its runs (``STEPSAGA_AWS_INPROCESS=0`` keeps it off).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Final

from stepsaga.errors import MotoVersionError
from stepsaga.local._moto.version import MOTO_VERSION, check_version

from stepsaga.local._moto import imports as _imports

for _package in _imports.DEFERRED:  # before the interpreter's first import: it would pull in EC2 (imports.py)
    _imports.defer(_package)

try:  # moto internals; a different moto may not have them, which check_version() reports clearly
    from stepsaga.local._moto import driver, expressions, fidelity, growth, inprocess, item_size, lambda_invoke, programs, reset, speed, sqs_clock
    from stepsaga.local._moto import jsonata
    from stepsaga.local._moto.driver import EXPRESS_LIMIT_SECONDS, execution_limit, lambda_only, run_inline
    from stepsaga.local._moto.history import RawExecution
    from stepsaga.local._moto.inprocess import INPROCESS_ENV
    from stepsaga.local._moto.inprocess import scope as aws_in_process
    from stepsaga.local._moto.run import Patch, choreography_run
    from stepsaga.local._moto.table_watch import TableWatch
except ImportError as _exc:  # pragma: no cover - only with the wrong moto
    check_version()
    raise MotoVersionError(f"moto {MOTO_VERSION} is installed but its internals failed to import: {_exc}") from _exc

__all__ = [
    "EXPRESS_LIMIT_SECONDS",
    "FAST_ENV",
    "INPROCESS_ENV",
    "MOTO_VERSION",
    "RawExecution",
    "TableWatch",
    "aws_in_process",
    "check_version",
    "choreography_run",
    "ensure_installed",
    "execution_limit",
    "install",
    "installed",
    "lambda_only",
    "patches",
    "run_inline",
    "uninstall",
]

#: Set to ``0`` to run without the speed shortcuts (``install(fast=False)``) when nothing installed them yet.
FAST_ENV: Final = "STEPSAGA_MOTO_FAST"

# The tables in the order they are applied; the speed tables patch over the driver's seams and patches.
_FIDELITY_TABLES: Final = (
    ("driver", driver.PATCHES), ("lambda_invoke", lambda_invoke.PATCHES), ("fidelity", fidelity.PATCHES), ("sqs_clock", sqs_clock.PATCHES),
    ("jsonata", jsonata.PATCHES),
)
_SPEED_TABLES: Final = (("speed", speed.PATCHES), ("growth", growth.PATCHES), ("inprocess", inprocess.PATCHES),
                 ("expressions", expressions.PATCHES), ("item_size", item_size.PATCHES))

_INSTALL_LOCK = threading.Lock()
_ORIGINALS: list[tuple[str, Any, str, Any]] = []  # (table, owner, attribute, original value), in patch order
_FAST: list[bool] = []  # the mode installed, while installed


def _apply(table: str, patches: tuple[Patch, ...]) -> None:
    for owner, name, make in patches:
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        _ORIGINALS.append((table, owner, name, original))
        setattr(owner, name, make(original))


def _uninstall() -> None:
    while _ORIGINALS:
        _table, owner, name, original = _ORIGINALS.pop()
        setattr(owner, name, original)
    _FAST.clear()
    speed.clear_caches()
    inprocess.clear_caches()
    expressions.clear_caches()


def install(fast: bool = True) -> None:
    """Apply the patch tables (idempotent); they are inert outside run_inline and lambda_only.

    ``fast=False`` applies the driver, Lambda invocation and fidelity tables only: no speed shortcut. Called
    with the other mode than the one installed, it reinstalls in the mode asked for.
    Raises MotoVersionError unless moto is exactly ``MOTO_VERSION``.
    """
    with _INSTALL_LOCK:
        if _ORIGINALS:
            if _FAST == [fast]:
                return
            _uninstall()
        _install(fast)


def _install(fast: bool) -> None:
    check_version()
    for table, patches in _FIDELITY_TABLES + (_SPEED_TABLES if fast else ()):
        _apply(table, patches)
    _FAST.append(fast)


def ensure_installed() -> None:
    """Install unless installed, in any mode: fast unless the ``STEPSAGA_MOTO_FAST`` variable is ``0``."""
    with _INSTALL_LOCK:
        if not _ORIGINALS:
            _install(fast=os.environ.get(FAST_ENV, "1") != "0")


def uninstall() -> None:
    """Restore every patched attribute (for tests)."""
    with _INSTALL_LOCK:
        _uninstall()


def installed() -> bool:
    """Whether install() is in effect."""
    return bool(_ORIGINALS)


def patches() -> list[tuple[str, Any, str]]:
    """``(table, owner, attribute)`` of every patch in effect, in the order applied."""
    return [(table, owner, name) for table, owner, name, _original in _ORIGINALS]
