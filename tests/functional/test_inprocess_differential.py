"""The in-process AWS path is exactly as strict as the slow path: same responses, same errors, same rows.

``stepsaga.local._moto.inprocess`` answers the DynamoDB and SQS calls of a run without moto's HTTP layer.
Here every call is made twice, on fresh state: once on the slow path (boto3 through botocore's signing and
moto's ``BotocoreStubber``, werkzeug and serialisers, as stock moto runs it) and once inside
``inprocess.scope()``, and the two must agree on every response and every error:

* generated sequences of DynamoDB operations on two tables (conditional writes, updates with SET, REMOVE,
  ADD and DELETE and their functions, transactions that fail and succeed, batches, queries and scans with
  filters and pagination, the resource layer's conditions and Decimals, wrong types, invalid expressions,
  missing tables, parameters botocore rejects), then the tables' rows;
* generated sequences of the SQS operations the runtime and the handlers use, with a redrive policy;
* the order saga's failure matrix, with its real handlers, in both modes, through ``EmbeddedCloud`` with
  ``STEPSAGA_AWS_INPROCESS`` on and off: results, dead-letter records and every table's rows.

moto's own random source is seeded the same before each run, so message ids, receipt handles and request ids
must match too; only the clock differs (``date`` headers, timestamps). The last tests check that the path is
really taken when on (moto's stubber routes nothing), and not taken under ``install(fast=False)``, with
``STEPSAGA_AWS_INPROCESS=0``, outside a cloud's scope, or for other services.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}


# ---------------------------------------------------------------------------------------------------
# Running one sequence on each path
# ---------------------------------------------------------------------------------------------------
class Paths:
    """boto3 clients into one moto mock, and a way to run a sequence of calls on either path."""

    def __init__(self) -> None:
        import boto3

        self.ddb = boto3.client("dynamodb", region_name=REGION, **CREDENTIALS)
        self.resource = boto3.resource("dynamodb", region_name=REGION, **CREDENTIALS)
        self.sqs = boto3.client("sqs", region_name=REGION, **CREDENTIALS)
        self.sts = boto3.client("sts", region_name=REGION, **CREDENTIALS)

        self.routes: list[str] = []  # set by the stubber_routes fixture
        self.block = (0, 0)  # requests of the last path() block: (routed by moto's stubber, taken in-process)

    @contextmanager
    def path(self, fast: bool) -> Iterator[None]:
        """Calls in the block take the in-process path (fast) or the slow one; moto's random source is seeded."""
        from moto.moto_api._internal import mock_random

        from stepsaga.local._moto import inprocess

        mock_random.seed(20261203)
        routed, answered = len(self.routes), inprocess.answered[0]
        try:
            if not fast:
                yield
            else:
                with inprocess.scope():
                    yield
        finally:
            self.block = (len(self.routes) - routed, inprocess.answered[0] - answered)


@pytest.fixture(scope="module")
def paths() -> Iterator[Paths]:
    from moto import mock_aws

    from stepsaga.local import _moto

    _moto.install(fast=True)
    with mock_aws():
        yield Paths()


@pytest.fixture(autouse=True)
def stubber_routes(monkeypatch: pytest.MonkeyPatch, paths: Paths) -> list[str]:
    """The target (or URL) of every request moto's stubber routes itself: the slow path's HTTP layer."""
    from moto.core.botocore_stubber import BotocoreStubber

    routed: list[str] = []
    original = BotocoreStubber.process_request

    def counting(self: Any, request: Any) -> Any:
        routed.append(request.headers.get("X-Amz-Target", b"").decode() or request.url)
        return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", counting)
    paths.routes = routed
    return routed


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What a caller can observe of one call: the response, or the error's class, code, message, status and
    its whole response, or botocore's ParamValidationError text, or what else was raised; the ``date``
    header aside."""
    from botocore.exceptions import ClientError, ParamValidationError

    try:
        return ("ok", _without_date(call()))
    except ClientError as exc:
        return ("error", type(exc).__name__, str(exc), exc.operation_name, _without_date(exc.response))
    except ParamValidationError as exc:
        return ("param", str(exc))
    except Exception as exc:  # moto raising (a ValueError for some malformed expressions): the same on both paths
        return ("raised", type(exc).__name__, str(exc))


def _without_date(response: Any) -> Any:
    if isinstance(response, dict) and "ResponseMetadata" in response:
        response = dict(response)
        metadata = dict(response["ResponseMetadata"])
        metadata["HTTPHeaders"] = {k: v for k, v in metadata.get("HTTPHeaders", {}).items() if k != "date"}
        response["ResponseMetadata"] = metadata
    return response


def both(paths: Paths, run: Callable[[bool], list[Any]]) -> tuple[list[Any], list[Any]]:
    """``run(False)`` and ``run(True)``: every request the slow run's ``path()`` block sent through moto's HTTP
    layer, the fast run's block sent in-process, and none through the HTTP layer."""
    slow = run(False)
    (slow_routed, slow_answered) = paths.block
    fast = run(True)
    assert (slow_answered, paths.block) == (0, (0, slow_routed)), (slow_routed, slow_answered, paths.block)
    return slow, fast


def assert_same(slow: list[Any], fast: list[Any]) -> None:
    assert len(slow) == len(fast)
    for index, (s, f) in enumerate(zip(slow, fast)):
        assert f == s, f"call {index} differs"


# ---------------------------------------------------------------------------------------------------
# DynamoDB: generated operation sequences
# ---------------------------------------------------------------------------------------------------
T1, T2, MISSING = "Orders", "Lines", "NoSuchTable"
PKS = ["a", "b", "c"]
NAMES = ["n", "s", "l", "m", "ss", "ns", "bin", "flag", "g"]

_string = st.sampled_from(["", "x", "xy", "é", "a b", "0", "longer text value"])
_number = st.sampled_from(["0", "1", "-2", "3.5", "10", "1E+2", "0.001", "99999999999999999999"])
_bad_number = st.sampled_from(["abc", "", "1..2", "NaN"])


def _attribute_value(depth: int = 1) -> st.SearchStrategy[dict[str, Any]]:
    scalars = st.one_of(
        st.builds(lambda v: {"S": v}, _string),
        st.builds(lambda v: {"N": v}, _number),
        st.builds(lambda v: {"B": v}, st.sampled_from([b"", b"\x00\x01", b"bytes"])),
        st.builds(lambda v: {"BOOL": v}, st.booleans()),
        st.just({"NULL": True}),
        st.builds(lambda v: {"SS": v}, st.lists(_string, min_size=1, max_size=3, unique=True)),
        st.builds(lambda v: {"NS": v}, st.lists(st.sampled_from(["1", "2", "3.5"]), min_size=1, max_size=3, unique=True)),
        st.builds(lambda v: {"BS": v}, st.lists(st.sampled_from([b"a", b"b"]), min_size=1, max_size=2, unique=True)),
    )
    invalid = st.sampled_from([{"N": "abc"}, {"SS": []}, {"SS": ["a", "a"]}, {"NULL": False}, {}, {"S": "x", "N": "1"}])
    if depth == 0:
        return scalars
    nested = st.one_of(
        st.builds(lambda v: {"L": v}, st.lists(_attribute_value(depth - 1), max_size=3)),
        st.builds(lambda v: {"M": v}, st.dictionaries(st.sampled_from(["x", "y", "z"]), _attribute_value(depth - 1), max_size=2)),
    )
    return st.one_of(*[scalars] * 7, nested, nested, invalid)  # one in ten invalid


_value = _attribute_value()


def _key(table: str) -> st.SearchStrategy[dict[str, Any]]:
    pk = st.builds(lambda v: {"S": v}, st.sampled_from(PKS))
    if table == T1:
        good = st.builds(lambda p: {"pk": p}, pk)
    else:
        good = st.builds(lambda p, s: {"pk": p, "sk": {"N": s}}, pk, st.sampled_from(["1", "2", "3"]))
    bad = st.sampled_from([{"pk": {"N": "1"}}, {"other": {"S": "a"}}, {}, {"pk": {"S": ""}}])
    return st.one_of(*[good] * 6, bad)


_table = st.sampled_from([T1] * 4 + [T2] * 4 + [MISSING])


@st.composite
def _item(draw: Any, table: str) -> dict[str, Any]:
    item = dict(draw(_key(table)))
    for name in draw(st.lists(st.sampled_from(NAMES), max_size=4, unique=True)):
        item[name] = draw(_value) if name != "g" else {"S": draw(st.sampled_from(["g1", "g2"]))}
    return item


_CONDITIONS = [
    "attribute_exists(#a)", "attribute_not_exists(#a)", "attribute_not_exists(pk)", "attribute_exists(pk)",
    "#a = :v", "#a <> :v", "#a < :v", "#a >= :v", "begins_with(#a, :v)", "contains(#a, :v)", "size(#a) > :v",
    "attribute_type(#a, :v)", "#a BETWEEN :v AND :w", "#a IN (:v, :w)", "NOT attribute_exists(#a)",
    "attribute_exists(#a) AND #a <> :v", "(#a = :v) OR attribute_not_exists(#a)",
    # invalid ones: ValidationException with moto's own messages
    "#a ==", "attribute_exists()", "#a = :missing", "foo(#a)", "#a = :v AND", "#undefined = :v",
]
_UPDATES = [
    "SET #a = :v", "SET #a = #a + :v", "SET #a = #a - :v", "SET #a = if_not_exists(#a, :v)",
    "SET #a = list_append(#a, :v)", "SET #a = list_append(:v, :w)", "REMOVE #a", "ADD #a :v", "DELETE #a :v",
    "SET #a = :v REMOVE flag", "SET #a = :v, s = :w", "SET m.x = :v", "SET l[0] = :v", "REMOVE l[0]",
    # invalid ones
    "SET", "SET #a = :v, #a = :w", "REMOVE pk", "SET #a = :missing", "ADD #a", "SET #a = nofunc(:v)", "DELETE",
]


@st.composite
def _expression_parts(draw: Any, template: str) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    names = {"#a": draw(st.sampled_from(NAMES))} if "#a" in template else {}
    values = {p: draw(_value) for p in (":v", ":w") if p in template}
    if draw(st.integers(0, 19)) == 0:  # an unused placeholder: ValidationException
        names["#unused"] = "n"
    if draw(st.integers(0, 19)) == 0:
        values[":unused"] = {"N": "1"}
    if names:
        parts["ExpressionAttributeNames"] = names
    if values:
        parts["ExpressionAttributeValues"] = values
    return parts


def _with_condition(draw: Any, call: dict[str, Any]) -> dict[str, Any]:
    if draw(st.booleans()):
        condition = draw(st.sampled_from(_CONDITIONS))
        parts = draw(_expression_parts(condition))
        call["ConditionExpression"] = condition
        for key, mapping in parts.items():
            call.setdefault(key, {}).update(mapping)
    return call


@st.composite
def _ddb_call(draw: Any) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(["put", "put", "put", "get", "update", "update", "update", "delete", "transact", "transact", "transact_get",
                                 "batch_write", "batch_get", "query", "scan", "resource", "param"]))
    table = draw(_table)
    if kind == "put":
        call = {"TableName": table, "Item": draw(_item(table))}
        if draw(st.booleans()):
            call["ReturnValues"] = draw(st.sampled_from(["NONE", "ALL_OLD", "ALL_NEW"]))
        if draw(st.booleans()):
            call["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return "put_item", _with_condition(draw, call)
    if kind == "get":
        call = {"TableName": table, "Key": draw(_key(table)), "ConsistentRead": draw(st.booleans())}
        if draw(st.booleans()):
            call["ProjectionExpression"] = draw(st.sampled_from(["pk, #a", "#a", "m.x, l[0]", "#a,"]))
            call["ExpressionAttributeNames"] = {"#a": draw(st.sampled_from(NAMES))}
        return "get_item", call
    if kind == "update":
        update = draw(st.sampled_from(_UPDATES))
        call = {"TableName": table, "Key": draw(_key(table)), "UpdateExpression": update, **draw(_expression_parts(update))}
        if draw(st.booleans()):
            call["ReturnValues"] = draw(st.sampled_from(["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW", "BAD"]))
        return "update_item", _with_condition(draw, call)
    if kind == "delete":
        call = {"TableName": table, "Key": draw(_key(table))}
        if draw(st.booleans()):
            call["ReturnValues"] = draw(st.sampled_from(["NONE", "ALL_OLD"]))
        return "delete_item", _with_condition(draw, call)
    if kind == "transact":
        items = []
        for _ in range(draw(st.integers(1, 3))):
            target = draw(_table)
            op = draw(st.sampled_from(["Put", "Update", "Delete", "ConditionCheck"]))
            if op == "Put":
                body = {"TableName": target, "Item": draw(_item(target))}
            elif op == "Update":
                update = draw(st.sampled_from(_UPDATES[:10]))
                body = {"TableName": target, "Key": draw(_key(target)), "UpdateExpression": update, **draw(_expression_parts(update))}
            else:
                body = {"TableName": target, "Key": draw(_key(target))}
            body = _with_condition(draw, body)
            if op == "ConditionCheck" and "ConditionExpression" not in body:
                body["ConditionExpression"] = "attribute_exists(pk)"
            if draw(st.booleans()):
                body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            items.append({op: body})
        return "transact_write_items", {"TransactItems": items}
    if kind == "transact_get":
        return "transact_get_items", {"TransactItems": [{"Get": {"TableName": t, "Key": draw(_key(t))}}
                                                        for t in draw(st.lists(_table, min_size=1, max_size=3))]}
    if kind == "batch_write":
        requests = {}
        for target in draw(st.lists(_table, min_size=1, max_size=2, unique=True)):
            requests[target] = [
                {"PutRequest": {"Item": draw(_item(target))}} if draw(st.booleans()) else {"DeleteRequest": {"Key": draw(_key(target))}}
                for _ in range(draw(st.integers(1, 3)))
            ]
        return "batch_write_item", {"RequestItems": requests}
    if kind == "batch_get":
        return "batch_get_item", {"RequestItems": {t: {"Keys": [draw(_key(t)) for _ in range(draw(st.integers(1, 3)))]}
                                                   for t in draw(st.lists(_table, min_size=1, max_size=2, unique=True))}}
    if kind in ("query", "scan"):
        call: dict[str, Any] = {"TableName": table if kind == "scan" else draw(st.sampled_from([T2, T2, T1, MISSING]))}
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if kind == "query":
            index = draw(st.sampled_from([None, None, "ByG", "NoSuchIndex"]))
            if index:
                call["IndexName"] = index
                call["KeyConditionExpression"] = "g = :g"
                values[":g"] = {"S": draw(st.sampled_from(["g1", "g2"]))}
            else:
                call["KeyConditionExpression"] = draw(st.sampled_from(
                    ["pk = :p", "pk = :p AND sk > :s", "pk = :p AND sk BETWEEN :s AND :t", "pk = :p AND begins_with(sk, :s)",
                     "sk = :s", "pk > :p", "pk = :p AND"]))
                values[":p"] = {"S": draw(st.sampled_from(PKS))}
                for placeholder in (":s", ":t"):
                    if placeholder in call["KeyConditionExpression"]:
                        values[placeholder] = {"N": draw(st.sampled_from(["1", "2", "3"]))}
            call["ScanIndexForward"] = draw(st.booleans())
        if draw(st.booleans()):
            condition = draw(st.sampled_from(_CONDITIONS[4:12]))
            parts = draw(_expression_parts(condition))
            call["FilterExpression"] = condition
            names.update(parts.get("ExpressionAttributeNames", {}))
            values.update(parts.get("ExpressionAttributeValues", {}))
        if names:
            call["ExpressionAttributeNames"] = names
        if values:
            call["ExpressionAttributeValues"] = values
        if draw(st.booleans()):
            call["Limit"] = draw(st.integers(1, 3))
        if draw(st.integers(0, 4)) == 0:
            call["Select"] = draw(st.sampled_from(["COUNT", "ALL_ATTRIBUTES", "SPECIFIC_ATTRIBUTES"]))
        return kind, call
    if kind == "resource":
        return "resource", {"op": draw(st.sampled_from(["put", "update", "query", "scan", "get", "batch"])),
                            "pk": draw(st.sampled_from(PKS)), "n": draw(st.sampled_from([Decimal("1"), Decimal("2.5"), 3])),
                            "cond": draw(st.booleans())}
    # parameters botocore rejects before any request: the same ParamValidationError on both paths
    return draw(st.sampled_from([
        ("put_item", {"TableName": T1, "Item": {"pk": {"S": 1}}}),
        ("get_item", {"TableName": T1}),
        ("get_item", {"TableName": T1, "Key": "not a map"}),
        ("update_item", {"TableName": T1, "Key": {"pk": {"S": "a"}}, "ReturnValues": 7}),
        ("query", {"TableName": T2, "Limit": 0}),
        ("put_item", {"TableName": T1, "Item": {"pk": {"S": "a"}}, "Unknown": 1}),
    ]))


def _ddb_tables(paths: Paths) -> None:
    """Both tables empty and new: T1 keyed on pk, T2 on pk and a numeric sk with an index on g."""
    for name in (T1, T2):
        try:
            paths.ddb.delete_table(TableName=name)
        except paths.ddb.exceptions.ResourceNotFoundException:
            pass
    paths.ddb.create_table(TableName=T1, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    paths.ddb.create_table(
        TableName=T2,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in (("pk", "S"), ("sk", "N"), ("g", "S"))],
        GlobalSecondaryIndexes=[{"IndexName": "ByG", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST",
    )


def _ddb_run(paths: Paths, calls: list[tuple[str, dict[str, Any]]], fast: bool) -> list[Any]:
    _ddb_tables(paths)
    seen: list[Any] = []
    with paths.path(fast):
        for name, kwargs in calls:
            if name == "resource":
                seen.extend(_resource_call(paths, **kwargs))
            elif name in ("query", "scan"):
                seen.extend(_pages(getattr(paths.ddb, name), kwargs))
            else:
                seen.append(outcome(lambda: getattr(paths.ddb, name)(**kwargs)))
        for table in (T1, T2):  # the rows left, a page of one at a time (LastEvaluatedKey, ExclusiveStartKey)
            seen.extend(_pages(paths.ddb.scan, {"TableName": table, "Limit": 1}))
        seen.extend(_pages(paths.ddb.query, {"TableName": T2, "KeyConditionExpression": "pk = :p", "Limit": 1,
                                             "ExpressionAttributeValues": {":p": {"S": "a"}}, "ScanIndexForward": False}))
    # and read on the slow path: they are where the slow path finds them
    seen.extend(_pages(paths.ddb.scan, {"TableName": table}) for table in (T1, T2))
    return seen


def _pages(method: Callable[..., Any], kwargs: dict[str, Any]) -> list[Any]:
    """Every page of a query or scan, following LastEvaluatedKey (at most 20 pages)."""
    pages = []
    kwargs = dict(kwargs)
    for _ in range(20):
        page = outcome(lambda: method(**kwargs))
        pages.append(page)
        if page[0] != "ok" or "LastEvaluatedKey" not in page[1]:
            break
        kwargs["ExclusiveStartKey"] = page[1]["LastEvaluatedKey"]
    return pages


def _resource_call(paths: Paths, op: str, pk: str, n: Any, cond: bool) -> list[Any]:
    """The resource layer: TypeSerializer in, TypeDeserializer (Decimal, bytes, sets) out, condition builders."""
    from boto3.dynamodb.conditions import Attr, Key

    orders, lines = paths.resource.Table(T1), paths.resource.Table(T2)
    if op == "put":
        extra = {"ConditionExpression": Attr("pk").not_exists() | Attr("n").lt(n)} if cond else {}
        return [outcome(lambda: orders.put_item(Item={"pk": pk, "n": n, "tags": {"a", "b"}, "blob": b"\x00", "doc": {"k": [n, "v", None]}},
                                                ReturnValues="ALL_OLD", **extra))]
    if op == "update":
        extra = {"ConditionExpression": Attr("n").exists() & Attr("n").gte(0)} if cond else {}
        return [outcome(lambda: orders.update_item(Key={"pk": pk}, UpdateExpression="SET n = if_not_exists(n, :z) + :d ADD tags :t",
                                                   ExpressionAttributeValues={":z": 0, ":d": n, ":t": {"c"}}, ReturnValues="ALL_NEW", **extra))]
    if op == "query":
        condition = Key("pk").eq(pk) & (Key("sk").between(1, 3) if cond else Key("sk").gt(0))
        return [outcome(lambda: lines.query(KeyConditionExpression=condition, FilterExpression=Attr("n").exists() | Attr("s").begins_with("x")))]
    if op == "scan":
        return [outcome(lambda: orders.scan(FilterExpression=Attr("tags").contains("a") if cond else Attr("n").between(0, 10)))]
    if op == "get":
        return [outcome(lambda: orders.get_item(Key={"pk": pk}, ConsistentRead=cond))]

    def batch() -> dict[str, Any]:
        with lines.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as writer:
            for sk in (1, 2, 2):
                writer.put_item(Item={"pk": pk, "sk": sk, "n": n, "g": "g1"})
            writer.delete_item(Key={"pk": pk, "sk": 3})
        return {}

    return [outcome(batch)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(calls=st.lists(_ddb_call(), min_size=1, max_size=10))
@example(calls=[  # a transaction whose condition fails, with the old item returned, then one that succeeds
    ("put_item", {"TableName": T1, "Item": {"pk": {"S": "a"}, "n": {"N": "1"}, "bin": {"B": b"\x00"}}}),
    ("transact_write_items", {"TransactItems": [
        {"Update": {"TableName": T1, "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET n = n + :one",
                    "ConditionExpression": "n > :one", "ExpressionAttributeValues": {":one": {"N": "1"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Put": {"TableName": T2, "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}}]}),
    ("transact_write_items", {"TransactItems": [
        {"Update": {"TableName": T1, "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET n = n + :one",
                    "ConditionExpression": "n = :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Put": {"TableName": T2, "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(pk)"}}]}),
])
def test_dynamodb_sequences_agree(paths: Paths, calls: list[tuple[str, dict[str, Any]]]) -> None:
    assert_same(*both(paths, lambda fast: _ddb_run(paths, calls, fast)))


# ---------------------------------------------------------------------------------------------------
# SQS: generated operation sequences (what the runtime and the handlers use), a redrive policy
# ---------------------------------------------------------------------------------------------------
QUEUES = {"dlq": {}, "work": {}, "jobs.fifo": {"FifoQueue": "true", "ContentBasedDeduplication": "true"}}
_ACCOUNT = "123456789012"
_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/" + _ACCOUNT + "/{}"
_queue = st.sampled_from(["work"] * 6 + ["jobs.fifo"] * 2 + ["dlq", "missing"])
_TIMES = ("SentTimestamp", "ApproximateFirstReceiveTimestamp", "CreatedTimestamp", "LastModifiedTimestamp")


def _message_attributes(draw: Any) -> dict[str, Any]:
    choices = {
        "kind": {"DataType": "String", "StringValue": draw(st.sampled_from(["order", "é", ""]))},
        "n": {"DataType": "Number", "StringValue": draw(st.sampled_from(["1", "2.5", "x"]))},
        "bin": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    return {k: choices[k] for k in draw(st.lists(st.sampled_from(list(choices)), max_size=3, unique=True))}


@st.composite
def _sqs_call(draw: Any) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(["send", "send", "send", "send_batch", "receive", "receive", "receive", "receive", "delete", "delete_batch",
                                 "visibility", "visibility_batch", "attributes", "url", "purge", "list", "set_attributes",
                                 "sources"]))
    queue = draw(_queue)
    url = _QUEUE_URL.format(queue)
    fifo = {"MessageGroupId": draw(st.sampled_from(["g1", "g2"]))} if queue.endswith(".fifo") else {}
    if kind == "send":
        call = {"QueueUrl": url, "MessageBody": draw(st.sampled_from(["hello", "é ü", "x" * 30, "", "a&Action=PurgeQueue"])), **fifo}
        if draw(st.booleans()):
            call["MessageAttributes"] = _message_attributes(draw)
        if draw(st.integers(0, 9)) == 0:
            call["DelaySeconds"] = 901  # over the limit
        return "send_message", call
    if kind == "send_batch":
        ids = draw(st.lists(st.sampled_from(["m1", "m2", "m3"]), min_size=0, max_size=3))
        return "send_message_batch", {"QueueUrl": url, "Entries": [
            {"Id": i, "MessageBody": draw(st.sampled_from(["one", "two"])), **fifo} for i in ids]}
    if kind == "receive":
        call = {"QueueUrl": url, "MaxNumberOfMessages": draw(st.sampled_from([1, 2, 10, 11])), "WaitTimeSeconds": 0}
        visibility = draw(st.sampled_from([0, 0, 0, 30, None]))
        if visibility is not None:
            call["VisibilityTimeout"] = visibility
        call["AttributeNames"] = draw(st.sampled_from([["All"], ["ApproximateReceiveCount"], []]))
        call["MessageAttributeNames"] = draw(st.sampled_from([["All"], ["kind"], []]))
        if draw(st.booleans()):
            call["MessageSystemAttributeNames"] = ["SentTimestamp", "SenderId"]
        return "receive_message", call
    handle = draw(st.one_of(st.integers(0, 5), st.just("garbage")))
    if kind == "delete":
        return "delete_message", {"QueueUrl": url, "ReceiptHandle": handle}
    if kind == "delete_batch":
        return "delete_message_batch", {"QueueUrl": url, "Entries": [{"Id": f"d{i}", "ReceiptHandle": draw(st.integers(0, 5))}
                                                                       for i in range(draw(st.integers(0, 2)))]}
    if kind == "visibility":
        return "change_message_visibility", {"QueueUrl": url, "ReceiptHandle": handle,
                                             "VisibilityTimeout": draw(st.sampled_from([0, 10, 43201]))}
    if kind == "visibility_batch":
        return "change_message_visibility_batch", {"QueueUrl": url, "Entries": [
            {"Id": f"v{i}", "ReceiptHandle": draw(st.integers(0, 5)), "VisibilityTimeout": 0} for i in range(draw(st.integers(1, 2)))]}
    if kind == "attributes":
        return "get_queue_attributes", {"QueueUrl": url, "AttributeNames": draw(st.sampled_from(
            [["All"], ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"], ["RedrivePolicy"], ["Bogus"], []]))}
    if kind == "url":
        return "get_queue_url", {"QueueName": queue}
    if kind == "purge":
        return "purge_queue", {"QueueUrl": url}
    if kind == "list":
        return "list_queues", {"QueueNamePrefix": draw(st.sampled_from(["", "w", "jobs", "none"]))}
    if kind == "set_attributes":
        return "set_queue_attributes", {"QueueUrl": url, "Attributes": {"VisibilityTimeout": draw(st.sampled_from(["0", "30", "-1"]))}}
    return "list_dead_letter_source_queues", {"QueueUrl": _QUEUE_URL.format("dlq")}


def _sqs_queues(paths: Paths) -> None:
    """The three queues empty and new; ``work`` dead-letters to ``dlq`` after two receives."""
    for name in QUEUES:
        try:
            paths.sqs.delete_queue(QueueUrl=_QUEUE_URL.format(name))
        except paths.sqs.exceptions.QueueDoesNotExist:
            pass
    for name, attributes in QUEUES.items():
        if name == "work":
            attributes = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{_ACCOUNT}:dlq", "maxReceiveCount": 2})}
        paths.sqs.create_queue(QueueName=name, Attributes=attributes)


def _sqs_times(value: Any) -> Any:
    """The clock's values (send, receive and queue timestamps) as a placeholder: the two runs differ in them."""
    if isinstance(value, dict):
        return {k: "<time>" if k in _TIMES else _sqs_times(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_sqs_times(v) for v in value)
    return value


def _sqs_run(paths: Paths, calls: list[tuple[str, dict[str, Any]]], fast: bool) -> list[Any]:
    _sqs_queues(paths)
    handles: list[str] = []
    seen: list[Any] = []

    def handle(index: Any) -> str:
        return handles[index % len(handles)] if isinstance(index, int) and handles else "garbage"

    with paths.path(fast):
        for name, kwargs in calls:
            kwargs = json.loads(json.dumps(kwargs, default=lambda b: b.decode("latin-1")))  # a fresh copy
            if "ReceiptHandle" in kwargs:
                kwargs["ReceiptHandle"] = handle(kwargs["ReceiptHandle"])
            for entry in kwargs.get("Entries", []):
                if "ReceiptHandle" in entry:
                    entry["ReceiptHandle"] = handle(entry["ReceiptHandle"])
            for value in kwargs.get("MessageAttributes", {}).values():
                if "BinaryValue" in value:
                    value["BinaryValue"] = value["BinaryValue"].encode("latin-1")
            result = outcome(lambda: getattr(paths.sqs, name)(**kwargs))
            if result[0] == "ok":
                handles.extend(m["ReceiptHandle"] for m in result[1].get("Messages", []))
            seen.append(_sqs_times(result))
    for queue in QUEUES:  # what is left, made visible, read on the slow path
        seen.append(_sqs_times(outcome(lambda: paths.sqs.receive_message(
            QueueUrl=_QUEUE_URL.format(queue), MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"],
            MessageAttributeNames=["All"]))))
    return seen


_RECEIVE_AGAIN = ("receive_message", {"QueueUrl": _QUEUE_URL.format("work"), "MaxNumberOfMessages": 10, "VisibilityTimeout": 0,
                                      "AttributeNames": ["All"], "MessageAttributeNames": ["All"], "WaitTimeSeconds": 0})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(calls=st.lists(_sqs_call(), min_size=1, max_size=10))
@example(calls=[  # redrive: the third receive moves the message to the dead-letter queue
    ("send_message", {"QueueUrl": _QUEUE_URL.format("work"), "MessageBody": "once",
                      "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "order"}}}),
    _RECEIVE_AGAIN, _RECEIVE_AGAIN, _RECEIVE_AGAIN,
    ("list_dead_letter_source_queues", {"QueueUrl": _QUEUE_URL.format("dlq")}),
])
def test_sqs_sequences_agree(paths: Paths, calls: list[tuple[str, dict[str, Any]]]) -> None:
    assert_same(*both(paths, lambda fast: _sqs_run(paths, calls, fast)))


# ---------------------------------------------------------------------------------------------------
# Another account and region: moto reads both from the request (the credential scope, the access key)
# ---------------------------------------------------------------------------------------------------
def _elsewhere(paths: Paths, fast: bool) -> list[Any]:
    """A short DynamoDB and SQS sequence in eu-west-1, with credentials of a role assumed in another account."""
    import boto3

    role = paths.sts.assume_role(RoleArn="arn:aws:iam::210987654321:role/elsewhere", RoleSessionName="stepsaga")["Credentials"]
    keys = {"aws_access_key_id": role["AccessKeyId"], "aws_secret_access_key": role["SecretAccessKey"], "aws_session_token": role["SessionToken"]}
    ddb = boto3.client("dynamodb", region_name="eu-west-1", **keys)
    sqs = boto3.client("sqs", region_name="eu-west-1", **keys)
    for delete in (lambda: ddb.delete_table(TableName="Far"), lambda: sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="far")["QueueUrl"])):
        try:
            delete()
        except Exception:
            pass
    ddb.create_table(TableName="Far", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    with paths.path(fast):
        seen = [
            outcome(lambda: ddb.put_item(TableName="Far", Item={"pk": {"S": "x"}}, ReturnConsumedCapacity="TOTAL")),
            outcome(lambda: ddb.get_item(TableName="Far", Key={"pk": {"S": "x"}})),
            outcome(lambda: paths.ddb.get_item(TableName="Far", Key={"pk": {"S": "x"}})),  # not in the default account
            outcome(lambda: ddb.describe_contributor_insights(TableName="Far")),  # moto does not implement it
            outcome(lambda: sqs.create_queue(QueueName="far")),
            outcome(lambda: sqs.get_queue_url(QueueName="far")),
            outcome(lambda: sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="far")["QueueUrl"], MessageBody="b")),
            outcome(lambda: paths.sqs.get_queue_url(QueueName="far")),  # not in the default account's us-east-1
            outcome(lambda: sqs.list_queues()),
        ]
    # where the table's row and the queue's message are, read on the slow path
    seen += [outcome(lambda: ddb.scan(TableName="Far")), outcome(lambda: sqs.receive_message(QueueUrl=seen[5][1]["QueueUrl"]))]
    return seen


def test_another_account_and_region_agree(paths: Paths) -> None:
    slow, fast = both(paths, lambda fast: _elsewhere(paths, fast))
    assert_same(slow, fast)
    assert slow[5][1]["QueueUrl"] == "https://sqs.eu-west-1.amazonaws.com/210987654321/far"
    assert slow[2][0] == slow[7][0] == "error" and slow[3][:2] == ("raised", "NotImplementedError")


# ---------------------------------------------------------------------------------------------------
# The path is taken when on, and only then
# ---------------------------------------------------------------------------------------------------
def _calls(paths: Paths) -> None:
    paths.ddb.list_tables()
    paths.sqs.list_queues()
    paths.sts.get_caller_identity()


def test_the_path_is_taken_in_scope_for_dynamodb_and_sqs_only(paths: Paths, stubber_routes: list[str]) -> None:
    from stepsaga.local._moto import inprocess

    before = inprocess.answered[0]
    with inprocess.scope():
        _calls(paths)
    assert inprocess.answered[0] - before == 2
    assert stubber_routes == ["https://sts.us-east-1.amazonaws.com/"]  # STS keeps the slow path


def test_the_path_is_not_taken_outside_a_scope_with_the_switch_off_or_without_the_table(
        paths: Paths, stubber_routes: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from stepsaga.local import _moto
    from stepsaga.local._moto import inprocess

    before = inprocess.answered[0]
    _calls(paths)  # a user's own boto3 calls into moto: stock moto
    monkeypatch.setenv("STEPSAGA_AWS_INPROCESS", "0")
    with inprocess.scope():
        _calls(paths)
    monkeypatch.delenv("STEPSAGA_AWS_INPROCESS")
    _moto.install(fast=False)
    try:
        assert "inprocess" not in {table for table, _owner, _name in _moto.patches()}
        with inprocess.scope():
            _calls(paths)
    finally:
        _moto.install(fast=True)
    assert inprocess.answered[0] == before
    assert stubber_routes == ["DynamoDB_20120810.ListTables", "AmazonSQS.ListQueues", "https://sts.us-east-1.amazonaws.com/"] * 3


# ---------------------------------------------------------------------------------------------------
# The reference handlers: the order saga's failure matrix, in both modes, with the path on and off
# ---------------------------------------------------------------------------------------------------
def _scenarios() -> list[tuple[str, Any]]:
    from stepsaga.local import CrashAfter, Fail, Timeout
    from tests.functional.test_failure_matrix import COMPENSATIONS, action_faults

    found: list[tuple[str, Any]] = [("happy", None), ("too_many", None)]
    found += [(f"{step}-{kind}", {step: fault}) for step, kind, fault in action_faults()]
    for compensation in COMPENSATIONS:
        for kind, fault in (("error", Fail("RefundGatewayDown")), ("timeout", Timeout()), ("crash", CrashAfter())):
            found.append((f"{compensation}-{kind}", {"ReserveInventory": CrashAfter(), compensation: fault}))
    return found


SCENARIOS = _scenarios()
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MOTO_ID = re.compile(r"\b[A-Za-z0-9]{52}\b")  # moto's request ids
_ISO = re.compile(r"\d{4}-\d\d-\d\d[T ][\d:.]+(\+00:00|Z)?")
_TRACE = re.compile(r"root=1-[0-9a-f]{8}-[0-9a-f]{24}")
_EPOCH = re.compile(r"1\d{9}(\d{3})?(\.\d+)?")  # epoch seconds or milliseconds, as DynamoDB's N
# the MD5 of a repair record (its body, compared normalised, has ids and times)
_RANDOM_KEYS = frozenset({"timestamp", "Date", "stackTrace", "wall_seconds", "MD5OfMessageBody"})


class _Clouds:
    """One embedded cloud per mode and path, fed the same scenarios in the same order."""

    def __init__(self, stack: Any) -> None:
        from stepsaga.local import EmbeddedCloud, default_seed
        from workflows.order_saga import saga

        self.clouds = {
            (mode, fast): stack.enter_context(EmbeddedCloud(saga, seed=default_seed(saga, ROOT / "workflows" / "inputs"), root=ROOT, mode=mode))
            for mode in ("orchestration", "choreography") for fast in (False, True)
        }


@pytest.fixture(scope="module")
def order_clouds() -> Iterator[_Clouds]:
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield _Clouds(stack)


def _normalise(value: Any, cloud_id: str) -> Any:
    """What is random per run (ids, request ids, trace ids, the clock) and the cloud's own id, as placeholders."""
    if isinstance(value, dict):
        return {k: _normalise(v, cloud_id) for k, v in value.items() if k not in _RANDOM_KEYS}
    if isinstance(value, (list, tuple)):
        return [_normalise(v, cloud_id) for v in value]
    if isinstance(value, str):
        if value[:1] in "{[":
            try:
                return _normalise(json.loads(value), cloud_id)
            except ValueError:
                pass
        if _EPOCH.fullmatch(value):
            return "<epoch>"
        value = value.replace(cloud_id, "<cloud>")
        for pattern, placeholder in ((_TRACE, "<trace>"), (_UUID, "<uuid>"), (_MOTO_ID, "<request-id>"), (_ISO, "<time>")):
            value = pattern.sub(placeholder, value)
        return value
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and value > 1_000_000_000:
        return "<epoch>"
    return value


def _observe(cloud: Any, result: Any) -> dict[str, Any]:
    """The result as a user reads it, and every table's rows (the saga's, and a choreography's ledger and log)."""
    tables = {t.name: sorted(map(repr, _normalise(cloud.items(t.name), cloud.id))) for t in cloud.saga.tables}
    if cloud.mode == "choreography":
        ddb = cloud.client("dynamodb")
        for name in (cloud._choreography.ledger_name, cloud._choreography.log_name):
            rows = ddb.scan(TableName=name)["Items"]
            tables[name.replace(cloud.id, "<cloud>")] = sorted(map(repr, _normalise(rows, cloud.id)))
    observed = {"json": result.to_json(), "history": result.history, "tables": tables,
                "attempt_causes": [[a.cause for a in s.attempts] for s in result.states]}
    return _normalise(observed, cloud.id)


class _SeededRandom:
    """Stands in for ``random`` in stepsaga.local.choreography: the run's jitter draws are seeded."""

    @staticmethod
    def Random(seed: Any = None) -> Any:  # noqa: N802 (random.Random)
        import random

        return random.Random(7 if seed is None else seed)


@pytest.mark.parametrize(("scenario", "faults"), SCENARIOS, ids=[name for name, _ in SCENARIOS])
def test_the_order_saga_agrees_on_both_paths(order_clouds: _Clouds, stubber_routes: list[str], scenario: str, faults: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    from stepsaga.local import choreography
    from stepsaga.local._moto import inprocess
    from tests.functional.test_failure_matrix import ORDER

    monkeypatch.setattr(choreography, "random", _SeededRandom)
    order = dict(ORDER, order_id=f"ip-{scenario}")
    if scenario == "too_many":
        order["items"] = [{"sku": "LAMP-004", "quantity": 3, "unit_price": "20.00"}]
    for mode in ("orchestration", "choreography"):
        seen, requests = {}, {}
        for fast in (False, True):
            cloud = order_clouds.clouds[(mode, fast)]
            monkeypatch.setenv("STEPSAGA_AWS_INPROCESS", "1" if fast else "0")
            cloud.reseed()  # the stock back to the seed before each scenario
            random.seed(7)  # moto's JitterStrategy FULL draws from it
            routed, before = len(stubber_routes), inprocess.answered[0]
            result = cloud.run(order, faults, name=f"ip-{scenario}", allow_contract_violations=True)
            aws = [r for r in stubber_routes[routed:] if r.startswith(("DynamoDB_", "AmazonSQS."))]
            requests[fast] = (len(aws), inprocess.answered[0] - before)
            seen[fast] = _observe(cloud, result)
        # every DynamoDB and SQS request of the slow run went in-process in the fast one, and only those
        assert requests[True] == (0, requests[False][0]) and requests[False][1] == 0, (mode, requests)
        assert seen[True] == seen[False], (mode, _first_difference(seen[False], seen[True]))


def _first_difference(a: Any, b: Any, where: str = "") -> str:
    """Where two observations first differ, and how (for the failure message)."""
    if type(a) is not type(b) or not isinstance(a, (dict, list)):
        return f"{where}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{where}.{key}")
    else:
        for index, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{where}[{index}]")
        if len(a) != len(b):
            return f"{where}: {len(a)} items != {len(b)}"
    return where
