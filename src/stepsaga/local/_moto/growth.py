"""Speed shortcuts for the long run: a run's cost does not grow with the runs before it.

* moto's model-instance tracking for its dashboard (``BaseModel.__new__``, moto/core/common_models.py:8-15)
  is skipped, and DynamoDB ``TransactWriteItems`` saves only the items it targets instead of deep-copying
  every table it touches (moto/dynamodb/models/__init__.py:604-716), with the same rollback. Both also
  apply under ``lambda_only`` and during a choreography run (``run.choreography_run``).
* Execution names are checked against an index instead of a scan of all executions, and the execution's
  snapshot of its state machine is a shallow copy.
* A finished execution keeps only what Step Functions' API reads from it: its events, its output as marshal
  bytes (read back on access), its pools of callbacks and map runs. The state document its run ended with
  is let go. Every execution stays readable, so the objects it keeps are the ones the garbage collector
  walks again in every full collection, for as long as the process runs.

Off with ``install(fast=False)``, like ``speed.py``.
"""

from __future__ import annotations

import contextvars
import copy as _stdlib_copy
import functools
import marshal
import threading
import weakref
from collections.abc import Callable
from typing import Any, Final

from moto.core.common_models import BaseModel
from moto.dynamodb import models as _dynamodb_models_mod
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table as DynamoTable
from moto.stepfunctions.parser.api import HistoryEventType
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

from stepsaga.local._moto import driver, speed
from stepsaga.local._moto.run import Patch, gated_runtime
from stepsaga.local._moto.table_watch import real_stream_shard

def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    # BaseModel.__new__ (moto/core/common_models.py:8-15) appends every instance of every moto model to
    # cls.instances_tracked, for the moto server's dashboard (/moto-api/data.json), until mock_aws stops:
    # every DynamoDB Item written or copied, every SQS message. Nobody reads it here; skip it.
    return super(BaseModel, cls).__new__(cls)


class _TransactCopy:
    """Stands in for ``copy`` in moto.dynamodb.models: within _transact_write_items a Table is not copied."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if _IN_TRANSACT.get() and type(value) is DynamoTable:
            return value
        return _stdlib_copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(_stdlib_copy, name)


_IN_TRANSACT: contextvars.ContextVar[bool] = contextvars.ContextVar("stepsaga_in_transact", default=False)


def _transact_write_items(original: Callable[..., None], self: Any, transact_items: list[dict[str, Any]]) -> None:
    # DynamoDBBackend.transact_write_items (moto/dynamodb/models/__init__.py:604-716) deep-copies every table
    # it touches before it starts (:608-615), so a transaction costs as much as the tables are large, and on
    # a failure puts the copies back (:701-705, :712-716). Same semantics, copying only the items it targets:
    # each (table, key) is saved before, and put back (or removed, with an empty hash bucket it created) if
    # the original raises. The original's own table "copies" are the live tables (_TransactCopy), so its
    # rollback assigns each table to itself. A table with a stream keeps the whole copy (its records too); the
    # contract check's recorder in a table's stream_shard is no stream (it records each row's first image, so
    # a rolled back write is no change).
    saved = _save_targets(self, transact_items)
    if saved is None:
        return original(self, transact_items)
    token = _IN_TRANSACT.set(True)
    try:
        original(self, transact_items)
    except BaseException:
        for table, hash_key, range_key, existed, item in reversed(saved):
            _put_back(table, hash_key, range_key, existed, item)
        raise
    finally:
        _IN_TRANSACT.reset(token)


def _save_targets(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, ...]] | None:
    saved: list[tuple[Any, ...]] = []
    for entry in transact_items:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue  # the original rejects it before touching anything
        op_type, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            continue
        if real_stream_shard(table) is not None:
            return None
        attrs = op.get("Item") if op_type == "Put" else op.get("Key")
        if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
            continue
        try:
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
        except Exception:  # noqa: BLE001 - a malformed key: the original fails it before any write
            continue
        if table.range_key_attr is not None:
            existed = hash_key in table.items  # Table.get_item creates the hash bucket of a range table
            item = table.items[hash_key].get(range_key) if existed else None
        else:
            existed, item = hash_key in table.items, table.items.get(hash_key)
        saved.append((table, hash_key, range_key, existed, _stdlib_copy.deepcopy(item)))
    return saved


def _put_back(table: Any, hash_key: Any, range_key: Any, existed: bool, item: Any) -> None:
    if table.range_key_attr is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    if not existed:
        table.items.pop(hash_key, None)
    elif item is None:
        table.items[hash_key].pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


# state machine -> [its executions list, how many of them are indexed, {name: execution}]
_NAME_INDEX: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()
_NAME_INDEX_LOCK = threading.Lock()


def _indexed_execution(state_machine: Any, name: str) -> Any | None:
    # driver._find_execution (a linear scan of all executions, as stock) with an index extended
    # incrementally: executions are only ever appended.
    with _NAME_INDEX_LOCK:
        executions = state_machine.executions
        entry = _NAME_INDEX.get(state_machine)
        if entry is None or entry[0] is not executions or entry[1] > len(executions):
            entry = _NAME_INDEX[state_machine] = [executions, 0, {}]
        names: dict[str, Any] = entry[2]
        for execution in executions[entry[1]:]:
            names.setdefault(execution.name, execution)
        entry[1] = len(executions)
        return names.get(name)


def _shallow_snapshot(state_machine: Any) -> Any:
    # stock deep-copies the state machine as a snapshot (parser/models.py:184); its attributes are only
    # ever rebound by updates, so a shallow copy is the same snapshot
    snapshot = _stdlib_copy.copy(state_machine)
    snapshot.executions = []
    return snapshot


class _SettledExecution(driver._InlineExecution):
    """A finished inline execution whose output is kept as marshal bytes, and read back on access."""

    @property
    def output(self) -> Any:
        blob = self.__dict__.get("_output_marshal")
        return marshal.loads(blob) if blob is not None else self.__dict__.get("output")

    @output.setter
    def output(self, value: Any) -> None:
        self.__dict__.pop("_output_marshal", None)
        self.__dict__["output"] = value


class _SettledEvents(EventManager):
    """A finished execution's EventManager: its events kept as marshal bytes, read back on access."""

    def __init__(self, manager: EventManager, blob: bytes) -> None:
        # EventManager.__init__ (asl/eval/event/event_manager.py:66-73) but the list of events
        self._mutex = manager._mutex
        self._event_id_gen = manager._event_id_gen
        self._cloud_watch_logging_session = manager._cloud_watch_logging_session
        self._blob = blob
        self._events: list[Any] | None = None  # read back for good by a late add_event

    @property  # type: ignore[override]
    def _history_event_list(self) -> list[Any]:
        return self._events if self._events is not None else _thawed(self._blob)

    def add_event(self, *args: Any, **kwargs: Any) -> int:
        if self._events is None:  # nothing adds an event to a finished execution; if anything does, as stock
            self._events = _thawed(self._blob)
        return super().add_event(*args, **kwargs)

    def get_event_history(self) -> list[Any]:
        # event_manager.py:214-216 returns a deep copy of the list; a read-back is one
        with self._mutex:
            return _stdlib_copy.deepcopy(self._events) if self._events is not None else _thawed(self._blob)

    def read_back(self) -> list[Any] | None:
        """The events as new objects nobody else holds (history.py converts them without copying), or None."""
        with self._mutex:
            return _thawed(self._blob) if self._events is None else None


def _frozen(events: list[Any]) -> bytes | None:
    """The events as marshal bytes, each type (a HistoryEventType, which marshal refuses) as its name; None if
    marshal refuses anything else in them. Each type is its name only while marshal writes (under the mutex)."""
    if not all(type(event) is dict and type(event.get("type")) is HistoryEventType for event in events):
        return None
    types = [event["type"] for event in events]
    for event, kind in zip(events, types):
        event["type"] = kind.value  # an existing key: its place is kept
    try:
        return marshal.dumps(events)
    except ValueError:
        return None
    finally:
        for event, kind in zip(events, types):
            event["type"] = kind


def _thawed(blob: bytes) -> list[Any]:
    events: list[Any] = marshal.loads(blob)
    for event in events:
        event["type"] = _EVENT_TYPES[event["type"]]
    return events


_EVENT_TYPES: Final = {t.value: t for t in HistoryEventType}


def _settled(execution: Any) -> None:
    # A finished execution is read only through the API: describe_execution (its status, error, cause and
    # output), get_execution_history (env.event_manager), list_executions, stop_execution (a no-op once ended,
    # environment.py:217-228), and send_task_*/map runs (env.callback_pool_manager,
    # env.map_run_record_pool_manager; parser/models.py:104-160, 270-310). Stock keeps, besides, the state
    # document the run ended with (env.states) and a copy of it as the output (backend/execution.py:76): in
    # the order saga with stub handlers, 144 of the 231 objects the garbage collector tracks per execution, and
    # every full collection walks them all again; its 28 events are 52 more. The output becomes marshal bytes,
    # which marshal reads back equal and of the same types (it takes only exact dict, list, str, int, float,
    # bool, None, ...: anything else, a datetime from $$.Execution.StartTime, keeps the object), and so do the
    # events (_frozen); the state document is let go.
    output = execution.__dict__.get("output")
    if output is not None:
        try:
            blob = marshal.dumps(output)
        except ValueError:
            blob = None
        if blob is not None:  # in this order, another thread's describe_execution always finds an output
            execution.__dict__["_output_marshal"] = blob
            execution.__class__ = _SettledExecution
            del execution.__dict__["output"]
    worker = execution.exec_worker
    env = worker.env if worker is not None else None
    if env is not None:
        data = env.states._states_data
        for key in ("input", "result", "errorOutput"):
            if key in data:
                data[key] = None
        env.states.__dict__.pop(speed.INPUT_JSON_ATTR, None)
        manager = env.event_manager
        if type(manager) is EventManager:
            with manager._mutex:
                blob = _frozen(manager._history_event_list)
            if blob is not None:  # else an event holds what marshal refuses: the events stay as they are
                env.event_manager = _SettledEvents(manager, blob)


PATCHES: Final[tuple[Patch, ...]] = (
    (BaseModel, "__new__", lambda original: staticmethod(gated_runtime(original.__func__, _untracked_new))),
    (
        _dynamodb_models_mod.DynamoDBBackend,
        "transact_write_items",
        lambda original: gated_runtime(original, functools.partial(_transact_write_items, original)),
    ),
    (_dynamodb_models_mod, "copy", lambda original: _TransactCopy()),
    (driver, "_find_execution", lambda original: _indexed_execution),
    (driver, "_snapshot", lambda original: _shallow_snapshot),
    (driver, "_settle", lambda original: _settled),
)
