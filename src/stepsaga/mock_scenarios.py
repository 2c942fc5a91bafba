"""The fault scenarios of a saga: the test cases of its Step Functions Local mock configuration.

Each scenario is a set of ``--fail`` faults (``STATE=SPEC[@N]``, ``stepsaga.local.faults``), derived from the
saga itself, never from a particular saga: its steps, their business errors, the retriers its compiled Tasks
carry (the step's own, the Lambda defaults, the compensations' patient policy) and its compensations.

==================================  ===============================================================
``HappyPath``                       no fault
``<Step>-<BusinessError>``          the step raises each business error it declares (never retried)
``<Step>-<Error>-Retried``          for each retrier naming errors: the first one fails every retry
                                    the retrier grants (``ERROR@N``, N its MaxAttempts), then the
                                    real handler succeeds
``<Step>-UnexpectedError``          an error the saga does not declare, on every attempt: retried by
                                    any wildcard retrier, then caught (the step's own compensation
                                    runs too; a step past the point of no return is dead-lettered)
``<Step>-Timeout``                  the Task times out (``States.Timeout``)
``<Step>-FunctionTimeout``          the function times out (``Sandbox.Timedout``)
``<Step>-Exit``                     the function's process exits (``Runtime.ExitError``)
``<Compensation>-UnexpectedError``  the last compensatable step fails with an undeclared error, so
                                    every compensation runs, and this one fails for good (its retry
                                    policy exhausted): ``SagaCompensationFailed``, a repair record
``<Compensation>-Timeout``          the same, the compensation timing out
==================================  ===============================================================

``crash`` (the handler runs, then the process exits) is not a scenario of its own: to a mock it is the
``Exit`` scenario, since the side effect it keeps is the handler's and a mock runs no handler.

Test case names are the state machine ARN's ``#TestCase`` suffix: letters, digits, ``-`` and ``_`` only.
Standard library only; the retry rules are ``stepsaga.choreography.retry``'s (ASL's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stepsaga.choreography.retry import matches
from stepsaga.model import Compensation, Retry, Saga, Step

#: The error a scenario injects where the saga declares none: no business error, no retrier names it.
UNEXPECTED_ERROR = "UnexpectedError"
HAPPY_PATH = "HappyPath"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One test case: its name and the ``--fail`` faults that make it, as ``(state, spec)`` pairs."""

    name: str
    faults: tuple[tuple[str, str], ...]
    summary: str

    @property
    def fail_args(self) -> list[str]:
        """The faults as ``stepsaga run --fail`` takes them: ``["ProcessPayment=PaymentGatewayTimeout@3"]``."""
        return [f"{state}={spec}" for state, spec in self.faults]


def case_name(*parts: str) -> str:
    """A test case name from its parts: ``-`` between them, any other character than ``[A-Za-z0-9_]`` dropped."""
    return "-".join(re.sub(r"[^A-Za-z0-9_]", "", part) for part in parts)


def retries_granted(retriers: tuple[Retry, ...], error: str) -> int:
    """How many retries a Task's retriers grant an error that fails every attempt: the MaxAttempts of the
    first retrier whose ErrorEquals matches it (ASL: later retriers are never tried), 0 when none matches."""
    for retrier in retriers:
        if matches(retrier.errors, error):
            return retrier.max_attempts
    return 0


def scenarios(saga: Saga) -> list[Scenario]:
    """Every scenario of the saga, in a fixed order: the happy path, then each step's, then each compensation's."""
    out = [Scenario(HAPPY_PATH, (), "no fault: every step succeeds")]
    for step in saga.steps:
        out.extend(_step_scenarios(saga, step))
    if saga.compensatable:
        trigger = saga.compensatable[-1]  # its undeclared error runs every compensation, its own first
        for step in reversed(saga.compensatable):
            comp = step.compensation
            assert comp is not None
            out.extend(_compensation_scenarios(saga, trigger, comp))
    return out


def _step_scenarios(saga: Saga, step: Step) -> list[Scenario]:
    name = step.name
    out = [Scenario(case_name(name, error), ((name, error),), f"{name} raises its business error {error}") for error in step.business_errors]
    retriers = saga.retries_for(step)
    for retrier in retriers:
        named = [e for e in retrier.errors if not e.startswith("States.") and e not in step.business_errors]
        if named and retrier.max_attempts > 0:
            error, n = named[0], retrier.max_attempts
            out.append(Scenario(case_name(name, error, "Retried"), ((name, f"{error}@{n}"),),
                                f"{name} fails with {error} {n} times, as many as its retrier retries, then succeeds"))
    retried = retries_granted(retriers, UNEXPECTED_ERROR)
    out += [
        Scenario(case_name(name, UNEXPECTED_ERROR), ((name, UNEXPECTED_ERROR),),
                 f"{name} fails with an error the saga does not declare, on " + (f"all {1 + retried} attempts" if retried else "its only attempt")),
        Scenario(case_name(name, "Timeout"), ((name, "timeout"),), f"{name}'s Task times out (States.Timeout)"),
        Scenario(case_name(name, "FunctionTimeout"), ((name, "function-timeout"),), f"{name}'s function times out (Sandbox.Timedout)"),
        Scenario(case_name(name, "Exit"), ((name, "exit"),), f"{name}'s process exits (Runtime.ExitError)"),
    ]
    return out


def _compensation_scenarios(saga: Saga, trigger: Step, comp: Compensation) -> list[Scenario]:
    attempts = 1 + retries_granted(saga.compensation_retries_for(comp), UNEXPECTED_ERROR)
    because = f"{trigger.name} fails with {UNEXPECTED_ERROR}, so every compensation runs"
    return [
        Scenario(case_name(comp.name, UNEXPECTED_ERROR), ((trigger.name, UNEXPECTED_ERROR), (comp.name, UNEXPECTED_ERROR)),
                 f"{because}; {comp.name} fails on all {attempts} attempts: SagaCompensationFailed"),
        Scenario(case_name(comp.name, "Timeout"), ((trigger.name, UNEXPECTED_ERROR), (comp.name, "timeout")),
                 f"{because}; {comp.name}'s Task times out on every attempt: SagaCompensationFailed"),
    ]
