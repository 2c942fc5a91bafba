"""A cloud's moto resources put back as they were when it started, in moto's backends (no patches).

Through the API, emptying a table is a scan and a delete per row, and a purge is refused within 60 s of the
last (when moto is strict); in the backends it is a few assignments. Each function touches only the
resources it is named, so the other clouds of the process and the user's own moto data stay as they are.
What each leaves is what a new resource holds (the attributes are moto 5.2.5's):

* a DynamoDB table: ``Table.items``, the only part rows change (``moto/dynamodb/models/table.py:321``), holds
  copies of the items it held when ``snapshot_tables`` was taken (a new cloud's seeded rows);
* an SQS queue: no message, in flight or not, and no receipt handle of a deleted one
  (``moto/sqs/models.py:256-258``), as ``Queue.__init__`` leaves them;
* a state machine: no execution (``StateMachine.executions``), so a run's name is free again.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

#: A table's rows as the backend holds them: ``{hash: Item}`` or ``{hash: {range: Item}}``.
Rows = Any


def _table(account: str, region: str, name: str) -> Any:
    table = dynamodb_backends[account][region].tables.get(name)
    if table is None:
        raise LookupError(f"DynamoDB table {name} is gone")
    return table


def snapshot_tables(account: str, region: str, names: Iterable[str]) -> dict[str, Rows]:
    """A copy of each named table's rows, to restore with ``restore_tables``."""
    return {name: copy.deepcopy(_table(account, region, name).items) for name in names}


def restore_tables(account: str, region: str, rows: Mapping[str, Rows]) -> None:
    """Each named table holds a fresh copy of its snapshot's rows, and nothing else; ``LookupError`` if one is gone."""
    tables = {name: _table(account, region, name) for name in rows}  # all found before any is changed
    for name, table in tables.items():
        table.items.clear()
        table.items.update(copy.deepcopy(rows[name]))


def purge_queues(account: str, region: str, names: Iterable[str]) -> None:
    """Each named queue holds no message, as a new one; ``LookupError`` if one is gone."""
    backend = sqs_backends[account][region]
    queues = []
    for name in names:
        queue = backend.queues.get(name)
        if queue is None:
            raise LookupError(f"SQS queue {name} is gone")
        queues.append(queue)
    for queue in queues:
        with queue._messages_lock:
            queue._messages = []
            queue._pending_messages = set()
            queue.deleted_messages = set()


def forget_executions(account: str, region: str, state_machine_arn: str) -> None:
    """The state machine has no execution, as a new one; ``LookupError`` if it is gone."""
    backend = stepfunctions_parser_backends[account][region]
    found = next((sm for sm in backend.state_machines if sm.arn == state_machine_arn), None)
    if found is None:
        raise LookupError(f"state machine {state_machine_arn} is gone")
    found.executions = []  # a new list: growth.py's name index sees another list and starts again
