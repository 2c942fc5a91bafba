"""The errors stepsaga raises: one base class, one subclass per failure mode, all in this module.

The rule: every exception stepsaga raises *to its caller* (a rejected definition, a bad fault, a seed that
does not fit, an invalid event pattern, a failed run read as a success, a broken contract, the wrong moto)
derives from ``StepsagaError`` and is defined here, so that each one is importable without boto3 or moto
and has one home. Modules re-export the ones their users catch (``stepsaga.local``, ``stepsaga.testing``).

Two kinds of exceptions are not library errors and live with their code:

* the signals a dispatcher raises *into* the local engine to model what Lambda or Step Functions would
  report (``TaskTimedOut``, ``LambdaServiceError``, ``FunctionError``, ``FunctionTimedOut``,
  ``RuntimeExited``): they are the engine's contract, ``stepsaga.local.engine``, and the engine turns them
  into an execution's events, never into an exception for the caller;
* private control flow that never leaves its module (``sandbox._LoadFailure``, the engine's
  ``ExecutionTimedOut``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~3 ms of import, and errors.py is on the compile path
if TYPE_CHECKING:
    from typing import Any

from stepsaga._record import Record


class StepsagaError(Exception):
    """Base class of every error stepsaga raises on purpose."""


class Problem(Record):
    """One thing wrong with a definition: where, what, and what to write instead."""

    __slots__ = ("saga", "step", "field", "what", "instead")
    saga: str
    step: str | None
    field: str
    what: str
    instead: str

    def __init__(self, saga: str, step: str | None, field: str, what: str, instead: str) -> None:
        self._init(saga=saga, step=step, field=field, what=what, instead=instead)

    def __str__(self) -> str:
        where = f"saga {self.saga}"
        if self.step:
            where += f", step {self.step}"
        return f"{where}: {self.field} {self.what}; {self.instead}"


class DefinitionError(StepsagaError, ValueError):
    """A saga definition was rejected; every problem found is listed."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class LintProblem(Record):
    """One rule of the ASL linter broken by one state (or by the document)."""

    __slots__ = ("state", "rule", "message")
    state: str | None
    rule: str
    message: str

    def __init__(self, state: str | None, rule: str, message: str) -> None:
        self._init(state=state, rule=rule, message=message)

    def __str__(self) -> str:
        where = f"state {self.state}" if self.state is not None else "definition"
        return f"{where}: {self.message} [{self.rule}]"


class LintError(StepsagaError):
    """Compiled or committed ASL broke one or more linter rules."""

    def __init__(self, problems: list[LintProblem] | tuple[LintProblem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class LoadError(StepsagaError):
    """A workflow file could not be read, or named no saga."""


class EvaluationError(StepsagaError):
    """A payload template uses a construct ``stepsaga.asl.evaluate`` does not know, or a path selects nothing."""

class TemplateError(StepsagaError):
    """template.yaml cannot be read or updated safely."""


class InitError(StepsagaError, ValueError):
    """``stepsaga init`` was given a folder it may not write a project into, or a saga name it cannot use."""


class HandlerPathError(DefinitionError):
    """Handler paths that do not load the way Lambda loads them; every one is listed."""


class EventValidationError(StepsagaError, ValueError):
    """A PutEvents entry is not a valid event of its saga; ``event`` and each wrong field are named."""

    def __init__(self, saga: str, event: str | None, problems: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> None:
        self.saga, self.event, self.problems = saga, event, tuple(problems)
        what = f"event {event}" if event else "PutEvents entry"
        super().__init__("\n".join(f"saga {saga}: {what}: {field} {text}" for field, text in self.problems))


class FaultError(StepsagaError, ValueError):
    """A fault was declared wrongly: unknown state, bad attempt count or bad syntax."""


class SeedError(StepsagaError, ValueError):
    """Seed items that cannot go into their table: an undeclared table, unreadable JSON, a missing key."""


class PatternError(StepsagaError, ValueError):
    """An EventBridge event pattern PutRule would reject: ``reasons`` lists every one, each naming its path."""

    def __init__(self, reasons: list[str] | tuple[str, ...]) -> None:
        self.reasons = tuple(reasons)
        super().__init__("\n".join(self.reasons))


class StartExecutionError(StepsagaError, ValueError):
    """StartExecution rejected the call, as AWS would: ``code`` is the AWS error code, nothing ran."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"StartExecution rejected ({code}): {message}")


class SagaFailedError(StepsagaError):
    """Read ``.output`` of a run that did not succeed: carries the error and the cause."""

    def __init__(self, saga: str, execution: str, status: str, error: str | None, cause: str | None) -> None:
        self.error, self.cause, self.status = error, cause, status
        super().__init__(f"saga {saga} execution {execution} {status}: {error}: {cause}")


class ContractViolationError(StepsagaError, AssertionError):
    """A run broke the business-error contract, and the test did not allow it: ``.result`` has the whole run."""

    def __init__(self, result: Any) -> None:
        self.result = result
        lines = [v.message() for v in result.contract_violations]
        super().__init__(
            f"saga {result.saga} execution {result.execution}: {len(lines)} business-error contract violation(s)\n"
            + "\n".join(lines)
            + "\n(to test this on purpose, run with allow_contract_violations=True and use assert_contract_violated)"
        )


class MotoVersionError(StepsagaError):
    """The installed moto is not the exact version whose internals stepsaga's local runtime patches."""


class GraphvizError(StepsagaError):
    """Graphviz's ``dot`` is not installed, or it could not draw a picture (its own message is kept)."""


class SdkError(StepsagaError):
    """The Data Science SDK (``stepsaga[sdk]``) is not installed, or cannot take the workflow or definition given."""


class SdkNotInstalledError(SdkError):
    """The Data Science SDK does not import: the ``stepsaga[sdk]`` extra is not installed."""


class SdkExportError(SdkError):
    """A definition has fields the Data Science SDK cannot express; ``unsupported`` lists every ``(where, field)``."""

    def __init__(self, what: str, unsupported: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> None:
        self.what = what
        self.unsupported = tuple(unsupported)
        lines = [f"{what}: the Data Science SDK cannot express {len(self.unsupported)} field(s); drop them with "
                 "drop_unsupported=True (stepsaga sdk export --drop-unsupported), or keep the ASL:"]
        lines += [f"  {where}: {field}" for where, field in self.unsupported]
        super().__init__("\n".join(lines))
