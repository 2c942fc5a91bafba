"""A ``Saga`` as the Python a person writes for it: only what differs from the defaults, one ``Step`` per step."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stepsaga.importer.python_source import Call, source
from stepsaga.model import DEFAULT_COMPENSATION_RETRY, DEFAULT_RETRIABLE_RETRY, DEFAULT_TRANSIENT_RETRY, Compensation, Retry, Saga, Step

#: The variable the generated module binds the saga to.
VARIABLE = "saga"
_RETRY_DEFAULTS = (("interval_seconds", 1), ("max_attempts", 3), ("backoff_rate", 2.0), ("max_delay_seconds", None), ("jitter", None))


def saga_source(saga: Saga, header: list[str]) -> str:
    """The whole module: ``header`` as comment lines, the import, then ``saga = Saga(...)``."""
    used = {"Saga", "Step"}
    call = _saga(saga, used)
    lines = [f"# {line}".rstrip() for line in header]
    lines += ["", f"from stepsaga import {', '.join(sorted(used))}", "", ""]
    return "\n".join(lines) + f"{VARIABLE} = {source(call, 0, len(VARIABLE) + 3)}\n"


def _saga(saga: Saga, used: set[str]) -> Call:
    kwargs: list[tuple[str, Any]] = []
    if saga.comment is not None:
        kwargs.append(("comment", saga.comment))
    if saga.workflow_type != "STANDARD":
        kwargs.append(("workflow_type", saga.workflow_type))
    if saga.timeout_seconds is not None:
        kwargs.append(("timeout_seconds", saga.timeout_seconds))
    if saga.task_timeout_seconds != 60:
        kwargs.append(("task_timeout_seconds", saga.task_timeout_seconds))
    if saga.transient_retry != DEFAULT_TRANSIENT_RETRY:
        kwargs.append(("transient_retry", None if saga.transient_retry is None else _retry(saga.transient_retry, used)))
    if saga.compensation_retry != (DEFAULT_COMPENSATION_RETRY,):
        kwargs.append(("compensation_retry", [_retry(r, used) for r in saga.compensation_retry]))
    if saga.retriable_retry != (DEFAULT_RETRIABLE_RETRY,):
        kwargs.append(("retriable_retry", [_retry(r, used) for r in saga.retriable_retry]))
    kwargs.append(("steps", [_step(s, used) for s in saga.steps]))
    return Call("Saga", [saga.name], kwargs)


def _step(step: Step, used: set[str]) -> Call:
    kwargs: list[tuple[str, Any]] = [("action", step.action)]
    if step.compensation is not None:
        kwargs.append(("compensation", _compensation(step.compensation, used)))
    if step.retry:
        kwargs.append(("retry", [_retry(r, used) for r in step.retry]))
    if step.business_errors:
        kwargs.append(("business_errors", list(step.business_errors)))
    if step.retriable:
        kwargs.append(("retriable", True))
    kwargs += _timing(step.timeout_seconds, step.heartbeat_seconds, step.comment)
    return Call("Step", [step.name], kwargs)


def _compensation(comp: Compensation, used: set[str]) -> Call:
    used.add("Compensation")
    kwargs: list[tuple[str, Any]] = []
    if comp.retry is not None:
        kwargs.append(("retry", [_retry(r, used) for r in comp.retry]))
    kwargs += _timing(comp.timeout_seconds, comp.heartbeat_seconds, comp.comment)
    return Call("Compensation", [comp.name, comp.action], kwargs)


def _timing(timeout: int | None, heartbeat: int | None, comment: str | None) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if timeout is not None:
        out.append(("timeout_seconds", timeout))
    if heartbeat is not None:
        out.append(("heartbeat_seconds", heartbeat))
    if comment is not None:
        out.append(("comment", comment))
    return out


def _retry(r: Retry, used: set[str]) -> Call:
    used.add("Retry")
    kwargs = [(k, getattr(r, k)) for k, default in _RETRY_DEFAULTS if getattr(r, k) != default]
    return Call("Retry", [list(r.errors)], kwargs)
