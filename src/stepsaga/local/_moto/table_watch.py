"""Table writes during one handler attempt, for the business-error contract check (stepsaga.local.contract).

No patch table: a watch puts a recorder in place of each watched table's ``stream_shard`` for the attempt.
"""

from __future__ import annotations

from typing import Any


class _WriteRecorder:
    """Stands in for a moto table's ``stream_shard``: moto calls ``add(old, new)`` on every write.

    Every write path calls it (``Table.put_item``/``delete_item`` in dynamodb/models/table.py:693 and 742,
    ``DynamoDBBackend.update_item`` in dynamodb/models/__init__.py, which batch and transaction writes go
    through), with the item before the write, or None. A real stream shard, if any, still gets every record.
    """

    def __init__(self, table: Any, inner: Any, before: dict[tuple[Any, Any], Any]) -> None:
        self.table, self.inner, self.before = table, inner, before

    def add(self, old: Any, new: Any) -> None:
        item = old if old is not None else new
        key = (item.hash_key, item.range_key)
        if key not in self.before:  # the first image is the row as it was before the attempt
            self.before[key] = None if old is None else old.to_regular_json()
        if self.inner is not None:
            self.inner.add(old, new)

    def __deepcopy__(self, memo: dict[int, Any]) -> _WriteRecorder:
        # TransactWriteItems deep-copies the tables it touches and puts the copy back on failure
        return self


def real_stream_shard(table: Any) -> Any:
    """The table's own stream shard under any recorders of watches in place (None: the table has no stream)."""
    shard = table.stream_shard
    while isinstance(shard, _WriteRecorder):
        shard = shard.inner
    return shard


class TableWatch:
    """The rows of moto DynamoDB tables written between ``start()`` and ``changes()``, as they were and are.

    Costs nothing per row in the table: only written rows are looked at, so it does not slow down with
    the runs before it. A write that leaves a row as it was (an idempotent rewrite, a rolled back
    transaction) is not a change.
    """

    def __init__(self, tables: list[str], account_id: str, region: str, backend: Any = None) -> None:
        if backend is None:  # moto's backend of that account and region; a watcher of many attempts passes it on
            from moto.dynamodb.models import dynamodb_backends

            backend = dynamodb_backends[account_id][region]
        self.backend: Any = backend
        self._names = [name for name in tables if name in self.backend.tables]
        self._before: dict[str, dict[tuple[Any, Any], Any]] = {name: {} for name in self._names}

    def start(self) -> None:
        """Record writes from now on."""
        for name in self._names:
            table = self.backend.tables[name]
            table.stream_shard = _WriteRecorder(table, table.stream_shard, self._before[name])

    def changes(self) -> list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]]:
        """Stop recording; return ``(table, key, before, after)`` for each row that differs (None: no row)."""
        out = []
        for name in self._names:
            table = self.backend.tables.get(name)
            if table is None:
                continue
            # take out our recorder only (another attempt, in a parallel branch, may be watching too), also
            # from a table object a failed transaction put back
            mine, holder, shard = self._before[name], table, table.stream_shard
            while isinstance(shard, _WriteRecorder):
                if shard.before is mine:
                    if holder is table:
                        table.stream_shard = shard.inner
                    else:
                        holder.inner = shard.inner
                else:
                    holder = shard
                shard = shard.inner
            for (hash_key, range_key), before in self._before[name].items():
                current = table.get_item(hash_key, range_key)
                after = None if current is None else current.to_regular_json()
                if after != before:
                    key = {table.hash_key_attr: (before or after)[table.hash_key_attr]}  # type: ignore[index]
                    if table.range_key_attr:
                        key[table.range_key_attr] = (before or after)[table.range_key_attr]  # type: ignore[index]
                    out.append((name, key, before, after))
        return out
