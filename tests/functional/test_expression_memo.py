"""DynamoDB expressions parsed once (``stepsaga.local._moto.expressions``) give what parsing each time gives.

The generated DynamoDB sequences of ``test_inprocess_differential.py`` run with the memo (in-process path)
and without it (the slow path) and compare every response; here each piece is checked on its own: the memo
is used, a memoised tree is never changed by its use, its copy is the deep copy, a parse that fails fails
every time, and the memo stays off outside the in-process path.
"""

from __future__ import annotations

import contextlib
import copy
import enum
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stepsaga.local import _moto
from stepsaga.local._moto import expressions, inprocess

REGION = "us-east-1"
UPDATE = "SET #status = :s, updated_at = :now, history = list_append(if_not_exists(history, :empty), :h) REMOVE lease ADD n :one"
CONDITION = "attribute_exists(pk) AND (#status IN (:s, :t) OR n < :max)"


def structure(value: Any, seen: frozenset[int] = frozenset()) -> Any:
    """An object graph as nested plain data (types, attributes, items), to compare two graphs by value."""
    if isinstance(value, (str, int, float, bool, bytes, type(None), enum.Enum)):
        return value
    if id(value) in seen:
        return "<cycle>"
    seen = seen | {id(value)}
    if isinstance(value, dict):
        return {k: structure(v, seen) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, *(structure(v, seen) for v in value)]
    if hasattr(value, "__dict__"):
        return [type(value).__name__, structure(vars(value), seen)]
    return repr(value)


@pytest.fixture()
def ddb() -> Iterator[Any]:
    with mock_aws():
        _moto.install(fast=True)
        client = boto3.client("dynamodb", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        expressions.clear_caches()
        yield client


def update(client: Any, pk: str, status: str) -> Any:
    return client.update_item(
        TableName="t", Key={"pk": {"S": pk}}, UpdateExpression=UPDATE, ReturnValues="ALL_NEW",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":s": {"S": status}, ":now": {"N": "1"}, ":empty": {"L": []}, ":h": {"L": [{"S": status}]},
                                   ":one": {"N": "1"}},
    )["Attributes"]


def check(client: Any, pk: str, max_size: int) -> str:
    try:
        client.put_item(TableName="t", Item={"pk": {"S": pk}, "status": {"S": "x"}}, ConditionExpression=CONDITION,
                        ExpressionAttributeNames={"#status": "status"},
                        ExpressionAttributeValues={":s": {"S": "paid"}, ":t": {"S": "new"}, ":max": {"N": str(max_size)}})
        return "put"
    except client.exceptions.ConditionalCheckFailedException:
        return "ConditionalCheckFailed"


def test_the_memo_answers_repeated_expressions_as_parsing_does(ddb: Any) -> None:
    with inprocess.scope():
        before = list(expressions.hits)
        fast = [update(ddb, "a", s) for s in ("new", "paid", "paid")] + [check(ddb, pk, m) for pk, m in
                                                                      (("a", 1), ("a", 5), ("zz", 5), ("a", 1))]
        used = [after - b for after, b in zip(expressions.hits, before)]
    ddb.delete_item(TableName="t", Key={"pk": {"S": "a"}})
    ddb.delete_item(TableName="t", Key={"pk": {"S": "zz"}})
    slow = [update(ddb, "a", s) for s in ("new", "paid", "paid")] + [check(ddb, pk, m) for pk, m in
                                                                  (("a", 1), ("a", 5), ("zz", 5), ("a", 1))]
    assert fast == slow
    assert fast[3:] == ["put", "ConditionalCheckFailed", "ConditionalCheckFailed", "ConditionalCheckFailed"]
    # update trees: each UpdateItem parses its expression twice (response class, backend), 5 of 6 reused.
    # conditions: each call parses its condition twice too (an UpdateItem's is None, with its names and
    # values); of the puts' 8 parses, only the first of :max 1 and of :max 5 are new: 3 + 7 reused.
    # tree copies: the first UpdateItem validates twice (a new item, then the update), the others once;
    # the structural checks pass on the first copy and are skipped on the 3 after it
    assert used == [5, 10, 4, 3]


def test_a_memoised_update_tree_is_not_changed_by_its_use(ddb: Any) -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    with inprocess.scope():
        update(ddb, "a", "new")
        [tree] = [entry[0] for entry in expressions._PICKLES.values()]
        kept = structure(tree)
        for status in ("paid", "shipped", "new"):
            update(ddb, "a", status)
    assert structure(tree) == kept == structure(UpdateExpressionParser.make(UPDATE))


def test_the_copy_of_a_memoised_tree_is_its_deep_copy(ddb: Any) -> None:
    with inprocess.scope():
        update(ddb, "a", "new")
        [tree] = [entry[0] for entry in expressions._PICKLES.values()]
        token = inprocess._DISPATCHING.set(True)
        try:
            copied = expressions._deepcopy(tree)
        finally:
            inprocess._DISPATCHING.reset(token)
    assert copied is not tree and structure(copied) == structure(copy.deepcopy(tree))
    assert not any(a is b for a, b in zip(vars(copied).values(), vars(tree).values()) if not isinstance(a, (str, type(None))))


@pytest.mark.parametrize("bad", ["SET", "SET a = :v REMOVE", "SET a = = :v", "SET pk = :v", "SET a = :v, a = :v",
                                 "SET a = :v SET b = :v"])
def test_an_update_expression_that_fails_fails_every_time(ddb: Any, bad: str) -> None:
    errors = []
    for path in (True, True, False):
        with inprocess.scope() if path else contextlib.nullcontext():
            with pytest.raises(ddb.exceptions.ClientError) as raised:
                ddb.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression=bad,
                                ExpressionAttributeValues={":v": {"S": "x"}})
            errors.append(raised.value.response["Error"])
    assert errors[0] == errors[1] == errors[2] and errors[0]["Code"] == "ValidationException"


def test_a_condition_that_fails_to_parse_fails_every_time(ddb: Any) -> None:
    errors = []
    for path in (True, True, False):
        with inprocess.scope() if path else contextlib.nullcontext():
            with pytest.raises(Exception) as raised:  # noqa: PT011 - moto lets the parser's ValueError out
                ddb.put_item(TableName="t", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_exists(pk) AND")
            errors.append((type(raised.value), str(raised.value)))
    assert errors[0] == errors[1] == errors[2] and errors[0][0] is ValueError
    assert expressions._CONDITIONS == {}


def test_the_memo_is_off_outside_the_in_process_path(ddb: Any) -> None:
    before = list(expressions.hits)
    for status in ("new", "paid"):
        update(ddb, "a", status)
        check(ddb, "a", 5)
    assert expressions.hits == before and expressions._CONDITIONS == {} and expressions._PICKLES == {}
    assert expressions._update_tree.cache_info().currsize == 0


def test_the_structural_checks_are_skipped_only_for_the_names_they_passed_with(ddb: Any) -> None:
    # the same text passes with #k naming an attribute, then names the table's hash key: rejected every time
    def set_k(name: str) -> Any:
        try:
            ddb.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression="SET #k = :v",
                            ExpressionAttributeNames={"#k": name}, ExpressionAttributeValues={":v": {"S": "x"}})
            return "updated"
        except ddb.exceptions.ClientError as exc:
            return exc.response["Error"]["Message"]

    with inprocess.scope():
        fast = [set_k(name) for name in ("a", "a", "pk", "a", "pk")]
    slow = [set_k(name) for name in ("a", "a", "pk", "a", "pk")]
    assert fast == slow
    assert fast[:2] == ["updated", "updated"] and "pk" in fast[2] and fast[2] == fast[4] and fast[3] == "updated"


WALKED = [  # every kind of clause and operand the validator's processors replace or check
    ("SET a = :v, b.c = :v, l[0] = :v", {":v": {"S": "x"}}),
    ("SET n = if_not_exists(n, :z) + :one, l = list_append(if_not_exists(l, :empty), :h)",
     {":z": {"N": "0"}, ":one": {"N": "1"}, ":empty": {"L": []}, ":h": {"L": [{"S": "x"}]}}),
    ("SET n = n - :one REMOVE b.c, l[0] ADD s :set, m :one DELETE t :set",
     {":one": {"N": "1"}, ":set": {"SS": ["x"]}}),
    ("SET #a = :v, #b = #a", {":v": {"N": "3"}}),
    ("SET q = missing + :one", {":one": {"N": "1"}}),  # a path that is not there: rejected in the walk
]


def test_the_validator_walks_each_tree_as_moto_does_and_builds_each_map_once(ddb: Any, monkeypatch: Any) -> None:
    from moto.dynamodb.parsing import validators

    built = [0]
    original = validators.ExpressionAttributeValueProcessor._processing_map

    def counted(self: Any) -> Any:
        built[0] += 1
        return original(self)

    monkeypatch.setattr(validators.ExpressionAttributeValueProcessor, "_processing_map", counted)

    def run(fast: bool) -> tuple[list[Any], int]:
        built[0] = 0
        ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "b": {"M": {"c": {"S": "y"}}}, "l": {"L": [{"S": "z"}]},
                                          "n": {"N": "5"}, "t": {"SS": ["x", "w"]}})
        seen = []
        with inprocess.scope() if fast else contextlib.nullcontext():
            for text, values in WALKED:
                try:
                    seen.append(ddb.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression=text, ReturnValues="ALL_NEW",
                                                ExpressionAttributeValues=values,
                                                **({"ExpressionAttributeNames": {"#a": "a", "#b": "b2"}} if "#" in text else {}))["Attributes"])
                except ddb.exceptions.ClientError as exc:
                    seen.append(exc.response["Error"])
        return seen, built[0]

    slow, slow_maps = run(False)
    fast, fast_maps = run(True)
    assert fast == slow
    assert slow[-1]["Code"] == "ValidationException" and slow[0]["a"] == {"S": "x"}
    # one map per traversal on the in-process path (four of the five updates get that far, each validated once),
    # against moto's one per node visited and one more per value replaced
    assert fast_maps == 5 and slow_maps > 10 * fast_maps
