"""Lambda invocation: a Lambda task's call shaped for a dispatcher, and its answer shaped as Lambda's.

One patch: ``lambda_eval_utils.execute_lambda_function_integration`` (both ``lambda:invoke`` and legacy
function-ARN resources look it up at call time). During an inline run, and for stock executions under
``lambda_only``, it builds an ``Invocation`` and a ``LambdaContext``, calls the dispatcher, and turns its
result or exception into what Step Functions reports: the full ``lambda:invoke`` response, a function error
with the AWS Python runtime's payload, Lambda's own ``Sandbox.Timedout``/``Runtime.ExitError`` payloads, a
``Lambda.<Code>`` service error, or ``States.Timeout``.
"""

from __future__ import annotations

import email.utils
import functools
import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any, Final

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.eval.environment import Environment

from stepsaga.lambda_errors import (
    exited_message,
    function_error_payload,
    platform_error_payload,
    runtime_json,
    stack_trace,
    timed_out_message,
)
from stepsaga.local._moto.run import ACTIVE, DEFAULT_TASK_TIMEOUT_S, LAMBDA_ONLY, TIMEOUT_ATTR, Patch, advance, state_name
from stepsaga.local.engine import (
    MAX_FUNCTION_TIMEOUT_S,
    Dispatcher,
    FunctionError,
    FunctionTimedOut,
    Invocation,
    LambdaContext,
    LambdaServiceError,
    RuntimeExited,
    TaskTimedOut,
    new_log_stream,
)

# stepsaga/local/: the local runtime's own frames, left out of stack traces as the Lambda bootstrap's are
_LOCAL_DIR: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _parse_function_name(function_name: str) -> tuple[str, str | None]:
    # "name", "name:qualifier", "123456789012:function:name[:q]", "arn:aws:lambda:r:a:function:name[:q]"
    if ":function:" in function_name:
        function_name = function_name.split(":function:", 1)[1]
    name, _, qualifier = function_name.partition(":")
    return name, qualifier or None


def _stack_trace(exc: BaseException) -> list[str]:
    # Like the AWS Python runtime: the handler's frames; the local runtime's own frames (this package) are
    # left out, as the Lambda bootstrap's are.
    return stack_trace(exc, _LOCAL_DIR)


def _function_error(error_type: str, message: str, request_id: str, stack: list[str]) -> Exception:
    # Lambda returns the runtime's error text as the invoke's Payload and Step Functions uses it as the Cause.
    # moto's own error path raises the same exception (lambda_eval_utils.py:101-105); the states' _from_error
    # turn it into Error=errorType, Cause=payload (state_task_service_lambda.py:72-101).
    return lambda_eval_utils.LambdaFunctionErrorException("Unhandled", function_error_payload(error_type, message, request_id, stack))


def _platform_error(error_type: str, message: str) -> Exception:
    return lambda_eval_utils.LambdaFunctionErrorException("Unhandled", platform_error_payload(error_type, message))


def _service_error(exc: LambdaServiceError, request_id: str) -> ClientError:
    # Same ClientError shape botocore raises; StateTaskServiceLambda._error_cause_from_client_error
    # (state_task_service_lambda.py:56-70) turns it into Error "Lambda.<code>" with the AWS-style Cause.
    return ClientError(
        {
            "Error": {"Code": exc.code, "Message": exc.message},
            "ResponseMetadata": {"HTTPStatusCode": exc.status_code, "RequestId": request_id},
        },
        "Invoke",
    )


_DATE: tuple[int, str] = (-1, "")  # the last second asked for, and its HTTP date


def _http_date(now: float) -> str:
    # email.utils.formatdate(now, usegmt=True) reads only the whole second; made once per second
    global _DATE
    second, text = _DATE  # one read: another thread may replace it
    if second != int(now):
        second = int(now)
        text = email.utils.formatdate(second, usegmt=True)
        _DATE = (second, text)
    return text


def _invoke_response(payload: Any, payload_text: str, request_id: str, version: str) -> dict[str, Any]:
    # The full lambda:invoke result as Step Functions returns it on AWS.
    length = str(len(payload_text.encode("utf-8")))
    now = time.time()
    date = _http_date(now)
    trace = f"root=1-{int(now):08x}-{uuid.uuid4().hex[:24]};sampled=0"
    return {
        "ExecutedVersion": version,
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": [version],
                "x-amzn-Remapped-Content-Length": ["0"],
                "Connection": ["keep-alive"],
                "x-amzn-RequestId": [request_id],
                "Content-Length": [length],
                "Date": [date],
                "X-Amzn-Trace-Id": [trace],
                "Content-Type": ["application/json"],
            },
            "HttpHeaders": {
                "Connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/json",
                "Date": date,
                "X-Amz-Executed-Version": version,
                "x-amzn-Remapped-Content-Length": "0",
                "x-amzn-RequestId": request_id,
                "X-Amzn-Trace-Id": trace,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


_LOG_STREAMS: dict[tuple[str, str], str] = {}


def _dispatch_lambda(
    dispatcher: Dispatcher, env: Environment, parameters: dict[str, Any], region: str, inline: bool
) -> None:
    """Replacement body of lambda_eval_utils.execute_lambda_function_integration (lambda_eval_utils.py:91-110)."""
    request_id = str(uuid.uuid4())
    raw_name = str(parameters["FunctionName"])
    name, qualifier = _parse_function_name(raw_name)
    qualifier = qualifier or parameters.get("Qualifier")
    account = env.aws_execution_details.account
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}" + (f":{qualifier}" if qualifier else "")
    version = qualifier if qualifier and qualifier.isdigit() else "$LATEST"
    timeout = getattr(env, TIMEOUT_ATTR, None)
    raw_payload = parameters.get("Payload")  # bytes after lambda_eval_utils.to_payload_type
    invocation = Invocation(
        function_name=name,
        payload=json.loads(raw_payload) if raw_payload else {},
        state_name=state_name(env) or "",
        timeout_seconds=timeout,
        qualifier=qualifier,
    )
    log_stream = _LOG_STREAMS.get((name, version))
    if log_stream is None:  # one per function version, like a warm execution environment
        log_stream = _LOG_STREAMS[(name, version)] = new_log_stream(version)
    context = LambdaContext(
        function_name=name,
        invoked_function_arn=arn,
        aws_request_id=request_id,
        function_version=version,
        timeout_seconds=min(timeout or MAX_FUNCTION_TIMEOUT_S, MAX_FUNCTION_TIMEOUT_S),
        log_stream_name=log_stream,
    )
    try:
        result = dispatcher(invocation, context)
    except TaskTimedOut:
        if inline:
            advance(env, timeout if timeout is not None else DEFAULT_TASK_TIMEOUT_S, "timeout")
        # a TimeoutError is what the stock per-attempt wait raises (execute_state.py:211-212); the task
        # states turn it into States.Timeout with a TaskTimedOut event (state_task.py:93-96)
        raise EvalTimeoutError() from None
    except FunctionTimedOut as exc:
        seconds = exc.seconds if exc.seconds is not None else context._timeout_seconds
        if timeout is not None and seconds > timeout:  # the Task gives up first: States.Timeout
            if inline:
                advance(env, timeout, "timeout")
            raise EvalTimeoutError() from None
        if inline:
            advance(env, seconds, "function_timeout")
        raise _platform_error("Sandbox.Timedout", timed_out_message(request_id, seconds)) from None
    except RuntimeExited as exc:
        raise _platform_error("Runtime.ExitError", exited_message(request_id, exc.status)) from None
    except LambdaServiceError as exc:
        raise _service_error(exc, request_id) from None
    except FunctionError as exc:
        raise _function_error(exc.error_type, exc.message, request_id, exc.stack_trace) from None
    except Exception as exc:  # noqa: BLE001 - every handler exception is a Lambda function error
        raise _function_error(type(exc).__name__, str(exc), request_id, _stack_trace(exc)) from None
    try:  # Lambda returns the JSON the runtime serialised
        payload_text = runtime_json(result)
    except (TypeError, ValueError) as exc:
        raise _function_error("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id, []) from None
    env.stack.append(_invoke_response(json.loads(payload_text), payload_text, request_id, version))


def _lambda_integration(
    original: Callable[..., None], env: Environment, parameters: dict[str, Any], region: str, state_credentials: Any
) -> None:
    # lambda_eval_utils.py:91 execute_lambda_function_integration; both StateTaskServiceLambda
    # (state_task_service_lambda.py:128) and the legacy StateTaskLambda (state_task_lambda.py:167) look it
    # up on the module at call time, so this one hook covers both resource styles.
    run = ACTIVE.get()
    dispatcher = run.dispatcher if run is not None else (LAMBDA_ONLY[-1] if LAMBDA_ONLY else None)
    if dispatcher is None or env.is_mocked_mode():
        return original(env=env, parameters=parameters, region=region, state_credentials=state_credentials)
    _dispatch_lambda(dispatcher, env, parameters, region, inline=run is not None)


#: Not gated by ACTIVE alone: lambda_only() routes stock executions' invokes too.
PATCHES: Final[tuple[Patch, ...]] = (
    (
        lambda_eval_utils,
        "execute_lambda_function_integration",
        lambda original: functools.wraps(original)(functools.partial(_lambda_integration, original)),
    ),
)
