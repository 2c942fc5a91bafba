"""Each shortcut of the in-process AWS path gives what the code it stands for gives.

``stepsaga.local._moto.inprocess`` replaces four pieces of moto's HTTP layer with cheaper ones; each is
checked here against the original, on the same inputs:

* the WSGI environ of a request (``_moto_request``) against ``normalize_request``, for the requests botocore
  really sends and for odd ones (duplicate, binary and preserved headers, other hosts);
* ``action in method_names_from_class(cls)`` (``_MethodNames``) for every name of moto's response classes and
  of a class with awkward attributes;
* the JSON body of a plain-data result (``response_json.body``) against moto's serialiser, on results
  generated for every output shape of DynamoDB and SQS (with alias keys, wrong types and ``None``s).

``test_inprocess_differential.py`` checks the whole path end to end.
"""

from __future__ import annotations

import datetime
import enum
import types
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}


# ---------------------------------------------------------------------------------------------------
# The request moto's response class reads
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sent() -> Iterator[list[Any]]:
    """The requests botocore sends for a few DynamoDB and SQS calls, as moto's stubber receives them."""
    import boto3
    from moto import mock_aws
    from moto.core.botocore_stubber import BotocoreStubber

    requests: list[Any] = []
    original = BotocoreStubber.process_request

    def keep(self: Any, request: Any) -> Any:
        requests.append(request)
        return original(self, request)

    with mock_aws():
        BotocoreStubber.process_request = keep  # type: ignore[method-assign]
        try:
            ddb = boto3.client("dynamodb", region_name=REGION, **CREDENTIALS)
            sqs = boto3.client("sqs", region_name="eu-west-1", **CREDENTIALS)
            ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
            ddb.put_item(TableName="t", Item={"pk": {"S": "é ü \u2603"}, "b": {"B": b"\x00\xff"}})
            ddb.list_tables()
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="a&b=c é", MessageAttributes={
                "k": {"DataType": "Binary", "BinaryValue": b"\x01"}})
        finally:
            BotocoreStubber.process_request = original  # type: ignore[method-assign]
        yield requests


def _odd_requests() -> list[Any]:
    from botocore.awsrequest import AWSPreparedRequest
    from botocore.compat import HTTPHeaders

    def request(url: str, headers: list[tuple[str, Any]], body: Any = b'{"TableName": "t"}', method: str = "POST") -> Any:
        h = HTTPHeaders()
        for key, value in headers:
            h[key] = value  # appends: a name may come twice
        return AWSPreparedRequest(method=method, url=url, headers=h, body=body, stream_output=False)

    base = [("X-Amz-Target", b"DynamoDB_20120810.ListTables"), ("Content-Type", b"application/x-amz-json-1.0")]
    return [
        request("https://dynamodb.us-east-1.amazonaws.com/", base + [("X-Dup", "a"), ("X-Dup", "b"), ("x-amz-meta-my_key", "v")]),
        request("https://dynamodb.us-east-1.amazonaws.com/", base + [("Transfer-Encoding", "chunked"), ("Content-Length", "99"),
                                                                     ("User-Agent", "é".encode())]),
        request("https://dynamodb.us-east-1.amazonaws.com/", [("X-Amz-Target", b"DynamoDB_20120810.ListTables")]),  # no content type
        request("https://dynamodb.us-east-1.amazonaws.com/", base, body=b""),
        request("https://dynamodb.us-east-1.amazonaws.com:8443/", base),
        request("http://dynamodb.us-east-1.amazonaws.com/", base),
        request("https://DynamoDB.us-east-1.amazonaws.com/", base),
        request("https://sqs.us-east-1.amazonaws.com/123456789012/q?Action=GetQueueUrl", base, method="GET", body=None),
        request("https://sqs.us-east-1.amazonaws.com/", [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                body=b"Action=ListQueues&Version=2012-11-05"),
    ]


def _observed(request: Any) -> dict[str, Any]:
    """What moto's response classes read of a request: its environ (the input's bytes) and the parsed views."""
    environ = dict(request.environ)
    body = request.get_data()
    environ["wsgi.input"] = type(environ["wsgi.input"]).__name__
    environ["werkzeug.request"] = type(environ["werkzeug.request"]).__name__
    return {
        "environ": environ, "keys": list(request.environ), "body": body, "form": request.form.to_dict(flat=False),
        "files": list(request.files), "headers": list(request.headers.items()), "raw_url": request.raw_url,
        "raw_path": request.raw_path, "path": request.path, "url": request.url, "method": request.method,
        "content_type": request.content_type, "content_encoding": request.content_encoding, "values": request.values.to_dict(flat=False),
        "host": request.host, "class": type(request),
    }


def test_the_request_environ_is_the_one_werkzeugs_builder_makes(sent: list[Any]) -> None:
    from moto.core.request import normalize_request

    from stepsaga.local._moto import inprocess

    requests = sent + _odd_requests()
    assert len(sent) >= 5
    for request in requests:
        assert _observed(inprocess._moto_request(request)) == _observed(normalize_request(request)), request.url


# ---------------------------------------------------------------------------------------------------
# call_action's method lookup
# ---------------------------------------------------------------------------------------------------
class _Awkward:
    def plain(self) -> None: ...

    @staticmethod
    def static() -> None: ...

    @classmethod
    def klass(cls) -> None: ...

    @property
    def prop(self) -> int:
        return 1

    @types.DynamicClassAttribute
    def dynamic(self) -> int:
        return 1

    class Raising:
        def __get__(self, obj: Any, owner: Any) -> Any:
            raise AttributeError("no")

    raising = Raising()
    value = 3
    lam = lambda self: None  # noqa: E731


class _Child(_Awkward):
    def plain(self) -> None: ...  # overrides

    lam = 4  # no longer a function


def test_method_names_answer_as_getmembers() -> None:
    from moto.core.utils import method_names_from_class
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    from stepsaga.local._moto.inprocess import _MethodNames

    for cls in (DynamoHandler, SQSResponse, _Awkward, _Child):
        listed = set(method_names_from_class(cls))
        names = set(dir(cls)) | {"missing", "", "put_item_x", "__nope__"}
        assert {name for name in names if name in _MethodNames(cls)} == listed & names, cls
        assert 5 not in _MethodNames(cls) and None not in _MethodNames(cls)


# ---------------------------------------------------------------------------------------------------
# The JSON body of a plain-data result
# ---------------------------------------------------------------------------------------------------
class _Colour(enum.Enum):
    RED = "red"
    ONE = 1


_LEAVES: dict[str, st.SearchStrategy[Any]] = {
    "string": st.one_of(st.text(max_size=5), st.integers(-3, 3), st.sampled_from([_Colour.RED, _Colour.ONE, True, 1.5])),
    "integer": st.one_of(st.integers(-5, 5), st.sampled_from(["7", 2.9, True, "x"])),
    "long": st.one_of(st.integers(-(10**12), 10**12), st.just("12")),
    "float": st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=32), st.integers(-3, 3), st.just("1.5")),
    "double": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.just("x")),
    "boolean": st.one_of(st.booleans(), st.sampled_from(["true", 0, 1])),
    "blob": st.one_of(st.binary(max_size=4), st.text(max_size=3), st.just(bytearray(b"x"))),
    "timestamp": st.one_of(
        st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2030, 1, 1)),
        st.integers(0, 2_000_000_000), st.floats(0, 2e9), st.just("2024-01-01T00:00:00Z")),
}


def _for_shape(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    odd = st.sampled_from([None, {}, [], (1,), "s"])
    if shape.type_name == "structure":
        if depth > 3 or shape.is_document_type:
            return st.one_of(st.none(), st.fixed_dictionaries({}))
        from botocore import xform_name

        members = list(shape.members.items())[:12]

        @st.composite
        def structure(draw: Any) -> Any:
            out: dict[str, Any] = {}
            for name, member in members:
                if not draw(st.booleans()):
                    continue
                # the keys moto's alias providers look for besides the member's own name
                key = draw(st.sampled_from([name, name, xform_name(name), member.name, f"{shape.name}{name}"]))
                out[key] = draw(st.one_of(_for_shape(member, depth + 1), odd) if draw(st.integers(0, 9)) == 0 else _for_shape(member, depth + 1))
            return out if draw(st.integers(0, 14)) else draw(st.sampled_from([None, [1], "x"]))

        return structure()
    if shape.type_name == "list":
        return st.one_of(st.lists(_for_shape(shape.member, depth + 1), max_size=3), st.tuples(_for_shape(shape.member, depth + 1)))
    if shape.type_name == "map":
        return st.dictionaries(st.one_of(st.text(max_size=3), st.integers(0, 2)), st.one_of(_for_shape(shape.value, depth + 1), st.none()), max_size=3)
    return st.one_of(_LEAVES.get(shape.type_name, st.none()), st.none())


# The operations the runtime and the reference handlers call, drawn more often than the rest.
_USED = [("dynamodb", name) for name in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "TransactWriteItems",
                                         "TransactGetItems", "BatchWriteItem", "BatchGetItem", "CreateTable", "DescribeTable")]
_USED += [("sqs", name) for name in ("SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessageBatch", "GetQueueAttributes",
                                     "ChangeMessageVisibilityBatch", "CreateQueue", "ListQueues")]


def _operations() -> list[tuple[str, str]]:
    from moto.core.utils import get_service_model

    return [(service, name) for service in ("dynamodb", "sqs") for name in get_service_model(service).operation_names] + _USED * 8


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), operation=st.sampled_from(_operations()))
def test_a_plain_result_serialises_as_moto_serialises_it(data: Any, operation: tuple[str, str]) -> None:
    from moto.core.responses import ActionContext, ActionResult
    from moto.core.serialize import JSONSerializer
    from moto.core.utils import get_service_model
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    from stepsaga.local._moto import response_json

    service, name = operation
    service_model = get_service_model(service)
    operation_model = service_model.operation_model(name)
    response = (DynamoHandler if service == "dynamodb" else SQSResponse)()
    shape = operation_model.output_shape
    result = data.draw(_for_shape(shape) if shape is not None else st.none())
    try:
        fast = response_json.body(result, operation_model, response)
    except Exception:
        fast = None  # moto's serialiser answers it: nothing to compare
    try:
        stock = ActionResult(result).execute_result(ActionContext(service_model, operation_model, JSONSerializer, response))
    except Exception as exc:
        assert fast is None, f"moto's serialiser raises {exc!r} where the fast one answered {fast}"
        return
    if fast is not None:
        assert fast == stock


def test_most_results_take_the_fast_serialiser() -> None:
    """A DynamoDB item and an SQS receive, as moto's handlers return them, are not left to moto's serialiser."""
    from moto.core.utils import get_service_model
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    from stepsaga.local._moto import response_json

    item = {"Item": {"pk": {"S": "a"}, "n": {"N": "1"}, "b": {"B": b"\x00"}, "l": {"L": [{"NULL": True}, {"SS": ["x"]}]}}}
    messages = {"Messages": [{"MessageId": "m", "ReceiptHandle": "r", "MD5OfBody": "d", "Body": "b", "Attributes": {"SentTimestamp": "1"},
                              "MessageAttributes": {"k": {"DataType": "Binary", "BinaryValue": b"\x01"}}}]}
    for service, name, result, response in (("dynamodb", "GetItem", item, DynamoHandler()), ("sqs", "ReceiveMessage", messages, SQSResponse())):
        status, headers, body = response_json.body(result, get_service_model(service).operation_model(name), response)
        assert status == 200 and headers == {"Content-Type": "application/x-amz-json-1.0"} and body.startswith("{")
