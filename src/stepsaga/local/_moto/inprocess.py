"""The in-process AWS path: a boto3 DynamoDB or SQS call of a run is answered by moto without the HTTP layer.

On the slow path a boto3 call goes through all of botocore (parameter events, validation, serialisation,
endpoint resolution, ``before-call``, ``request-created`` with SigV4 signing, ``before-send``, parsing,
``needs-retry``, ``after-call``), and moto answers at ``before-send``: its ``BotocoreStubber`` matches the URL
against every service's patterns, rebuilds the request as a werkzeug ``Request`` through a WSGI
``EnvironBuilder``, and its response class (``DynamoHandler``, ``SQSResponse``) parses the body, runs the
action and serialises the result, which botocore parses back. Every one of those steps still runs here,
except four, each replaced by something that gives the same result, far cheaper:

==========================  ========================================================================================
skipped                     instead
==========================  ========================================================================================
the SigV4 signature         ``SigV4Auth.add_auth`` sets every header it sets (date, token, ``Authorization`` with the
                            same credential scope and signed headers), but the signature itself is a fixed string:
                            moto reads the access key and the region from the header and checks no signature
                            (the path is off while moto's IAM authorisation is on, ``INITIAL_NO_AUTH_ACTION_COUNT``)
URL routing                 the stubber's first-match loop over every service's URL patterns
                            (``botocore_stubber.py:70-127``) is run once per URL and its answer kept
``EnvironBuilder``          the WSGI environ werkzeug's builder makes for a body-only ``POST /`` (``werkzeug/test.py
                            :671-750``, ``moto/core/request.py:77-112``) is built directly; other requests keep it
``inspect.getmembers``      ``call_action``'s ``action in method_names_from_class(cls)`` (``responses.py:457-459``)
                            asks the class for that one name, with ``getmembers``' own rules
the alias generator         moto's serialiser picks each output member of a plain ``dict`` result through its
                            alias providers (``serialize.py:1289-1334``): the keys they offer for a member shape
                            and a ``dict`` are computed once, then looked up in order as before
==========================  ========================================================================================

What stays: botocore's validation (``ParamValidationError`` for the same inputs), boto3's transforms (the
resource layer, ``TypeSerializer``/``TypeDeserializer``, condition builders, ``batch_writer``), every botocore
event and handler, moto's request parsing, its DynamoDB and SQS response classes and models (expressions,
conditions, transactions, visibility, redrive), its serialiser, botocore's parser and retries. The response is
botocore's parse of moto's body; an error is the ``ClientError`` subclass botocore raises for it.

When it applies: while ``scope()`` is active in the current context (the embedded cloud's own calls, its
runs and the handlers they invoke), for a DynamoDB or SQS client whose request moto's stubber would answer
(``mock_aws`` running, the stubber among the client's ``before-send`` handlers, a moto URL, no
passthrough), with moto's request recorder and IAM authorisation off. Anything else takes the slow path
untouched. ``install(fast=False)`` leaves this table off, and ``STEPSAGA_AWS_INPROCESS=0`` turns it off for
the runs that start while it is set.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.exceptions import NoCredentialsError
from botocore.utils import get_current_datetime
from moto import backend_index, settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core import botocore_stubber as _stubber_mod
from moto.core import responses as _responses_mod
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.base_backend import BackendDict
from moto.core.config import passthrough_service, passthrough_url, service_whitelisted
from moto.core.exceptions import HTTPException
from moto.core.models import botocore_stubber
from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY, Request, normalize_request
from moto.core.request import should_preserve_original_header_name, environ_key_for_header
from moto.core.responses import ActionResult
from moto.core.serialize import JSONSerializer
from moto.core.utils import get_equivalent_url_in_aws_domain
from moto.moto_api import recorder
from moto.sqs import models as _sqs_models

from stepsaga.local._moto import response_json
from stepsaga.local._moto.run import Patch

#: Set to ``0`` to run without the in-process path (runs started while it is set take the slow path).
INPROCESS_ENV: Final = "STEPSAGA_AWS_INPROCESS"
#: The services answered in-process; every other one keeps the slow path.
SERVICES: Final = frozenset({"dynamodb", "sqs"})
#: The signature of an in-process request: nobody checks it (moto's IAM authorisation turns the path off).
SIGNATURE: Final = "0" * 64

_SCOPE: contextvars.ContextVar[bool] = contextvars.ContextVar("stepsaga_aws_inprocess", default=False)


class _Call:
    """One API call taking the in-process path: its request context and where its attempt stands."""

    __slots__ = ("context", "signed")

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context
        self.signed = False  # the current attempt was signed the in-process way; the stubber answers it


_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("stepsaga_aws_call", default=None)
# set while moto's response class answers an in-process request: its two shortcuts apply
_DISPATCHING: contextvars.ContextVar[bool] = contextvars.ContextVar("stepsaga_aws_dispatching", default=False)

#: How many requests the in-process path took (the tests read it: the path must be used when on).
answered = [0]


@contextlib.contextmanager
def scope() -> Iterator[None]:
    """The in-process path for the block, in this context, unless ``STEPSAGA_AWS_INPROCESS`` is ``0``."""
    if os.environ.get(INPROCESS_ENV, "1") == "0":
        yield
        return
    token = _SCOPE.set(True)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def dispatching() -> bool:
    """Whether moto is answering a request that took the in-process path, in this context."""
    return _DISPATCHING.get()


def active() -> bool:
    """Whether the in-process path is on in this context (it also needs the table installed)."""
    return _SCOPE.get()


# ----------------------------------------------------------------------------------------------------
# botocore: which calls go in-process, and their signature
# ----------------------------------------------------------------------------------------------------
def _make_request(original: Callable[..., Any], self: BaseClient, operation_model: Any, request_dict: dict[str, Any],
                  request_context: dict[str, Any]) -> Any:
    # BaseClient._make_request (botocore/client.py:1098-1107) is reached after validation, serialisation,
    # endpoint resolution and before-call. The call object marks this call for the signer and the stubber;
    # a call that does not qualify shadows an outer one (a nested call never takes its mark).
    call = _Call(request_dict["context"]) if _qualifies(self, operation_model, request_dict) else None
    token = _CALL.set(call)
    try:
        return original(self, operation_model, request_dict, request_context)
    finally:
        _CALL.reset(token)


def _qualifies(client: BaseClient, operation_model: Any, request_dict: dict[str, Any]) -> bool:
    """Whether moto's stubber would answer this call, so that it may answer it in-process."""
    service_model = operation_model.service_model
    if service_model.service_name not in SERVICES or not botocore_stubber.enabled:
        return False
    if recorder._user_enabled:  # the recorder keeps each request's headers, the signature included
        return False
    if ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT:
        return False  # moto checks signatures from now on (authorization.py:40-63)
    route = _route(request_dict.get("url", ""))
    if route is None or passthrough_url(route.clean_url):
        return False
    # the stubber checks each service whose URL pattern matched, in order (botocore_stubber.py:85-92)
    if any(passthrough_service(s) or not service_whitelisted(s) for s in route.services):
        return False
    return _stubbed(client, f"before-send.{service_model.service_id.hyphenize()}.{operation_model.name}")


def _stubbed(client: BaseClient, event_name: str) -> bool:
    """Whether moto's stubber is among the client's handlers of ``event_name`` (else the request leaves)."""
    emitter = client.meta.events
    inner = getattr(emitter, "_emitter", emitter)  # EventAliaser -> HierarchicalEmitter
    try:
        handlers = inner._lookup_cache.get(event_name)
        if handlers is None:
            handlers = inner._handlers.prefix_search(event_name)
    except AttributeError:  # another botocore: no way to tell, so the slow path
        return False
    return any(handler is botocore_stubber for handler in handlers)


def _add_auth(original: Callable[..., None], self: SigV4Auth, request: Any) -> None:
    # SigV4Auth.add_auth (botocore/auth.py:431-447) without the canonical request, the string to sign and
    # the HMAC chain: the same headers, the Authorization header with a fixed signature.
    call = _CALL.get()
    if call is None or type(self) is not SigV4Auth or request.context is not call.context:
        return original(self, request)
    if self.credentials is None:
        raise NoCredentialsError()
    datetime_now = get_current_datetime()
    request.context["timestamp"] = datetime_now.strftime("%Y%m%dT%H%M%SZ")  # auth.py SIGV4_TIMESTAMP
    self._modify_request_before_signing(request)
    self._inject_signature_to_request(request, SIGNATURE)
    call.signed = True


# ----------------------------------------------------------------------------------------------------
# moto: the stubber's answer without routing or werkzeug's builder
# ----------------------------------------------------------------------------------------------------
def _stubber_call(original: Callable[..., Any], self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
    # BotocoreStubber.__call__ (botocore_stubber.py:35-45). A request signed the in-process way is answered
    # here whatever happens to ``enabled`` meanwhile: it must never reach the network.
    call = _CALL.get()
    if call is None or not call.signed:
        return original(self, event_name, request, **kwargs)
    call.signed = False
    answered[0] += 1
    route = _route(request.url)
    if route is None:  # a handler moved the request after it qualified: moto's own routing
        response = self.process_request(request)
        if response is None:
            raise RuntimeError(f"stepsaga's in-process AWS path: moto does not answer {request.url}, and the request is not signed")
    else:
        response = _dispatch(route, request)
    status, headers, body = response
    return AWSResponse(request.url, status, headers, _stubber_mod.MockRawResponse(body))


class _Route(NamedTuple):
    """Where moto's stubber sends a URL: the services whose URL pattern it matched, the last one answering."""

    clean_url: str
    services: tuple[str, ...]
    method: Callable[..., Any]


@functools.lru_cache(maxsize=256)
def _route(url: str) -> _Route | None:
    """BotocoreStubber.process_request's routing (botocore_stubber.py:70-127) for a URL, when it ends at the
    DynamoDB or SQS backend; None otherwise. The patterns and backend URLs are module constants."""
    import moto.backends as backends

    parsed_url, _ = get_equivalent_url_in_aws_domain(url)
    clean_url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
    services: list[str] = []
    for service, pattern in backend_index.backend_url_patterns:
        if pattern.match(clean_url):
            services.append(service)
            for backend_url, method_to_execute in _default_backend(backends.get_backend(service)).urls.items():
                if re.compile(backend_url).match(clean_url):
                    return _Route(clean_url, tuple(services), method_to_execute) if service in SERVICES else None
    return None


def _default_backend(backend_dict: Any) -> Any:
    # botocore_stubber.py:97-103
    if isinstance(backend_dict, BackendDict):
        if "us-east-1" in backend_dict[DEFAULT_ACCOUNT_ID]:
            return backend_dict[DEFAULT_ACCOUNT_ID]["us-east-1"]
        return backend_dict[DEFAULT_ACCOUNT_ID]["aws"]
    return backend_dict["global"]


def _dispatch(route: _Route, request: Any) -> tuple[int, Any, Any]:
    """The stubber's call of the response method (botocore_stubber.py:95-122), with the request built
    without EnvironBuilder; moto's own response class answers."""
    import moto.backends as backends

    for service in route.services:  # the stubber looks each backend up, which creates it after a reset
        _default_backend(backends.get_backend(service))
    normalized_request = _moto_request(request)
    token = _DISPATCHING.set(True)
    try:
        recorder._record_request(normalized_request)
        status, headers, body = route.method(normalized_request, normalized_request.raw_url, normalized_request.headers)
    except HTTPException as e:
        status = e.code
        headers = e.get_headers()
        body = e.get_body()
    finally:
        _DISPATCHING.reset(token)
    return status, headers, body


def _moto_request(request: Any) -> Request:
    """``normalize_request(request)`` (moto/core/request.py:141-152): the same environ, built directly for a
    ``POST`` of a body to ``https://<host>/`` (every JSON-protocol call); werkzeug's builder otherwise."""
    parts = urlsplit(request.url)
    body = request.body
    if (request.method != "POST" or parts.scheme != "https" or parts.path != "/" or parts.query or parts.fragment
            or parts.port is not None or parts.username is not None or not isinstance(body, bytes) or not body
            or not parts.hostname or parts.netloc != parts.hostname):
        return normalize_request(request)
    # Request.from_primitives (request.py:77-112), then EnvironBuilder.get_environ (werkzeug/test.py:671-750)
    header_items = [
        (key, value.decode("utf-8") if isinstance(value, bytes) else value)
        for key, value in request.headers.items()
        if key.lower() not in ["transfer-encoding"]
    ]
    content_type = None
    http: dict[str, list[str]] = {}
    for key, value in header_items:
        lowered = key.lower()
        if lowered == "content-type":
            if content_type is None:
                content_type = value
            continue
        if lowered == "content-length":
            continue
        http.setdefault(f"HTTP_{key.upper().replace('-', '_')}", []).append(value)
    host = parts.netloc
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "REQUEST_URI": "/",
        "RAW_URI": "/",
        "SERVER_NAME": host,
        "SERVER_PORT": "443",
        "HTTP_HOST": host,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    environ["CONTENT_LENGTH"] = str(len(body))
    for key, values in http.items():
        environ[key] = ", ".join(values)
    normalized = Request(environ)
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {
        environ_key_for_header(key): key for key, _ in header_items if should_preserve_original_header_name(key)
    }
    environ.setdefault("CONTENT_LENGTH", "0")
    return normalized


class _MethodNames:
    """``method_names_from_class(cls)`` (moto/core/utils.py:76-78) for ``in``: the names ``inspect.getmembers``
    would list with ``isfunction``, asked one at a time."""

    __slots__ = ("cls",)

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def __contains__(self, name: object) -> bool:
        # inspect._getmembers (inspect.py:550-590): each name of dir(cls) (the __dict__ of the class and its
        # bases), its value by getattr or, when that raises AttributeError, from the first __dict__ holding it
        owners = [klass for klass in self.cls.__mro__ if isinstance(name, str) and name in klass.__dict__]
        if not owners:
            return False
        try:
            value = getattr(self.cls, name)  # type: ignore[arg-type]
        except AttributeError:
            value = owners[0].__dict__[name]
        return inspect.isfunction(value)


def _method_names(original: Callable[[Any], list[str]], clazz: Any) -> Any:
    if _DISPATCHING.get() and isinstance(clazz, type):
        return _MethodNames(clazz)
    return original(clazz)


def _execute_result(original: Callable[..., Any], self: Any, context: Any) -> Any:
    # ActionResult.execute_result (moto/core/responses.py:99-117) for the JSON serialiser and plain data,
    # without the generic attribute picker (response_json); anything else is moto's serialiser's.
    if _DISPATCHING.get() and context.serializer_class is JSONSerializer:
        try:
            return response_json.body(self.result, context.operation_model, context.response)
        except Exception:  # Unsupported, or a conversion moto's serialiser would fail at too
            pass
    return original(self, context)


@functools.lru_cache(maxsize=4096)
def _underscored(original: Callable[[str], str], argument: str) -> str:
    return original(argument)


def _camelcase_to_underscores(original: Callable[[Any], Any], argument: Any) -> Any:
    # moto.core.utils.camelcase_to_underscores (utils.py:24-45) is a function of a string alone. SQS's
    # Queue.attributes (sqs/models.py:512-540) converts every attribute name on each call, and a receive
    # reads them once per message (is_message_valid_based_on_retention_period, :1279-1288): memoised here
    # while moto answers an in-process request.
    if _DISPATCHING.get() and type(argument) is str:
        return _underscored(original, argument)
    return original(argument)


def clear_caches() -> None:
    """Forget the routes and member keys (uninstall calls it)."""
    _route.cache_clear()
    _underscored.cache_clear()
    response_json.clear()


def _wrapping(replacement: Callable[..., Any]) -> Callable[[Any], Any]:
    return lambda original: functools.wraps(original)(functools.partial(replacement, original))


def _gated_make_request(original: Callable[..., Any]) -> Any:
    @functools.wraps(original)
    def patched(self: BaseClient, operation_model: Any, request_dict: dict[str, Any], request_context: dict[str, Any]) -> Any:
        if not _SCOPE.get():
            return original(self, operation_model, request_dict, request_context)
        return _make_request(original, self, operation_model, request_dict, request_context)

    return patched


def _method(replacement: Callable[..., Any]) -> Callable[[Any], Any]:
    def make(original: Callable[..., Any]) -> Any:
        @functools.wraps(original)
        def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
            return replacement(original, self, *args, **kwargs)

        return patched

    return make


PATCHES: Final[tuple[Patch, ...]] = (
    (BaseClient, "_make_request", _gated_make_request),
    (SigV4Auth, "add_auth", _method(_add_auth)),
    (type(botocore_stubber), "__call__", _method(_stubber_call)),
    (_responses_mod, "method_names_from_class", _wrapping(_method_names)),
    (ActionResult, "execute_result", _method(_execute_result)),
    *((module, "camelcase_to_underscores", _wrapping(_camelcase_to_underscores)) for module in (_responses_mod, _sqs_models)),
)
