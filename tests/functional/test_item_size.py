"""DynamoDB items measured once while built in-process (``stepsaga.local._moto.item_size``) hit moto's limit as moto does.

moto refuses an item over its 400 KB limit (405,000 bytes of attribute names and values, counted its way)
with a ValidationException. The in-process path measures each attribute once instead of re-measuring the
item for every attribute it adds; here both paths meet the same items at the limit and either side of it,
written by PutItem, a transaction's Put and BatchWriteItem, and the in-process path is shown to measure each
value once where moto measures the item again per attribute.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.dynamodb.models.dynamo_type import DynamoType

from stepsaga.local._moto import inprocess, item_size
from tests.functional.test_expression_memo import ddb  # noqa: F401 - the fixture: table "t" keyed by pk


def write(client: Any, how: str, item: dict[str, Any]) -> Any:
    """``ok`` and the stored item, or the error's code and message."""
    try:
        if how == "put":
            client.put_item(TableName="t", Item=item)
        elif how == "transact":
            client.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": item}}])
        else:
            client.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": item}}]})
    except client.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["Error"]["Message"]
    stored = client.get_item(TableName="t", Key={"pk": item["pk"]}, ConsistentRead=True).get("Item")
    client.delete_item(TableName="t", Key={"pk": item["pk"]})
    return "ok", stored == item


def both(client: Any, how: str, item: dict[str, Any]) -> Any:
    with inprocess.scope():
        fast = write(client, how, item)
    slow = write(client, how, item)
    assert fast == slow, (how, fast, slow)
    return fast


# "pk" + "a" is 3 bytes, "big" 3 more: a string of LIMIT - 6 bytes is the largest such item moto takes
EDGE = item_size.LIMIT - 6


@pytest.mark.parametrize("how", ["put", "transact", "batch"])
def test_an_item_at_the_limit_is_taken_and_one_byte_more_is_refused_on_both_paths(ddb: Any, how: str) -> None:
    assert both(ddb, how, {"pk": {"S": "a"}, "big": {"S": "x" * EDGE}}) == ("ok", True)
    code, message = both(ddb, how, {"pk": {"S": "a"}, "big": {"S": "x" * (EDGE + 1)}})
    assert code == "ValidationException" and "size" in message


_name = st.text(alphabet="abcdefghé", min_size=1, max_size=4)
_part = st.one_of(
    st.builds(lambda n: {"S": "x" * n}, st.integers(0, 140_000)),
    st.builds(lambda n: {"B": b"\x00" * n}, st.integers(1, 140_000)),
    st.builds(lambda n: {"N": "9" * n}, st.integers(1, 38)),
    st.builds(lambda n: {"L": [{"S": "y" * n}, {"N": "1"}]}, st.integers(0, 140_000)),
    st.builds(lambda n: {"M": {"k": {"S": "z" * n}, "é": {"BOOL": True}}}, st.integers(0, 140_000)),
    st.builds(lambda n: {"SS": ["a" * n, "b"]}, st.integers(1, 140_000)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(attrs=st.dictionaries(_name, _part, min_size=1, max_size=5), how=st.sampled_from(["put", "transact", "batch"]))
def test_items_around_the_limit_fare_the_same_on_both_paths(ddb: Any, attrs: dict[str, Any], how: str) -> None:
    both(ddb, how, {"pk": {"S": "a"}, **{k: v for k, v in attrs.items() if k != "pk"}})


def test_the_in_process_path_measures_each_value_once(ddb: Any, monkeypatch: Any) -> None:
    measured = [0]
    original = DynamoType.size

    def counted(self: DynamoType) -> int:
        measured[0] += 1
        return original(self)

    monkeypatch.setattr(DynamoType, "size", counted)
    item = {"pk": {"S": "a"}, **{f"a{i}": {"S": "v"} for i in range(60)}}
    counts = []
    for fast in (True, False):
        measured[0] = 0
        with inprocess.scope() if fast else contextlib.nullcontext():
            ddb.put_item(TableName="t", Item=item)
        counts.append(measured[0])
    # 61 attributes: once each (and the key's own size checks) in-process; moto measures 61 * 60 / 2 and more
    assert counts[0] < 3 * 61 < 61 * 60 // 2 <= counts[1]
