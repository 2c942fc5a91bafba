"""Typed ASL states: one small class per concept, each rendering its own JSON in a fixed order."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Union

from stepsaga._record import Record

JSON = dict  # dict[str, Any]


class _Omit:
    """Marks a ResultPath left out, which ASL reads as "$" (the result replaces the input)."""

    def __repr__(self) -> str:
        return "OMIT"


#: Leave ResultPath out of the rendered state.
OMIT: Any = _Omit()


def _put(out: JSON, key: str, value: Any) -> None:
    if value is not None and value != () and value != []:
        out[key] = value


class Retrier(Record):
    """A Retry entry: which errors, and how long to wait before each retry."""

    __slots__ = ("error_equals", "interval_seconds", "max_attempts", "backoff_rate", "max_delay_seconds", "jitter_strategy")
    error_equals: tuple[str, ...]
    interval_seconds: int | None
    max_attempts: int | None
    backoff_rate: float | None
    max_delay_seconds: int | None
    jitter_strategy: str | None

    def __init__(self, error_equals: tuple[str, ...], interval_seconds: int | None = None, max_attempts: int | None = None, backoff_rate: float | None = None, max_delay_seconds: int | None = None, jitter_strategy: str | None = None) -> None:
        self._init(error_equals=tuple(error_equals), interval_seconds=interval_seconds, max_attempts=max_attempts, backoff_rate=backoff_rate, max_delay_seconds=max_delay_seconds, jitter_strategy=jitter_strategy)

    def to_json(self) -> JSON:
        """This retrier as ASL JSON."""
        out: JSON = {"ErrorEquals": list(self.error_equals)}
        _put(out, "IntervalSeconds", self.interval_seconds)
        _put(out, "MaxAttempts", self.max_attempts)
        _put(out, "BackoffRate", None if self.backoff_rate is None else float(self.backoff_rate))
        _put(out, "MaxDelaySeconds", self.max_delay_seconds)
        _put(out, "JitterStrategy", self.jitter_strategy)
        return out


class Catcher(Record):
    """A Catch entry: which errors, where the error goes (JSONPath ``ResultPath``; JSONata ``Assign`` and
    ``Output``, with ``result_path=OMIT``), and the next state."""

    __slots__ = ("error_equals", "next", "result_path", "assign", "output")
    error_equals: tuple[str, ...]
    next: str
    result_path: str | None
    assign: JSON | None
    output: Any

    def __init__(self, error_equals: tuple[str, ...], next: str, result_path: str | None = "$.error", assign: JSON | None = None, output: Any = None) -> None:
        self._init(error_equals=tuple(error_equals), next=next, result_path=result_path, assign=assign, output=output)

    def to_json(self) -> JSON:
        """This catcher as ASL JSON."""
        out: JSON = {"ErrorEquals": list(self.error_equals)}
        if self.result_path is not OMIT:
            out["ResultPath"] = self.result_path
        _put(out, "Output", self.output)
        _put(out, "Assign", self.assign)
        out["Next"] = self.next
        return out


class TaskState(Record):
    """A Task state calling an AWS service integration: JSONPath ``Parameters``, ``ResultSelector`` and
    ``ResultPath``, or JSONata ``Arguments``, ``Assign`` and ``Output``."""

    __slots__ = ("resource", "parameters", "result_selector", "result_path", "timeout_seconds", "heartbeat_seconds", "retry", "catch", "next", "end", "comment", "arguments", "assign", "output")
    resource: str
    parameters: JSON | None
    result_selector: JSON | None
    result_path: str | None
    timeout_seconds: int | None
    heartbeat_seconds: int | None
    retry: tuple[Retrier, ...]
    catch: tuple[Catcher, ...]
    next: str | None
    end: bool
    comment: str | None
    arguments: JSON | None
    assign: JSON | None
    output: Any

    def __init__(self, resource: str, parameters: JSON | None = None, result_selector: JSON | None = None, result_path: str | None = OMIT, timeout_seconds: int | None = None, heartbeat_seconds: int | None = None, retry: tuple[Retrier, ...] = (), catch: tuple[Catcher, ...] = (), next: str | None = None, end: bool = False, comment: str | None = None, arguments: JSON | None = None, assign: JSON | None = None, output: Any = None) -> None:
        self._init(resource=resource, parameters=parameters, result_selector=result_selector, result_path=result_path, timeout_seconds=timeout_seconds, heartbeat_seconds=heartbeat_seconds, retry=retry, catch=catch, next=next, end=end, comment=comment, arguments=arguments, assign=assign, output=output)

    def to_json(self) -> JSON:
        """This state as ASL JSON."""
        out: JSON = {"Type": "Task"}
        _put(out, "Comment", self.comment)
        out["Resource"] = self.resource
        _put(out, "Parameters", self.parameters)
        _put(out, "Arguments", self.arguments)
        _put(out, "ResultSelector", self.result_selector)
        if self.result_path is not OMIT:
            out["ResultPath"] = self.result_path
        _put(out, "Output", self.output)
        _put(out, "Assign", self.assign)
        _put(out, "TimeoutSeconds", self.timeout_seconds)
        _put(out, "HeartbeatSeconds", self.heartbeat_seconds)
        _put(out, "Retry", [r.to_json() for r in self.retry])
        _put(out, "Catch", [c.to_json() for c in self.catch])
        _next_or_end(out, self.next, self.end)
        return out


class PassState(Record):
    """A Pass state shaping the data, without doing work: JSONPath ``Parameters``, or JSONata ``Assign`` and ``Output``."""

    __slots__ = ("parameters", "result_path", "next", "end", "comment", "assign", "output")
    parameters: JSON | None
    result_path: str | None
    next: str | None
    end: bool
    comment: str | None
    assign: JSON | None
    output: Any

    def __init__(self, parameters: JSON | None = None, result_path: str | None = OMIT, next: str | None = None, end: bool = False, comment: str | None = None, assign: JSON | None = None, output: Any = None) -> None:
        self._init(parameters=parameters, result_path=result_path, next=next, end=end, comment=comment, assign=assign, output=output)

    def to_json(self) -> JSON:
        """This state as ASL JSON."""
        out: JSON = {"Type": "Pass"}
        _put(out, "Comment", self.comment)
        _put(out, "Parameters", self.parameters)
        if self.result_path is not OMIT:
            out["ResultPath"] = self.result_path
        _put(out, "Output", self.output)
        _put(out, "Assign", self.assign)
        _next_or_end(out, self.next, self.end)
        return out


class ChoiceState(Record):
    """A Choice state: rules in order (each a JSON rule with its Next: a JSONPath ``Variable`` test or a JSONata
    ``Condition``), a Default, and a JSONPath ``OutputPath`` or a JSONata ``Output``."""

    __slots__ = ("choices", "default", "output_path", "comment", "output")
    choices: tuple[JSON, ...]
    default: str | None
    output_path: str | None
    comment: str | None
    output: Any

    def __init__(self, choices: tuple[JSON, ...], default: str | None = None, output_path: str | None = None, comment: str | None = None, output: Any = None) -> None:
        self._init(choices=tuple(choices), default=default, output_path=output_path, comment=comment, output=output)

    def to_json(self) -> JSON:
        """This state as ASL JSON."""
        out: JSON = {"Type": "Choice"}
        _put(out, "Comment", self.comment)
        out["Choices"] = [dict(c) for c in self.choices]
        _put(out, "Default", self.default)
        _put(out, "OutputPath", self.output_path)
        _put(out, "Output", self.output)
        return out


class FailState(Record):
    """A Fail state: ends the execution with an error and a cause, fixed or read from the state (JSONPath
    ``ErrorPath``/``CausePath``; in JSONata, ``Error``/``Cause`` may be ``{% ... %}`` expressions)."""

    __slots__ = ("error", "cause", "error_path", "cause_path", "comment")
    error: str | None
    cause: str | None
    error_path: str | None
    cause_path: str | None
    comment: str | None

    def __init__(self, error: str | None = None, cause: str | None = None, error_path: str | None = None, cause_path: str | None = None, comment: str | None = None) -> None:
        self._init(error=error, cause=cause, error_path=error_path, cause_path=cause_path, comment=comment)

    def to_json(self) -> JSON:
        """This state as ASL JSON."""
        out: JSON = {"Type": "Fail"}
        _put(out, "Comment", self.comment)
        _put(out, "Error", self.error)
        _put(out, "ErrorPath", self.error_path)
        _put(out, "Cause", self.cause)
        _put(out, "CausePath", self.cause_path)
        return out


class SucceedState(Record):
    """A Succeed state: ends the execution successfully; a JSONata ``Output`` is the execution's output."""

    __slots__ = ("comment", "output")
    comment: str | None
    output: Any

    def __init__(self, comment: str | None = None, output: Any = None) -> None:
        self._init(comment=comment, output=output)

    def to_json(self) -> JSON:
        """This state as ASL JSON."""
        out: JSON = {"Type": "Succeed"}
        _put(out, "Comment", self.comment)
        _put(out, "Output", self.output)
        return out


if TYPE_CHECKING:
    State = Union[TaskState, PassState, ChoiceState, FailState, SucceedState]


class StateMachine(Record):
    """A whole definition; states keep their declaration order, duplicates included, for the linter.

    ``query_language`` is the top-level ``QueryLanguage``, left out for JSONPath (the States Language's default).
    """

    __slots__ = ("start_at", "states", "comment", "timeout_seconds", "query_language")
    start_at: str
    states: tuple[tuple[str, State], ...]
    comment: str | None
    timeout_seconds: int | None
    query_language: str | None

    def __init__(self, start_at: str, states: tuple[tuple[str, State], ...], comment: str | None = None, timeout_seconds: int | None = None, query_language: str | None = None) -> None:
        self._init(start_at=start_at, states=states, comment=comment, timeout_seconds=timeout_seconds, query_language=query_language)

    def duplicate_names(self) -> list[str]:
        """State names declared more than once."""
        seen: set[str] = set()
        dups: list[str] = []
        for name, _ in self.states:
            if name in seen and name not in dups:
                dups.append(name)
            seen.add(name)
        return dups

    def to_json(self) -> JSON:
        """The definition as ASL JSON."""
        out: JSON = {}
        _put(out, "Comment", self.comment)
        _put(out, "QueryLanguage", self.query_language)
        out["StartAt"] = self.start_at
        _put(out, "TimeoutSeconds", self.timeout_seconds)
        out["States"] = {name: state.to_json() for name, state in self.states}
        return out


def _next_or_end(out: JSON, next_: str | None, end: bool) -> None:
    if next_ is not None:
        out["Next"] = next_
    if end:
        out["End"] = True
