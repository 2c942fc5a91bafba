"""An inline execution as Step Functions' API reports it: its outcome and its history as boto3 returns them.

No patch table: this reads what the interpreter recorded, after the run.
"""

from __future__ import annotations

import datetime
from enum import Enum
from typing import Any, Final, cast

from dateutil.tz import tzlocal
from moto.stepfunctions.parser.api import HistoryEventType
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution import Execution

from stepsaga.local.engine import VirtualClock

_COMPACT: Final = (",", ":")


class RawExecution:
    """The outcome of one ``run_inline`` execution, as Step Functions' API would report it."""

    __slots__ = ("arn", "name", "status", "output", "error", "cause", "clock", "_execution", "_history")

    def __init__(self, execution: Execution, clock: VirtualClock) -> None:
        self.arn: str = execution.exec_arn
        self.name: str = execution.name
        status = execution.exec_status
        self.status: str = status.value if status is not None else "RUNNING"  # SUCCEEDED|FAILED|TIMED_OUT|ABORTED
        # compact JSON text, as AWS's DescribeExecution and the ExecutionSucceeded event give it
        # (parser/backend/execution.py:186; moto's describe_execution response uses ", " separators instead,
        # moto/stepfunctions/responses.py:340)
        self.output: str | None = _output_json(execution) if self.status == "SUCCEEDED" else None
        # a timed-out execution has no error in DescribeExecution; its error name is States.Timeout
        self.error: str | None = "States.Timeout" if self.status == "TIMED_OUT" else execution.error
        self.cause: str | None = execution.cause
        self.clock = clock
        self._execution = execution
        self._history: list[dict[str, Any]] | None = None

    @property
    def history(self) -> list[dict[str, Any]]:
        """The events exactly as boto3 ``get_execution_history(...)["events"]`` returns them, in order."""
        if self._history is None:
            self._history = _history_as_boto3(self._execution)
        return self._history

    def __repr__(self) -> str:
        return f"RawExecution(name={self.name!r}, status={self.status!r}, error={self.error!r})"


def _output_json(execution: Execution) -> str:
    # execution.output is a copy of the state input the program ended with (backend/execution.py:76), and the
    # ExecutionSucceeded event, the last one, holds that same input as compact JSON (program.py:148-160).
    worker = execution.exec_worker
    events = worker.env.event_manager._history_event_list if worker is not None and worker.env is not None else []
    last = events[-1] if events else None
    if last is not None and last["type"] == HistoryEventType.ExecutionSucceeded:
        return cast(str, last["executionSucceededEventDetails"]["output"])
    return to_json_str(execution.output, separators=_COMPACT)


_TZLOCAL = None
_ATOMS: Final = frozenset({str, int, float, bool, type(None)})  # what _plain returns as is, without a call


def _plain(value: Any) -> Any:
    cls = type(value)
    if cls is dict:
        return {k: v if type(v) in _ATOMS else _plain(v) for k, v in value.items()}
    if cls is list:
        return [v if type(v) in _ATOMS else _plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def _history_as_boto3(execution: Execution) -> list[dict[str, Any]]:
    # GetExecutionHistory returns the EventManager's events (parser/models.py:317-320 ->
    # backend/execution.py:244-250 -> asl/eval/event/event_manager.py:214-216, a deepcopy of
    # _history_event_list). Over the wire botocore turns "timestamp" into a datetime in local time and "type"
    # into a plain string, and orders members as the HistoryEvent shape does; _plain copies the rest.
    global _TZLOCAL
    if _TZLOCAL is None:
        _TZLOCAL = tzlocal()
    worker = execution.exec_worker
    assert worker is not None and worker.env is not None, "the execution has not started"
    manager = worker.env.event_manager
    # a settled execution's events (stepsaga.local._moto.growth) read back as new objects: no copy needed
    read_back = getattr(manager, "read_back", None)
    events = read_back() if read_back is not None else None
    fresh = events is not None
    if events is None:
        with manager._mutex:
            events = list(manager._history_event_list)
    out: list[dict[str, Any]] = []
    local_seconds: dict[str, datetime.datetime] = {}  # "YYYY-MM-DDTHH:MM:SS" (UTC) -> that second in local time
    stamps: dict[Any, datetime.datetime] = {}  # the event's timestamp text -> its datetime (immutable, so shared)
    for event in events:
        # a string despite the TypedDict: iso_8601_datetime_with_milliseconds (event_manager.py:87),
        # "YYYY-MM-DDTHH:MM:SS.mmmZ". botocore's tzlocal() offset and fold are whole seconds and depend on the
        # whole second only (it asks time.localtime), so one astimezone per second gives the same datetimes.
        raw = event["timestamp"]
        stamp = stamps.get(raw)
        if stamp is None:
            stamp = stamps[raw] = _local_stamp(str(raw), local_seconds)
        kind = event["type"]
        item: dict[str, Any] = {
            "timestamp": stamp,
            "type": kind.value if isinstance(kind, Enum) else _plain(kind),
            "id": event["id"],
            "previousEventId": event["previousEventId"],
        }
        for key, value in event.items():
            if key not in item:
                item[key] = value if fresh or type(value) in _ATOMS else _plain(value)
        out.append(item)
    return out


def _local_stamp(text: str, local_seconds: dict[str, datetime.datetime]) -> datetime.datetime:
    if len(text) == 24 and text[10] == "T" and text[19] == "." and text[23] == "Z" and text[20:23].isdigit():
        second = text[:19]
        local = local_seconds.get(second)
        if local is None:
            utc = datetime.datetime.fromisoformat(second).replace(tzinfo=datetime.timezone.utc)
            local = local_seconds[second] = utc.astimezone(_TZLOCAL)
        return local.replace(microsecond=int(text[20:23]) * 1000)
    stamp = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return stamp.replace(tzinfo=datetime.timezone.utc).astimezone(_TZLOCAL)
