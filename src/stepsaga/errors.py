"""The errors stepsaga raises: one base class, one subclass per failure mode."""

from __future__ import annotations

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
