"""DynamoDB items built in one pass: moto's 400 KB item-size check without re-measuring the item per attribute.

moto builds an ``Item`` attribute by attribute into a ``LimitedSizeDict`` (moto/dynamodb/models/dynamo_type.py
:300-335), whose ``__setitem__`` measures every attribute already set before it adds one, so building an item
of n attributes measures n(n-1)/2 attributes: every ``PutItem``, every ``Put`` of a transaction, every item a
``BatchWriteItem`` writes. While moto answers a request that took the in-process path, ``Item.__init__`` keeps
the running total instead. It is the same sum in the same order (each earlier key as ``bytesize(str(key))``,
each value's ``size()``, then the new key as ``bytesize(key)`` and the new value), compared with the same
limit before the same attribute, so ``ItemSizeTooLarge`` is raised for the same items at the same attribute.
The values are new ``DynamoType`` objects nothing else holds until the constructor returns, so no size can
change while the total is kept. Every later write to the item (``SET`` in an update expression) keeps
moto's own check.

Off with ``STEPSAGA_AWS_INPROCESS=0`` and ``install(fast=False)``, as ``expressions``;
``tests/functional/test_inprocess_differential.py`` compares both paths at the limit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.utilities import bytesize

from stepsaga.local._moto import inprocess
from stepsaga.local._moto.run import Patch

#: moto's limit (dynamo_type.py:313-317: AWS's 400 KB, as measured against DynamoDB).
LIMIT: Final = 405000

_SETITEM: Final = LimitedSizeDict.__dict__["__setitem__"]


def _init(original: Callable[..., None]) -> Any:
    @functools.wraps(original)
    def patched(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
        if type(self) is not Item or LimitedSizeDict.__setitem__ is not _SETITEM or not inprocess.dispatching():
            return original(self, hash_key, range_key, attrs)
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = held = LimitedSizeDict()
        current = 0
        for key, value in attrs.items():
            value = DynamoType(value)
            size = value.size()
            if current + bytesize(key) + size > LIMIT:
                raise ItemSizeTooLarge
            dict.__setitem__(held, key, value)
            current += bytesize(str(key)) + size

    return patched


PATCHES: Final[tuple[Patch, ...]] = ((Item, "__init__", _init),)
