"""The saga definition model: immutable objects, validated when the saga is built.

Every problem in a definition is collected and raised as one `DefinitionError`
that names the saga, the step and the field, and says what to write instead.
Only the standard library is imported here, so compiling stays fast and light.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from stepsaga._record import Record
from stepsaga.asl.limits import ASL_MAX_INT, EXPRESS_MAX_SECONDS, MAX_DELAY_SECONDS
from stepsaga.errors import DefinitionError, Problem
from stepsaga.lambda_timeout import MIN_TASK_DEADLINE_SECONDS, deadline_problems
from stepsaga.names import RESERVED_STATE_NAMES, RESERVED_SUFFIXES
from stepsaga.table_access import DEFAULT_ACCESS, access_problems

TYPE_CHECKING = False  # typing costs ~3 ms of import on the compile path
if TYPE_CHECKING:
    from typing import Any, Literal

    WorkflowType = Literal["STANDARD", "EXPRESS"]
    Jitter = Literal["FULL", "NONE"]
    Mode = Literal["orchestration", "choreography", "both"]
    QueryLanguage = Literal["JSONPath", "JSONata"]

#: What a saga's ``mode`` may be: the deployments ``stepsaga template`` writes for it.
MODES = ("orchestration", "choreography", "both")

#: What a saga's ``query_language`` may be: the States Language's ``QueryLanguage`` of its compiled ASL.
#: https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
QUERY_LANGUAGES = ("JSONPath", "JSONata")

#: The predefined error names of the States Language.
STATES_ERRORS = (
    "States.ALL",
    "States.HeartbeatTimeout",
    "States.Timeout",
    "States.TaskFailed",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.QueryEvaluationError",
    "States.BranchFailed",
    "States.NoChoiceMatched",
    "States.IntrinsicFailure",
    "States.ExceedToleratedFailureThreshold",
    "States.ItemReaderFailed",
    "States.ResultWriterFailed",
    "States.DataLimitExceeded",
    "States.Runtime",
)

#: Transient Lambda service errors that every action retries by default.
TRANSIENT_LAMBDA_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)

#: Error names that match a Lambda function's own errors without naming them: States.TaskFailed matches
#: every error but States.Timeout. https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
WILDCARD_ERRORS = ("States.ALL", "States.TaskFailed")

#: A result or state over the payload quota. AWS's docs say States.ALL does not match it, so the compiler
#: names it wherever it must be caught, and never retries it (the same oversized result would come back).
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"

# Always used with fullmatch: "$" would also match before a trailing newline, so "Pay\n" would pass.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_MAX_NAME = 64  # leaves room for derived names such as "<name>DeadLetter" within ASL's 80 (MAX_NAME_LENGTH)
_ACTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
_TABLE = re.compile(r"[a-z][a-z0-9_]*")
_ERROR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def _tuple(value: object) -> tuple:
    """Accept one item or any iterable where a sequence is expected."""
    if value is None:
        return ()
    if isinstance(value, (str, Record)):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    return (value,)


def _table_uses(tables: object, access: object) -> tuple[tuple, tuple]:
    """(table names, ((name, access), ...)): a mapping gives each table's access; a list takes it
    from ``access`` (how ``replace`` hands the old accesses back) or the default, read-write."""
    if isinstance(tables, Mapping):
        pairs = tuple((name, tuple(how) if isinstance(how, list) else how) for name, how in tables.items())
        return tuple(name for name, _ in pairs), pairs
    names = _tuple(tables)
    given = dict(p for p in (access or ()) if isinstance(p, tuple) and len(p) == 2)
    return names, tuple((name, given.get(name, DEFAULT_ACCESS)) for name in names)


class Retry(Record):
    """An ASL retrier, with ASL's names and meanings (MaxAttempts counts retries)."""

    __slots__ = ("errors", "interval_seconds", "max_attempts", "backoff_rate", "max_delay_seconds", "jitter")
    errors: tuple[str, ...]
    interval_seconds: int
    max_attempts: int
    backoff_rate: float
    max_delay_seconds: int | None
    jitter: Jitter | None

    def __init__(
        self,
        errors: Sequence[str] | str,
        interval_seconds: int = 1,
        max_attempts: int = 3,
        backoff_rate: float = 2.0,
        max_delay_seconds: int | None = None,
        jitter: Jitter | None = None,
    ) -> None:
        self._init(
            errors=_tuple(errors),
            interval_seconds=interval_seconds,
            max_attempts=max_attempts,
            backoff_rate=backoff_rate,
            max_delay_seconds=max_delay_seconds,
            jitter=jitter,
        )

    def delays(self) -> list[float]:
        """The waits before each retry, without jitter, as Step Functions computes them."""
        out, wait = [], float(self.interval_seconds)
        for _ in range(self.max_attempts):
            capped = min(wait, self.max_delay_seconds) if self.max_delay_seconds else wait
            out.append(float(capped))
            wait *= self.backoff_rate
        return out

    def problems(self, where: str) -> list[tuple[str, str, str]]:
        """(field, what is wrong, what to write instead) for each out-of-range value."""
        out: list[tuple[str, str, str]] = []
        if not self.errors:
            out.append((f"{where}.errors", "is empty", "name the errors to retry, for example Retry(['PaymentGatewayTimeout'])"))
        for i, name in enumerate(self.errors):
            out.extend(_error_name_problems(name, f"{where}.errors[{i}]"))
        if "States.ALL" in self.errors and len(self.errors) > 1:
            out.append((f"{where}.errors", "mixes States.ALL with other names", "write States.ALL alone, in a retrier of its own placed last"))
        if not _is_int(self.interval_seconds) or not 1 <= self.interval_seconds <= ASL_MAX_INT:
            out.append((f"{where}.interval_seconds", f"is {self.interval_seconds!r}, but ASL needs a whole number of seconds from 1", "write interval_seconds=1 or more"))
        if not _is_int(self.max_attempts) or not 0 <= self.max_attempts <= ASL_MAX_INT:
            out.append((f"{where}.max_attempts", f"is {self.max_attempts!r}, but ASL MaxAttempts counts retries and must be a whole number from 0", "write max_attempts=3 (the default), or 0 for no retries"))
        if isinstance(self.backoff_rate, bool) or not isinstance(self.backoff_rate, (int, float)) or self.backoff_rate < 1.0:
            out.append((f"{where}.backoff_rate", f"is {self.backoff_rate!r}, but ASL BackoffRate must be 1.0 or more", "write backoff_rate=2.0 (the default), or 1.0 for a fixed interval"))
        if self.max_delay_seconds is not None and (not _is_int(self.max_delay_seconds) or not 1 <= self.max_delay_seconds <= MAX_DELAY_SECONDS):
            out.append((f"{where}.max_delay_seconds", f"is {self.max_delay_seconds!r}, but ASL MaxDelaySeconds must be a whole number from 1 to {MAX_DELAY_SECONDS}", "write max_delay_seconds=60, or leave it out for no cap"))
        if self.jitter is not None and self.jitter not in ("FULL", "NONE"):
            out.append((f"{where}.jitter", f"is {self.jitter!r}, but ASL JitterStrategy is FULL or NONE", f"write jitter={_suggest(str(self.jitter).upper(), ('FULL', 'NONE'), 'FULL')!r}"))
        return out


class Table(Record):
    """A DynamoDB table the saga owns: a logical name and its key schema."""

    __slots__ = ("name", "partition_key", "sort_key")
    name: str
    partition_key: str
    sort_key: str | None

    def __init__(self, name: str, partition_key: str, sort_key: str | None = None) -> None:
        self._init(name=name, partition_key=partition_key, sort_key=sort_key)

    @property
    def env_var(self) -> str:
        """The environment variable that carries the table's physical name: orders -> ORDERS_TABLE."""
        return f"{self.name.upper()}_TABLE"


class HttpTrigger(Record):
    """Start the saga from HTTP: an API Gateway route with IAM auth and request validation."""

    __slots__ = ("path", "method", "schema")
    path: str
    method: str
    schema: Mapping[str, Any] | None

    def __init__(self, path: str = "/orders", method: str = "POST", schema: Mapping[str, Any] | None = None) -> None:
        self._init(path=path, method=method, schema=schema)


class EventTrigger(Record):
    """Start the saga when a matching event reaches an EventBridge bus.

    ``pattern`` adds content filters to the rule (an EventBridge pattern fragment, for example
    ``{"detail": {"channel": ["web"]}}``), merged with ``source`` and ``detail_type``; ``model`` describes
    the event's ``detail`` (a pydantic model class, or a JSON schema) so that the filters can be checked
    against the JSON each field becomes.
    """

    __slots__ = ("source", "detail_type", "bus", "pattern", "model")
    source: str
    detail_type: str
    bus: str | None
    pattern: Mapping[str, Any] | None
    model: Any

    def __init__(self, source: str, detail_type: str, bus: str | None = None, pattern: Mapping[str, Any] | None = None, model: Any = None) -> None:
        self._init(source=source, detail_type=detail_type, bus=bus, pattern=pattern, model=model)


class StepEvents(Record):
    """A step's domain events in choreography mode; a name left None keeps its default.

    ``succeeded`` is emitted when the step's action returns (default: ``ProcessPayment`` ->
    ``PaymentProcessed``), ``failed`` when it fails for good (``PaymentFailed``); ``source`` is the
    EventBridge ``source`` of both, the step's bounded context (default: the saga's source).
    Event names are EventBridge ``detail-type`` values: https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html
    """

    __slots__ = ("succeeded", "failed", "source")
    succeeded: str | None
    failed: str | None
    source: str | None

    def __init__(self, succeeded: str | None = None, failed: str | None = None, source: str | None = None) -> None:
        self._init(succeeded=succeeded, failed=failed, source=source)


class SagaEvents(Record):
    """The saga's own domain events and its EventBridge ``source``; a name left None keeps its default.

    Defaults: ``<Saga>Started``, ``<Saga>Completed``, ``<Saga>Aborted`` (compensated) and
    ``<Saga>CompensationFailed``; the source defaults to ``stepsaga.<saga_in_snake_case>``.
    """

    __slots__ = ("source", "started", "completed", "aborted", "compensation_failed")
    source: str | None
    started: str | None
    completed: str | None
    aborted: str | None
    compensation_failed: str | None

    def __init__(
        self,
        source: str | None = None,
        started: str | None = None,
        completed: str | None = None,
        aborted: str | None = None,
        compensation_failed: str | None = None,
    ) -> None:
        self._init(source=source, started=started, completed=completed, aborted=aborted, compensation_failed=compensation_failed)


class Compensation(Record):
    """The Lambda that undoes a step; it has its own, more patient retry policy.

    ``done_event`` names the domain event emitted in choreography mode once it has undone the step
    (default: ``RefundPayment`` -> ``PaymentRefunded``).
    """

    __slots__ = ("name", "action", "retry", "timeout_seconds", "heartbeat_seconds", "tables", "comment", "access", "done_event")
    name: str
    action: str
    retry: tuple[Retry, ...] | None
    timeout_seconds: int | None
    heartbeat_seconds: int | None
    tables: tuple[str, ...]
    comment: str | None
    #: (table, access) for each of ``tables``: see ``stepsaga.table_access``.
    access: tuple[tuple[str, str | tuple[str, ...]], ...]
    done_event: str | None

    def __init__(
        self,
        name: str,
        action: str,
        retry: Sequence[Retry] | Retry | None = None,
        timeout_seconds: int | None = None,
        heartbeat_seconds: int | None = None,
        tables: Sequence[str] | Mapping[str, str | Sequence[str]] = (),
        comment: str | None = None,
        access: Sequence[tuple[str, str | Sequence[str]]] = (),
        done_event: str | None = None,
    ) -> None:
        names, pairs = _table_uses(tables, access)
        self._init(
            name=name,
            action=action,
            retry=None if retry is None else _tuple(retry),
            timeout_seconds=timeout_seconds,
            heartbeat_seconds=heartbeat_seconds,
            tables=names,
            comment=comment,
            access=pairs,
            done_event=done_event,
        )


class Step(Record):
    """One step of a saga: a Lambda action, its retries, business errors and compensation.

    ``events`` renames its domain events in choreography mode (``StepEvents``).
    """

    __slots__ = (
        "name", "action", "compensation", "retry", "business_errors", "retriable",
        "timeout_seconds", "heartbeat_seconds", "tables", "comment", "access", "events",
    )
    name: str
    action: str
    compensation: Compensation | None
    retry: tuple[Retry, ...]
    business_errors: tuple[str, ...]
    retriable: bool
    timeout_seconds: int | None
    heartbeat_seconds: int | None
    tables: tuple[str, ...]
    comment: str | None
    #: (table, access) for each of ``tables``: see ``stepsaga.table_access``.
    access: tuple[tuple[str, str | tuple[str, ...]], ...]
    events: StepEvents | None

    def __init__(
        self,
        name: str,
        action: str,
        compensation: Compensation | None = None,
        retry: Sequence[Retry] | Retry = (),
        business_errors: Sequence[str] | str = (),
        retriable: bool = False,
        timeout_seconds: int | None = None,
        heartbeat_seconds: int | None = None,
        tables: Sequence[str] | str | Mapping[str, str | Sequence[str]] = (),
        comment: str | None = None,
        access: Sequence[tuple[str, str | Sequence[str]]] = (),
        events: StepEvents | None = None,
    ) -> None:
        names, pairs = _table_uses(tables, access)
        self._init(
            name=name,
            action=action,
            compensation=compensation,
            retry=_tuple(retry),
            business_errors=_tuple(business_errors),
            retriable=retriable,
            timeout_seconds=timeout_seconds,
            heartbeat_seconds=heartbeat_seconds,
            tables=names,
            comment=comment,
            access=pairs,
            events=events,
        )


#: Default retry of every action: transient Lambda service errors, with backoff.
DEFAULT_TRANSIENT_RETRY = Retry(TRANSIENT_LAMBDA_ERRORS, interval_seconds=1, max_attempts=3, backoff_rate=2.0, jitter="FULL")
#: Default retry of compensations: everything, patiently, because a saga must be able to undo.
DEFAULT_COMPENSATION_RETRY = Retry(["States.ALL"], interval_seconds=2, max_attempts=6, backoff_rate=2.0, max_delay_seconds=60, jitter="FULL")
#: Default retry of retriable steps that declare none: everything, since they must eventually succeed.
DEFAULT_RETRIABLE_RETRY = Retry(["States.ALL"], interval_seconds=2, max_attempts=5, backoff_rate=2.0, max_delay_seconds=30, jitter="FULL")
#: Retry of the SQS sendMessage of a repair record: it must survive throttling.
DEAD_LETTER_RETRY = Retry(["States.ALL"], interval_seconds=1, max_attempts=5, backoff_rate=2.0, jitter="FULL")


def no_retry_guard(retries: Sequence[Retry], never: Sequence[str]) -> tuple[Retry, ...]:
    """``retries`` behind a first retrier with ``MaxAttempts: 0`` for each error of ``never`` one of them would retry.

    Step Functions applies the first retrier whose ErrorEquals matches, so a wildcard (``States.ALL``,
    ``States.TaskFailed``) or an explicit name later in the list can no longer retry those errors.
    States.DataLimitExceeded is guarded only from wildcards; a retrier that names it keeps it.
    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
    """
    named = {e for r in retries for e in r.errors}
    wildcard = bool(named & set(WILDCARD_ERRORS))
    guarded = [e for e in never if e in named or wildcard]
    if wildcard and DATA_LIMIT_EXCEEDED not in named:
        guarded.append(DATA_LIMIT_EXCEEDED)
    if not guarded:
        return tuple(retries)
    return (Retry(guarded, max_attempts=0), *retries)


def task_seconds(retries: Sequence[Retry], timeout_seconds: int) -> float:
    """The longest a Task can take, in seconds: every attempt times out, every retrier is spent, no jitter.

    Each retrier counts its own retries, so errors that alternate between retriers spend them all.
    """
    attempts = 1 + sum(r.max_attempts for r in retries)
    return attempts * timeout_seconds + sum(sum(r.delays()) for r in retries)


class Saga(Record):
    """An ordered list of steps, validated when built; compiled to one state machine, to domain events, or both.

    ``mode`` chooses what ``stepsaga template`` deploys: ``"orchestration"`` (a Step Functions state
    machine, the default), ``"choreography"`` (domain events on an EventBridge bus, no orchestrator) or
    ``"both"``. The local runtime runs either mode of any saga. ``events`` renames the saga's own events.
    ``query_language`` is the compiled ASL's: ``"JSONPath"`` (the default) or ``"JSONata"``, with the same
    saga semantics (``stepsaga.orchestration_jsonata``); a choreography does not use it.
    """

    __slots__ = (
        "name", "steps", "comment", "workflow_type", "tables", "timeout_seconds",
        "task_timeout_seconds", "transient_retry", "compensation_retry", "retriable_retry", "triggers",
        "mode", "events", "query_language",
    )
    name: str
    steps: tuple[Step, ...]
    comment: str | None
    workflow_type: WorkflowType
    tables: tuple[Table, ...]
    timeout_seconds: int | None
    task_timeout_seconds: int
    transient_retry: Retry | None
    compensation_retry: tuple[Retry, ...]
    retriable_retry: tuple[Retry, ...]
    triggers: tuple[HttpTrigger | EventTrigger, ...]
    mode: Mode
    events: SagaEvents | None
    query_language: QueryLanguage

    def __init__(
        self,
        name: str,
        steps: Sequence[Step],
        comment: str | None = None,
        workflow_type: WorkflowType = "STANDARD",
        tables: Sequence[Table] = (),
        timeout_seconds: int | None = None,
        task_timeout_seconds: int = 60,
        transient_retry: Retry | None = DEFAULT_TRANSIENT_RETRY,
        compensation_retry: Sequence[Retry] | Retry = (DEFAULT_COMPENSATION_RETRY,),
        retriable_retry: Sequence[Retry] | Retry = (DEFAULT_RETRIABLE_RETRY,),
        triggers: Sequence[HttpTrigger | EventTrigger] = (),
        mode: Mode = "orchestration",
        events: SagaEvents | None = None,
        query_language: QueryLanguage = "JSONPath",
    ) -> None:
        self._init(
            name=name,
            steps=_tuple(steps),
            comment=comment,
            workflow_type=workflow_type,
            tables=_tuple(tables),
            timeout_seconds=timeout_seconds,
            task_timeout_seconds=task_timeout_seconds,
            transient_retry=transient_retry,
            compensation_retry=_tuple(compensation_retry),
            retriable_retry=_tuple(retriable_retry),
            triggers=_tuple(triggers),
            mode=mode,
            events=events,
            query_language=query_language,
        )
        problems = _validate(self)
        if problems:
            raise DefinitionError(problems)

    @property
    def modes(self) -> tuple[str, ...]:
        """The modes deployed for this saga: ``("orchestration",)``, ``("choreography",)`` or both."""
        return ("orchestration", "choreography") if self.mode == "both" else (self.mode,)

    @property
    def compensatable(self) -> tuple[Step, ...]:
        """The steps that have a compensation, in saga order."""
        return tuple(s for s in self.steps if s.compensation is not None)

    def table(self, name: str) -> Table:
        """The declared table with this logical name."""
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def step(self, name: str) -> Step:
        """The step with this name."""
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def handlers(self) -> dict[str, str]:
        """Every Lambda the saga invokes, state name -> dotted handler path, in compile order."""
        out = {s.name: s.action for s in self.steps}
        for s in reversed(self.steps):
            if s.compensation is not None:
                out[s.compensation.name] = s.compensation.action
        return out

    def retries_for(self, step: Step) -> tuple[Retry, ...]:
        """The retriers a step's Task gets: its own, then the defaults, with States.ALL last.

        A declared business error is never retried, whatever the retriers: when one of them would match it
        (States.ALL, States.TaskFailed), a first retrier with ``MaxAttempts: 0`` names it (see no_retry_guard).
        """
        own = list(step.retry)
        if step.retriable and not own:
            own = list(self.retriable_retry)
        catch_all = [r for r in own if "States.ALL" in r.errors]
        specific = [r for r in own if "States.ALL" not in r.errors]
        if self.transient_retry is not None:
            covered = {e for r in specific for e in r.errors}
            left = [e for e in self.transient_retry.errors if e not in covered]
            if left:
                t = self.transient_retry
                specific.append(Retry(left, t.interval_seconds, t.max_attempts, t.backoff_rate, t.max_delay_seconds, t.jitter))
        return no_retry_guard(specific + catch_all, step.business_errors)

    def compensation_retries_for(self, compensation: Compensation) -> tuple[Retry, ...]:
        """The retriers a compensation's Task gets: its own if given, else the saga's patient default."""
        own = compensation.retry if compensation.retry is not None else self.compensation_retry
        return no_retry_guard(own, ())

    def worst_case_seconds(self) -> tuple[float, str, float]:
        """The longest an execution can run on retries and task timeouts, for the time limits.

        Returns (seconds, the Task with the largest share on that path, its seconds). The path is the
        longest one: every step up to a failing one spends all its attempts, then every compensation does,
        and the last one dead-letters; retriable steps may each dead-letter and go on. Lambda calls are
        counted at their TimeoutSeconds, SQS calls at their retry waits only.
        """
        dead_letter = sum(DEAD_LETTER_RETRY.delays())
        share: dict[str, float] = {}
        done: list[str] = []  # the steps run so far
        undo: list[str] = []  # the compensations a failure here runs
        elapsed = undo_seconds = 0.0
        longest: tuple[float, list[str]] = (0.0, [])
        for step in self.steps:
            share[step.name] = task_seconds(self.retries_for(step), step.timeout_seconds or self.task_timeout_seconds)
            done.append(step.name)
            elapsed += share[step.name]
            if step.retriable:
                elapsed += dead_letter
                continue
            comp = step.compensation
            if comp is not None:
                share[comp.name] = task_seconds(self.compensation_retries_for(comp), comp.timeout_seconds or self.task_timeout_seconds)
                undo.append(comp.name)
                undo_seconds += share[comp.name]
            failing_here = elapsed + undo_seconds + (dead_letter if undo else 0.0)
            if failing_here > longest[0]:
                longest = (failing_here, done + undo)
        if elapsed >= longest[0]:
            longest = (elapsed, list(done))
        biggest = max(longest[1], key=lambda n: share[n])
        return longest[0], biggest, share[biggest]


# --- validation -----------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _suggest(word: str, choices: Iterable[str], fallback: str) -> str:
    import difflib  # only on the error path

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return match[0] if match else fallback


def _query_language_suggestion(value: object) -> str:
    """The query language meant: the same name in another case ("jsonata"), else the closest, else JSONata."""
    folded = {q.lower(): q for q in QUERY_LANGUAGES}
    return folded.get(str(value).lower()) or _suggest(str(value), QUERY_LANGUAGES, "JSONata")


def _pascal(text: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", text)
    name = "".join(p[:1].upper() + p[1:] for p in parts if p)
    name = name.lstrip("0123456789")
    return name[:_MAX_NAME] or "MyStep"


def _error_name_problems(name: object, where: str) -> list[tuple[str, str, str]]:
    if not isinstance(name, str) or not _ERROR_NAME.fullmatch(name):
        return [(where, f"is {name!r}, not an error name", "write the exception class name the Lambda raises, for example 'PaymentDeclined'")]
    if name.startswith("States.") and name not in STATES_ERRORS:
        return [(where, f"is {name!r}, which is not a States Language error", f"did you mean {_suggest(name, STATES_ERRORS, 'States.ALL')!r}?")]
    return []


def _name_problems(name: object, where: str, kind: str) -> list[tuple[str, str, str]]:
    if not isinstance(name, str) or not name:
        return [(where, "is empty", f"give the {kind} a PascalCase name, for example 'ProcessPayment'")]
    if not _NAME.fullmatch(name):
        return [(where, f"is {name!r}, but names must be letters and digits starting with a letter (they name states, Lambda functions and CloudFormation resources)", f"write {_pascal(name)!r}")]
    if len(name) > _MAX_NAME:
        return [(where, f"is {len(name)} characters long, more than {_MAX_NAME}", f"write a shorter name such as {name[:_MAX_NAME]!r}")]
    return []


def _action_problems(action: object, where: str) -> list[tuple[str, str, str]]:
    if not isinstance(action, str) or not _ACTION.fullmatch(action):
        return [(where, f"is {action!r}, not a dotted handler path", "write 'package.module.function', for example 'tasks.process_payment.handler'")]
    return []


def _seconds_problems(value: object, where: str, example: str) -> list[tuple[str, str, str]]:
    if value is None:
        return []
    if not _is_int(value) or not 1 <= value <= ASL_MAX_INT:
        return [(where, f"is {value!r}, but ASL needs a whole number of seconds from 1", f"write {example}")]
    return []


def _retry_list_problems(retries: Sequence[object], where: str) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for i, r in enumerate(retries):
        if not isinstance(r, Retry):
            out.append((f"{where}[{i}]", f"is {type(r).__name__}, not a Retry", "write Retry(['ErrorName'], interval_seconds=2, max_attempts=3)"))
            continue
        out.extend(r.problems(f"{where}[{i}]"))
        if "States.ALL" in r.errors and i != len(retries) - 1:
            out.append((f"{where}[{i}]", "catches States.ALL but is not the last retrier", "move the States.ALL retrier to the end of the list"))
    return out


def _validate(saga: Saga) -> list[Problem]:
    """Collect every problem of a saga definition."""
    sname = saga.name if isinstance(saga.name, str) and saga.name else "<unnamed>"
    problems: list[Problem] = []

    def add(step: str | None, items: Iterable[tuple[str, str, str]]) -> None:
        problems.extend(Problem(sname, step, f, w, i) for f, w, i in items)

    add(None, _name_problems(saga.name, "name", "saga"))
    if saga.workflow_type not in ("STANDARD", "EXPRESS"):
        add(None, [("workflow_type", f"is {saga.workflow_type!r}, but Step Functions has STANDARD and EXPRESS workflows", f"write workflow_type={_suggest(str(saga.workflow_type).upper(), ('STANDARD', 'EXPRESS'), 'STANDARD')!r}")])
    add(None, _seconds_problems(saga.timeout_seconds, "timeout_seconds", "timeout_seconds=3600, or leave it out"))
    add(None, _seconds_problems(saga.task_timeout_seconds, "task_timeout_seconds", "task_timeout_seconds=60"))
    add(None, deadline_problems(saga.task_timeout_seconds, "task_timeout_seconds", "Task"))
    if saga.workflow_type == "EXPRESS" and _is_int(saga.timeout_seconds) and saga.timeout_seconds > EXPRESS_MAX_SECONDS:
        add(None, [("timeout_seconds", f"is {saga.timeout_seconds}, but an EXPRESS workflow runs for at most {EXPRESS_MAX_SECONDS} seconds", f"write timeout_seconds={EXPRESS_MAX_SECONDS} or less, or workflow_type='STANDARD'")])
    if saga.transient_retry is not None:
        if isinstance(saga.transient_retry, Retry):
            add(None, saga.transient_retry.problems("transient_retry"))
        else:
            add(None, [("transient_retry", f"is {type(saga.transient_retry).__name__}, not a Retry", "write a Retry, or None for no default retry")])
    add(None, _retry_list_problems(saga.compensation_retry, "compensation_retry"))
    add(None, _retry_list_problems(saga.retriable_retry, "retriable_retry"))

    table_names: list[str] = []
    for i, t in enumerate(saga.tables):
        if not isinstance(t, Table):
            add(None, [(f"tables[{i}]", f"is {type(t).__name__}, not a Table", "write Table('orders', partition_key='order_id')")])
            continue
        if not isinstance(t.name, str) or not _TABLE.fullmatch(t.name):
            add(None, [(f"tables[{i}].name", f"is {t.name!r}, but table names are lower_snake_case (they become environment variables such as ORDERS_TABLE)", f"write {re.sub(r'[^a-z0-9_]+', '_', str(t.name).lower()).strip('_') or 'orders'!r}")])
        elif t.name in table_names:
            add(None, [(f"tables[{i}].name", f"repeats table {t.name!r}", "declare each table once")])
        table_names.append(t.name)
        if not isinstance(t.partition_key, str) or not t.partition_key:
            add(None, [(f"tables[{i}].partition_key", "is empty", "name the partition key attribute, for example partition_key='order_id'")])

    add(None, _trigger_problems(saga.triggers))
    if not saga.steps:
        add(None, [("steps", "is empty", "give the saga at least one Step")])

    seen: dict[str, str] = {}  # state name -> what declared it
    retriable_seen: str | None = None
    for index, step in enumerate(saga.steps):
        if not isinstance(step, Step):
            add(None, [(f"steps[{index}]", f"is {type(step).__name__}, not a Step", "write Step('Name', action='tasks.module.handler')")])
            continue
        label = step.name if isinstance(step.name, str) and step.name else f"#{index + 1}"
        items = _name_problems(step.name, "name", "step")
        items += _state_name_clash(step.name, "name", seen, f"step {label}")
        items += _action_problems(step.action, "action")
        items += _retry_list_problems(step.retry, "retry")
        items += _seconds_problems(step.timeout_seconds, "timeout_seconds", "timeout_seconds=30")
        items += _seconds_problems(step.heartbeat_seconds, "heartbeat_seconds", "heartbeat_seconds=20")
        items += _heartbeat_problems(step.heartbeat_seconds, step.timeout_seconds or saga.task_timeout_seconds, "heartbeat_seconds")
        items += deadline_problems(step.timeout_seconds, "timeout_seconds", "step")
        items += deadline_problems(step.heartbeat_seconds, "heartbeat_seconds", "step")
        items += _table_refs(step.tables, step.access, "tables", table_names)
        retried = {e for r in step.retry if isinstance(r, Retry) for e in r.errors}
        for j, err in enumerate(step.business_errors):
            items += _error_name_problems(err, f"business_errors[{j}]")
            if isinstance(err, str) and err.startswith("States."):
                items.append((f"business_errors[{j}]", f"is {err!r}, but business errors are the exceptions your Lambda raises", "name an exception class such as 'PaymentDeclined'"))
            if err in retried:
                items.append((f"business_errors[{j}]", f"{err!r} is also retried, but a business error means the step did not apply and must not be retried", f"remove {err!r} from retry or from business_errors"))
            if err in step.business_errors[:j]:
                items.append((f"business_errors[{j}]", f"repeats {err!r}", "list each business error once"))
        if step.retriable and step.compensation is not None:
            items.append(("compensation", "is set on a retriable step, but retriable steps come after the point of no return and are never compensated", "remove compensation=, or remove retriable=True"))
        if step.retriable and step.business_errors:
            items.append(("business_errors", "are set on a retriable step, which is never compensated, so they would change nothing", "remove business_errors=, or remove retriable=True"))
        if retriable_seen and not step.retriable:
            items.append(("retriable", f"is False, but the step comes after retriable step {retriable_seen}, past the point of no return", "write retriable=True, or move the step before " + retriable_seen))
        if step.retriable:
            retriable_seen = retriable_seen or label
        comp = step.compensation
        if comp is not None:
            if not isinstance(comp, Compensation):
                items.append(("compensation", f"is {type(comp).__name__}, not a Compensation", "write Compensation('UndoName', 'compensations.module.handler')"))
            else:
                items += _name_problems(comp.name, "compensation.name", "compensation")
                items += _state_name_clash(comp.name, "compensation.name", seen, f"compensation of step {label}")
                items += _action_problems(comp.action, "compensation.action")
                if comp.retry is not None:
                    items += _retry_list_problems(comp.retry, "compensation.retry")
                items += _seconds_problems(comp.timeout_seconds, "compensation.timeout_seconds", "timeout_seconds=30")
                items += _seconds_problems(comp.heartbeat_seconds, "compensation.heartbeat_seconds", "heartbeat_seconds=20")
                items += _heartbeat_problems(comp.heartbeat_seconds, comp.timeout_seconds or saga.task_timeout_seconds, "compensation.heartbeat_seconds")
                items += deadline_problems(comp.timeout_seconds, "compensation.timeout_seconds", "compensation")
                items += deadline_problems(comp.heartbeat_seconds, "compensation.heartbeat_seconds", "compensation")
                items += _table_refs(comp.tables, comp.access, "compensation.tables", table_names)
        add(label, items)
    if saga.mode not in MODES:
        add(None, [("mode", f"is {saga.mode!r}, but a saga runs as an orchestration, a choreography or both", f"write mode={_suggest(str(saga.mode).lower(), MODES, 'orchestration')!r}")])
    if saga.query_language not in QUERY_LANGUAGES:
        add(None, [("query_language", f"is {saga.query_language!r}, but the States Language has the query languages JSONPath and JSONata", f"write query_language={_query_language_suggestion(saga.query_language)!r}")])
    if not problems:  # the budget and the events need a well-formed saga
        add(None, _time_limit_problems(saga))
        from stepsaga.choreography.validate import choreography_problems

        problems.extend(choreography_problems(saga))
    return problems


def _time_limit_problems(saga: Saga) -> list[tuple[str, str, str]]:
    """An execution time limit shorter than the worst case of retries: it could cut a compensation short.

    Step Functions ends an execution at its TimeoutSeconds (and an EXPRESS one at 5 minutes) with
    States.Timeout, which no Catch sees: https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
    """
    seconds, biggest, share = saga.worst_case_seconds()
    limits = []
    if saga.workflow_type == "EXPRESS":
        limits.append((EXPRESS_MAX_SECONDS, "workflow_type", f"is 'EXPRESS', which runs for at most {EXPRESS_MAX_SECONDS} seconds"))
    if saga.timeout_seconds is not None:
        limits.append((saga.timeout_seconds, "timeout_seconds", f"is {saga.timeout_seconds}"))
    out = []
    for limit, field, what in limits:
        if seconds > limit:
            out.append((
                field,
                f"{what}, but the worst case of the saga's task timeouts and retries is {seconds:g} s, so the execution "
                f"could time out (States.Timeout, which no Catch sees) before it finishes or compensates",
                f"lower the attempts or timeouts (the largest share is {biggest}, {share:g} s: set its timeout_seconds, "
                f"retry max_attempts or max_delay_seconds), or "
                + ("write workflow_type='STANDARD'" if field == "workflow_type" else f"write timeout_seconds={math.ceil(seconds)} or more, or leave it out"),
            ))
    return out


def _state_name_clash(name: object, where: str, seen: dict[str, str], who: str) -> list[tuple[str, str, str]]:
    if not isinstance(name, str) or not name:
        return []
    if name in RESERVED_STATE_NAMES:
        return [(where, f"is {name!r}, a state name the compiler uses itself", f"write another name, such as {name + 'Step'!r}")]
    for suffix in RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return [(where, f"is {name!r}; names ending in {suffix} are kept for the compiler's dead-letter states", f"write {(name[: -len(suffix)] or 'My') + 'Record'!r} or another name")]
    if name in seen:
        return [(where, f"is {name!r}, already the name of {seen[name]}", "give every step and compensation its own name")]
    seen[name] = who
    return []


def _heartbeat_problems(heartbeat: object, timeout: object, where: str) -> list[tuple[str, str, str]]:
    if _is_int(heartbeat) and _is_int(timeout) and heartbeat >= timeout:
        shorter = max(MIN_TASK_DEADLINE_SECONDS, int(timeout) // 3)  # still long enough for the function (7.8)
        instead = f"write heartbeat_seconds={shorter} or raise timeout_seconds" if shorter < timeout else "remove heartbeat_seconds, or raise timeout_seconds"
        return [(where, f"is {heartbeat}, but a heartbeat must be shorter than the task timeout ({timeout} s)", instead)]
    return []


def _table_refs(tables: Sequence[object], access: Sequence[tuple[object, object]], where: str, declared: list[str]) -> list[tuple[str, str, str]]:
    out = []
    for i, name in enumerate(tables):
        if name not in declared:
            hint = f"did you mean {_suggest(str(name), declared, declared[0])!r}?" if declared else f"declare it in the saga: tables=[Table({name!r}, partition_key='id')]"
            out.append((f"{where}[{i}]", f"names table {name!r}, which the saga does not declare", hint))
        elif name in tables[:i]:
            out.append((f"{where}[{i}]", f"repeats table {name!r}", "name each table once, with all the access the handler needs"))
    for name, how in access:
        out.extend(access_problems(how, f"{where}[{name!r}]"))
    return out


_HTTP_METHODS = ("POST", "PUT", "PATCH")


def _trigger_problems(triggers: Sequence[object]) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    routes: set[tuple[str, str]] = set()
    for i, t in enumerate(triggers):
        where = f"triggers[{i}]"
        if isinstance(t, HttpTrigger):
            if not isinstance(t.path, str) or not t.path.startswith("/") or any(c.isspace() for c in t.path):
                out.append((f"{where}.path", f"is {t.path!r}, not an API path", "write a path starting with '/', for example '/orders'"))
            if t.method not in _HTTP_METHODS:
                out.append((f"{where}.method", f"is {t.method!r}; a saga is started with a request that carries its input", f"write method={_suggest(str(t.method).upper(), _HTTP_METHODS, 'POST')!r}"))
            if t.schema is not None and not isinstance(t.schema, dict):
                out.append((f"{where}.schema", f"is {type(t.schema).__name__}, not a JSON schema", "write a dict such as {'type': 'object', 'required': ['order_id']}"))
            if (t.path, t.method) in routes:
                out.append((where, f"repeats the route {t.method} {t.path}", "declare each route once"))
            routes.add((t.path, t.method))
        elif isinstance(t, EventTrigger):
            if not isinstance(t.source, str) or not t.source:
                out.append((f"{where}.source", "is empty", "name the event source, for example source='shop.orders'"))
            if not isinstance(t.detail_type, str) or not t.detail_type:
                out.append((f"{where}.detail_type", "is empty", "name the detail-type, for example detail_type='OrderPlaced'"))
            if t.pattern is not None or t.model is not None:  # imported only for a trigger that has them: the compile path stays light
                from stepsaga.trigger_patterns import event_trigger_problems

                out.extend(event_trigger_problems(t, where))
        else:
            out.append((where, f"is {type(t).__name__}, not a trigger", "write HttpTrigger('/orders') or EventTrigger('shop.orders', 'OrderPlaced')"))
    return out
