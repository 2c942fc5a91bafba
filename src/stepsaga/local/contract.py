"""The business-error contract, checked: a step that raises a declared business error did not apply.

The compiled saga treats a declared business error as "this step did not apply": it is not retried,
and the step's own compensation does not run (DESIGN: only the steps before it are undone). A handler
that raises one after writing (a charge, then ``PaymentDeclined``) leaves that write in place for good.
Locally we can see it: around every attempt of a step that declares business errors, the saga's
tables are watched, and when the attempt ends with one of them, each row it changed is a violation.

All of the saga's declared tables are watched, not only the step's own ``tables=``: a handler that
writes where it did not say it would is the case most worth catching. Watching costs nothing per row
(only written rows are read back), so it is always on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stepsaga.errors import ContractViolationError  # noqa: F401 - its old home, re-exported
from stepsaga.local._moto.table_watch import TableWatch
from stepsaga.model import Saga


@dataclass(frozen=True, slots=True)
class Change:
    """One row an attempt changed: the declared table, the row's key, and the row before and after (None: absent)."""

    table: str
    key: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def kind(self) -> str:
        """``"inserted"``, ``"updated"`` or ``"deleted"``."""
        if self.before is None:
            return "inserted"
        return "deleted" if self.after is None else "updated"

    def describe(self) -> str:
        """``payments row {"order_id": "ord-1"} inserted: {...}`` with the row as it is now (or was, if deleted)."""
        row = self.after if self.after is not None else self.before
        return f"{self.table} row {_text(self.key)} {self.kind}: {_text(row)}"

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form (numbers as DynamoDB keeps them: Decimal, written by ``default=str``)."""
        return {"table": self.table, "key": self.key, "change": self.kind, "before": self.before, "after": self.after}


@dataclass(frozen=True, slots=True)
class ContractViolation:
    """A step attempt that raised a declared business error after changing the saga's tables."""

    step: str
    attempt: int
    error: str
    changes: tuple[Change, ...]  # any iterable of changes is kept as a tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", tuple(self.changes))

    @property
    def tables(self) -> list[str]:
        """The declared tables it changed, each once, in the order first changed."""
        return list(dict.fromkeys(c.table for c in self.changes))

    def message(self) -> str:
        """What happened and what to do, one sentence and one line per changed row."""
        head = (
            f"{self.step} attempt {self.attempt} raised its business error {self.error} after changing "
            f"{', '.join(self.tables)}; a business error means the step did not apply, so this change is never "
            f"undone: undo it in the handler before raising, or raise an error that is not in business_errors "
            f"so that the step is compensated"
        )
        return "\n".join([head, *(f"  {c.describe()}" for c in self.changes)])

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form."""
        return {"step": self.step, "attempt": self.attempt, "error": self.error, "changes": [c.to_json() for c in self.changes]}


class ContractCheck:
    """Watches the attempts of steps that declare business errors; collects ``violations`` of one run.

    ``functions`` maps a Lambda function name to its state; ``tables`` maps a physical table name to
    the declared (logical) one.
    """

    def __init__(self, saga: Saga, functions: Mapping[str, str], tables: Mapping[str, str], account_id: str, region: str) -> None:
        business = {s.name: frozenset(s.business_errors) for s in saga.steps if s.business_errors}
        self._business = {fn: (state, business[state]) for fn, state in functions.items() if state in business}
        self._tables = dict(tables)
        self._account_id, self._region = account_id, region
        self._backend: Any = None  # moto's DynamoDB backend, looked up by the first watch
        self.violations: list[ContractViolation] = []

    def observe(self, function_name: str) -> Callable[[Any], None] | None:
        """Start watching one attempt; return what to call with its ``Call`` record when it ends."""
        entry = self._business.get(function_name)
        if entry is None or not self._tables:  # no table, no change to see
            return None
        state, errors = entry
        watch = TableWatch(list(self._tables), self._account_id, self._region, self._backend)
        self._backend = watch.backend
        watch.start()

        def ended(call: Any) -> None:
            changes = watch.changes()
            if call is not None and call.error in errors and changes:
                found = [Change(self._tables[t], key, before, after) for t, key, before, after in changes]
                self.violations.append(ContractViolation(state, call.attempt, call.error, found))

        return ended

    def wrap(self, dispatcher: Any) -> Callable[[Any, Any], Any]:
        """The dispatcher, with every attempt observed (it must log a ``Call`` per attempt in ``.calls``)."""

        def observed(invocation: Any, context: Any) -> Any:
            calls = dispatcher.calls
            logged = len(calls)
            ended = self.observe(invocation.function_name)
            if ended is None:
                return dispatcher(invocation, context)
            try:
                return dispatcher(invocation, context)
            finally:
                ended(calls[-1] if len(calls) > logged else None)

        return observed


def _text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
