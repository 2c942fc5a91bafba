"""Local runtime benchmark: order-saga executions per second, fast path vs stock moto vs sfnx.testing.

Run from anywhere: ``.venv/bin/python bench/local_runtime.py`` (about five minutes; ``--no-long-session``
leaves out the long session, about two of them). Every column is
measured in the same run, in rounds: each round runs one batch of each column (in a rotating
order, so no column always follows the slow stock one), and the figures are medians over rounds.
All columns run the happy path of the order saga (4 steps; the compensations and dead letters are
in the definitions but not entered):

stock moto (the baseline)
    asl/order_saga.asl.json with its ``${...}`` placeholders filled with the ARNs of 7 Lambda
    functions created with boto3 (``create_function``, an IAM role, a zip) and a real SQS queue URL,
    in ``mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker":
    False}})``. Driven the documented way: ``create_state_machine``, ``start_execution``, polling
    ``describe_execution`` every POLL_SECONDS, then ``get_execution_history`` (history kept). Lambda
    is moto's Docker-less backend (moto/awslambda_simple): every invoke returns its own payload.
stepsaga fast path, stub handlers
    ``stepsaga.testing.run(saga, order, cloud=cloud)`` on an EmbeddedCloud, for the order saga
    with every action and compensation pointing to ``bench.local_runtime.stub``, which returns its
    event as moto's simple Lambda does. Time skipping on (the default), history built: every
    result's ``history`` is read. This is the like-for-like comparison with the baseline.
stepsaga fast path, real handlers
    the same call for workflows/order_saga.py itself: the real handlers against moto DynamoDB
    (pydantic, powertools, conditional writes, a transaction), with POWERTOOLS_LOG_LEVEL=WARNING as
    ``stepsaga run`` sets it. What users get; not comparable with the stubbed baseline.
sfnx.testing, stub tasks
    ``sfnx.testing.run`` on SFNX_SOURCE, the order saga written in sfnx's Python DSL and compiled by
    sfnx to JSONata-mode ASL (same steps, retriers, catchers, compensation chain and dead letters;
    the differences are listed in docs/local-runtime.md). Its tasks function echoes each Lambda
    payload. sfnx keeps no event history, only the states entered and the calls. Skipped, with a
    note, when sfnx is not installed (``pip install sfnx==3.1.0``; not a stepsaga dependency).

Also printed: stock moto with the Lambda invokes dispatched in-process (``EmbeddedCloud.run(...,
engine="stock")``, for reference), a check that the sfnx definition and the stepsaga ASL take the
same paths in 7 scenarios, the time-skipping proof: 60 s of retry backoff run on the virtual
clock, with its wall time; the engine alone (the stub-handler column); the long session: 2,000 runs
of the real-handler saga in one cloud, runs 1-100 against runs 1,901-2,000 (CPU time per run, RSS
after each window); a cloud start and a reset (bench/cloud_start.py); ``stepsaga run`` against
``python -c pass``; and bench/real_handlers.py's figures: the real handlers, happy and compensated,
against today's path (the code before issue 10), ending with ``real_handlers_speedup=<x>``. The last
line is always ``speedup_vs_moto=<x>``: stepsaga fast path with stub handlers over stock moto with
moto's stub Lambda, medians of the same run.
"""

from __future__ import annotations

import io
import json
import os
import re
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from typing import Any

from stepsaga.names import (
    PLACEHOLDER_PATTERN,
    asl_file_name,
    is_dead_letter_state,
    placeholder_state,
    referenced_state,
    substitution,
)

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
REGION = "us-east-1"

ROUNDS = 9
BATCH = {  # executions per batch (one batch of each column per round)
    "stock": 4,
    "stock_inproc": 4,
    "fast_stub": 100,
    "fast_real": 20,
    "sfnx": 40,
}
POLL_SECONDS = 0.01  # describe_execution polling interval of the baseline (0.002 makes stock slower: GIL)
GOAL_VS_STOCK = 50.0
LONG_SESSION = "--no-long-session" not in sys.argv  # the long-session figure adds about two minutes
LONG_SESSION_RUNS = 2000
LONG_SESSION_WINDOW = 100
# stock enough for every column and the long session (the seed in workflows/inputs runs out)
SEED = {"inventory": [
    {"pk": f"SKU#{sku}", "sku": sku, "available": 10**9} for sku in ("BOOK-001", "MUG-002", "PEN-003", "LAMP-004")
]}
# A code folder of its own under bench/ (the clouds below use root=bench/), imported as Lambda imports it.
STUB = "stub_lambda.echo.handler"


# The order saga in sfnx's DSL (compiled by sfnx.compiler.compile_source, never imported).
SFNX_SOURCE = '''
from sfnx import aws, context, state_machine


class InvalidOrder(Exception):
    pass


class PaymentDeclined(Exception):
    pass


class PaymentGatewayTimeout(Exception):
    pass


class OutOfStock(Exception):
    pass


class SagaCompensationFailed(Exception):
    pass


class Lambda:
    class ServiceException(Exception):
        pass

    class AWSLambdaException(Exception):
        pass

    class SdkClientException(Exception):
        pass

    class TooManyRequestsException(Exception):
        pass


TRANSIENT = {
    "ErrorEquals": [Lambda.ServiceException, Lambda.AWSLambdaException, Lambda.SdkClientException, Lambda.TooManyRequestsException],
    "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0, "JitterStrategy": "FULL",
}
GATEWAY = {"ErrorEquals": [PaymentGatewayTimeout], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0, "JitterStrategy": "FULL"}
RETRIABLE = {"ErrorEquals": [Exception], "IntervalSeconds": 2, "MaxAttempts": 5, "BackoffRate": 2.0, "MaxDelaySeconds": 30, "JitterStrategy": "FULL"}
COMPENSATION = [{"ErrorEquals": [Exception], "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0, "MaxDelaySeconds": 60, "JitterStrategy": "FULL"}]
DEAD_LETTER = [{"ErrorEquals": [Exception], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0, "JitterStrategy": "FULL"}]
ORDER = ["ReleaseInventory", "RefundPayment", "CancelOrder"]


def step(function, name, input, results, retry):
    return aws.optimized.lambda_.invoke(
        FunctionName=function,
        Payload={
            "saga_id": context["Execution"]["Name"],
            "step": name,
            "idempotency_key": context["Execution"]["Name"] + ":" + name,
            "input": input,
            "results": results,
        },
        timeout=60,
        retry=retry,
    )["Payload"]


def undo(function, name, undoes, input, results, error, pending):
    try:
        aws.optimized.lambda_.invoke(
            FunctionName=function,
            Payload={
                "saga_id": context["Execution"]["Name"],
                "step": name,
                "idempotency_key": context["Execution"]["Name"] + ":" + name,
                "input": input,
                "results": results,
                "compensates": undoes,
                "error": error,
            },
            timeout=60,
            retry=COMPENSATION,
        )
    except Exception as failure:
        aws.optimized.sqs.send_message(
            QueueUrl="${DeadLetterQueueUrl}",
            MessageBody={
                "kind": "CompensationFailed",
                "saga": "OrderSaga",
                "saga_id": context["Execution"]["Name"],
                "execution_arn": context["Execution"]["Id"],
                "failed_compensation": name,
                "input": input,
                "results": results,
                "error": error,
                "compensation_error": failure,
                "compensations_pending": pending,
            },
            retry=DEAD_LETTER,
        )
        raise SagaCompensationFailed(type(failure).__name__ + " while compensating " + type(error).__name__ + ": " + str(failure))


def cancel_order(input, results, error):
    undo("${CancelOrderFunctionArn}", "CancelOrder", "ValidateOrder", input, results, error, [])


def refund_payment(input, results, error):
    undo("${RefundPaymentFunctionArn}", "RefundPayment", "ProcessPayment", input, results, error, ["CancelOrder"])
    cancel_order(input, results, error)


def release_inventory(input, results, error):
    undo("${ReleaseInventoryFunctionArn}", "ReleaseInventory", "ReserveInventory", input, results, error, ["RefundPayment", "CancelOrder"])
    refund_payment(input, results, error)


@state_machine
def order_saga(input):
    """Place an order: validate it, take the payment, reserve the stock, then notify the customer."""
    try:
        validated = step("${ValidateOrderFunctionArn}", "ValidateOrder", input, {}, [TRANSIENT])
    except InvalidOrder:
        raise
    except Exception as error:
        cancel_order(input, {}, error)
        raise
    results = {"ValidateOrder": {"output": validated}}
    try:
        paid = step("${ProcessPaymentFunctionArn}", "ProcessPayment", input, results, [GATEWAY, TRANSIENT])
    except PaymentDeclined as error:
        cancel_order(input, results, error)
        raise
    except Exception as error:
        refund_payment(input, results, error)
        raise
    results = {**results, "ProcessPayment": {"output": paid}}
    try:
        reserved = step("${ReserveInventoryFunctionArn}", "ReserveInventory", input, results, [TRANSIENT])
    except OutOfStock as error:
        refund_payment(input, results, error)
        raise
    except Exception as error:
        release_inventory(input, results, error)
        raise
    results = {**results, "ReserveInventory": {"output": reserved}}
    try:
        notified = step("${SendNotificationFunctionArn}", "SendNotification", input, results, [TRANSIENT, RETRIABLE])
    except Exception as failure:
        aws.optimized.sqs.send_message(
            QueueUrl="${DeadLetterQueueUrl}",
            MessageBody={
                "kind": "StepFailed",
                "saga": "OrderSaga",
                "saga_id": context["Execution"]["Name"],
                "execution_arn": context["Execution"]["Id"],
                "step": "SendNotification",
                "input": input,
                "results": results,
                "error": failure,
            },
            retry=DEAD_LETTER,
        )
        return {"input": input, "results": results, "compensated": {}, "compensation_order": ORDER,
                "dead_lettered": {"SendNotification": failure}}
    return {"input": input, "results": {**results, "SendNotification": {"output": notified}}, "compensated": {},
            "compensation_order": ORDER}
'''

# (name, faults on stepsaga states) for the equivalence check of the sfnx definition
SCENARIOS: list[tuple[str, dict[str, str]]] = [
    ("happy path", {}),
    ("payment declined", {"ProcessPayment": "PaymentDeclined"}),
    ("out of stock", {"ReserveInventory": "OutOfStock"}),
    ("reserve crashes", {"ReserveInventory": "Boom"}),
    ("invalid order", {"ValidateOrder": "InvalidOrder"}),
    ("notification dead-lettered", {"SendNotification": "SmtpUnavailable"}),
    ("refund fails for good", {"ReserveInventory": "OutOfStock", "RefundPayment": "RefundGatewayDown"}),
]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def with_stub_handlers(saga: Any, name: str, **changes: Any) -> Any:
    """The saga with every action and compensation calling ``stub``, under another name, without tables.

    Tables are left out because the stub touches none: the stub cloud then creates no tables to fill.
    """
    steps = [
        s.replace(
            action=STUB,
            tables=(),
            compensation=s.compensation.replace(action=STUB, tables=()) if s.compensation else None,
        )
        for s in saga.steps
    ]
    return saga.replace(name=name, steps=steps, tables=(), **changes)


def strip_comments(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_comments(v) for k, v in value.items() if k != "Comment"}
    if isinstance(value, list):
        return [strip_comments(v) for v in value]
    return value


def without_ids(value: Any) -> Any:
    """Drop what names the execution (differs between runners by design)."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in ("saga_id", "idempotency_key")}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def rate(fn: Callable[[int], None], n: int) -> float:
    """Executions per second of n calls of fn(i)."""
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


class Stock:
    """The baseline: stock moto driven through boto3, Lambda answered by moto's simple backend."""

    def __init__(self, asl_text: str) -> None:
        import boto3

        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        iam = boto3.client("iam", region_name=REGION)
        lam = boto3.client("lambda", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        role = iam.create_role(
            RoleName="stock-order-saga",
            AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }),
        )["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("handler.py", "def handler(event, context):\n    return event\n")
        self.functions = []
        for placeholder in sorted(set(re.findall(PLACEHOLDER_PATTERN, asl_text))):
            if (state := placeholder_state(placeholder)) is not None:
                name = "StockOrderSaga-" + state
                value = lam.create_function(
                    FunctionName=name, Runtime="python3.11", Role=role, Handler="handler.handler",
                    Code={"ZipFile": code.getvalue()},
                )["FunctionArn"]
                self.functions.append(name)
            else:
                value = sqs.create_queue(QueueName="StockOrderSaga-dlq")["QueueUrl"]
            asl_text = asl_text.replace(substitution(placeholder), value)
        assert "${" not in asl_text, "an unfilled placeholder is left"
        self.arn = self.sfn.create_state_machine(name="StockOrderSaga", definition=asl_text, roleArn=role)["stateMachineArn"]
        self.runs = 0

    def run(self, input_json: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        self.runs += 1
        arn = self.sfn.start_execution(stateMachineArn=self.arn, name=f"stock-{self.runs:05d}", input=input_json)["executionArn"]
        while (described := self.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            time.sleep(POLL_SECONDS)
        events, kwargs = [], {"executionArn": arn, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return described, events
            kwargs["nextToken"] = page["nextToken"]


def sfnx_runner() -> tuple[Any, Any, Any, str] | str:
    """(definition, run, Failure, version), or why sfnx is not available."""
    try:
        import importlib.metadata

        from sfnx.compiler import compile_source
        from sfnx.testing import Failure, run
    except ImportError as exc:
        return f"sfnx is not importable ({exc}); pip install sfnx==3.1.0 to add the sfnx.testing column"
    (definition,) = compile_source(SFNX_SOURCE, "bench/local_runtime.py:SFNX_SOURCE").values()
    return definition, run, Failure, importlib.metadata.version("sfnx")


def sfnx_tasks(failure_cls: Any, faults: dict[str, str] | None = None) -> Callable[[Any], Any]:
    """A tasks function: Lambda invokes echo their payload (moto's stub); faults raise Failure."""
    faults = faults or {}

    def tasks(call: Any) -> Any:
        if call.resource == "arn:aws:states:::lambda:invoke":
            state = referenced_state(call.arguments["FunctionName"])
            if state in faults:
                raise failure_cls(faults[state], f"injected {faults[state]}")
            return {"ExecutedVersion": "$LATEST", "Payload": call.arguments["Payload"], "StatusCode": 200}
        return {"MessageId": "00000000-0000-0000-0000-000000000000", "MD5OfMessageBody": "0"}

    return tasks


def equivalence(cloud: Any, sfnx: tuple[Any, Any, Any, str], order: dict[str, Any]) -> list[str]:
    """Differences between the stepsaga ASL and the sfnx definition over SCENARIOS (empty: none)."""
    from stepsaga.testing import Fail

    definition, sfnx_run, failure_cls, _ = sfnx
    problems = []
    for title, faults in SCENARIOS:
        ours = cloud.run(order, {state: Fail(error) for state, error in faults.items()})
        theirs = sfnx_run(definition, order, sfnx_tasks(failure_cls, faults))
        a = (
            ours.status,
            ours.error,
            [c.state for c in ours.calls],
            sum(is_dead_letter_state(name) for name in ours.entered),
        )
        b = (
            "FAILED" if theirs.error else "SUCCEEDED",
            theirs.error,
            [referenced_state(c.arguments["FunctionName"]) for c in theirs.calls if c.resource.endswith("lambda:invoke")],
            sum(c.resource.endswith("sqs:sendMessage") for c in theirs.calls),
        )
        if a != b:
            problems.append(f"{title}: stepsaga {a} vs sfnx {b}")
        elif not faults and without_ids(ours.output) != without_ids(theirs.output):
            problems.append(f"{title}: the outputs differ")
    return problems


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def main() -> None:
    if REPO not in sys.path:
        sys.path.insert(0, REPO)  # workflows.order_saga and bench.local_runtime.stub
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # as `stepsaga run` does
    import moto
    from moto import mock_aws

    from stepsaga import Retry
    from stepsaga.testing import EmbeddedCloud, Fail, run
    from workflows.order_saga import saga

    with open(os.path.join(REPO, "workflows", "inputs", "order.json"), encoding="utf-8") as fh:
        order = json.load(fh)
    order_json = json.dumps(order)
    with open(os.path.join(REPO, "asl", asl_file_name(saga.name)), encoding="utf-8") as fh:
        committed_asl = fh.read()

    stub_saga = with_stub_handlers(saga, "OrderSagaStub")
    # 60 s of backoff, without jitter so it is exact: ProcessPayment retried after 20 s, then 40 s
    backoff_retry = Retry(["PaymentGatewayTimeout"], interval_seconds=20, max_attempts=2, backoff_rate=2.0)
    backoff_steps = [s.replace(retry=[backoff_retry]) if s.name == "ProcessPayment" else s for s in stub_saga.steps]
    backoff_saga = stub_saga.replace(name="OrderSagaBackoff", steps=backoff_steps)
    seed = SEED
    sfnx = sfnx_runner()

    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs, moto {moto.__version__}"
          + (f", sfnx {sfnx[3]}" if not isinstance(sfnx, str) else ""))
    print("order saga, happy path: BeginSaga, ValidateOrder, ProcessPayment, ReserveInventory, SendNotification, SagaSucceeded")

    same_asl = strip_comments(json.loads(to_asl_text(stub_saga).replace('"OrderSagaStub"', '"OrderSaga"'))) == strip_comments(
        json.loads(committed_asl)
    )
    print(f"stub saga compiles to asl/order_saga.asl.json (Comments and the saga name aside): {'yes' if same_asl else 'NO'}")

    mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
    mock.start()
    try:
        stock = Stock(committed_asl)
        with EmbeddedCloud(stub_saga, root=BENCH) as stub_cloud, EmbeddedCloud(backoff_saga, root=BENCH) as backoff_cloud, \
                EmbeddedCloud(saga, seed=seed, root=REPO) as real_cloud:
            # --- one execution of each, checked --------------------------------------------------
            described, events = stock.run(order_json)
            fast = run(stub_saga, order, cloud=stub_cloud)
            real = run(saga, dict(order, order_id="bench-warm"), cloud=real_cloud)
            assert described["status"] == fast.status == real.status == "SUCCEEDED", (described["status"], fast.status, real.status, real.error, real.cause)
            assert len(fast.history) == len(events), (len(fast.history), len(events))
            assert without_ids(json.loads(described["output"])) == without_ids(fast.output)
            print(f"history events per execution: stock {len(events)}, fast path {len(fast.history)} (stub) / {len(real.history)} (real)")

            if isinstance(sfnx, str):
                print(f"note: {sfnx}")
            else:
                problems = equivalence(stub_cloud, sfnx, order)
                verdict = "same calls, status, error and dead letters" + (", same output" if not problems else "")
                print(f"sfnx definition vs stepsaga ASL, {len(SCENARIOS)} scenarios: "
                      + ("; ".join(problems) if problems else verdict))

            # --- the columns ------------------------------------------------------------------------
            real_runs = [0]

            def stock_one(i: int) -> None:
                stock.run(order_json)

            def stock_inproc_one(i: int) -> None:
                result = stub_cloud.run(order, engine="stock")
                assert result.succeeded and result.history

            def fast_one(i: int) -> None:
                result = run(stub_saga, order, cloud=stub_cloud)
                assert result.succeeded and result.history

            def real_one(i: int) -> None:
                real_runs[0] += 1
                result = run(saga, dict(order, order_id=f"bench-{real_runs[0]:06d}"), cloud=real_cloud)
                assert result.succeeded and result.history, result.error

            columns: dict[str, Callable[[int], None]] = {
                "stock": stock_one,
                "stock_inproc": stock_inproc_one,
                "fast_stub": fast_one,
                "fast_real": real_one,
            }
            if not isinstance(sfnx, str):
                definition, sfnx_run, failure_cls, _ = sfnx
                echo = sfnx_tasks(failure_cls)

                def sfnx_one(i: int) -> None:
                    execution = sfnx_run(definition, order, echo)
                    assert execution.error is None and execution.states

                columns["sfnx"] = sfnx_one

            for name, fn in columns.items():  # warm-up
                for i in range(max(1, BATCH[name] // 10)):
                    fn(i)
            rates: dict[str, list[float]] = {name: [] for name in columns}
            names = list(columns)
            for r in range(ROUNDS):
                for name in names[r % len(names):] + names[: r % len(names)]:
                    rates[name].append(rate(columns[name], BATCH[name]))

            # --- time skipping ----------------------------------------------------------------------
            walls, skipped = [], None
            for _ in range(5):
                skipped = backoff_cloud.run(order, {"ProcessPayment": Fail("PaymentGatewayTimeout", attempts=2)})
                walls.append(skipped.wall_seconds)
            assert skipped is not None and skipped.succeeded and skipped.attempts("ProcessPayment") == 3
            waits = retry_waits(skipped)
    finally:
        mock.stop()
    session = long_session_in_a_new_process() if LONG_SESSION else []
    if BENCH not in sys.path:
        sys.path.insert(0, BENCH)
    import real_handlers  # bench/real_handlers.py

    real_lines = real_handlers.measure()  # this tree against today's path, in worker processes of their own
    clouds = cloud_figures()
    cli = cli_wall()

    # --- report ---------------------------------------------------------------------------------
    labels = {
        "stock": ("stock moto, moto's stub Lambda (baseline)", f"boto3 get_execution_history ({len(events)} events)"),
        "fast_stub": ("stepsaga fast path, stub handlers", f"SagaResult.history ({len(fast.history)} events)"),
        "fast_real": ("stepsaga fast path, real handlers + DynamoDB", f"SagaResult.history ({len(real.history)} events)"),
        "sfnx": ("sfnx.testing, stub tasks (JSONata ASL)", "none: states + calls only"),
        "stock_inproc": ("(ref.) stock moto, Lambda in-process", "boto3 get_execution_history"),
    }
    print(f"\n{ROUNDS} rounds; each round runs one batch of every column; exec/s = median over rounds")
    print(f"{'column':<46} {'batch':>5} {'exec/s':>8} {'min-max':>13} {'ms/exec':>8}  history")
    med = {name: statistics.median(values) for name, values in rates.items()}
    for name in ("stock", "fast_stub", "fast_real", "sfnx", "stock_inproc"):
        if name not in rates:
            print(f"{labels[name][0]:<46} {'-':>5} {'skipped':>8}")
            continue
        lo, hi = min(rates[name]), max(rates[name])
        print(f"{labels[name][0]:<46} {BATCH[name]:>5} {med[name]:>8.1f} {f'{lo:.1f}-{hi:.1f}':>13} {1000 / med[name]:>8.2f}  {labels[name][1]}")
    print(f"stock polls describe_execution every {POLL_SECONDS * 1000:.0f} ms; _moto's patches are installed but inert for it")

    print(f"\ntime skipping: ProcessPayment fails twice with PaymentGatewayTimeout, retried after "
          f"{' s and '.join(f'{w:g}' for w in waits)} s (no jitter): virtual {skipped.virtual_seconds:g} s, "
          f"wall {statistics.median(walls) * 1000:.1f} ms (median of {len(walls)}); stock moto would sleep {sum(waits):g} s")

    ratio = med["fast_stub"] / med["stock"]
    paired = [f / s for f, s in zip(rates["fast_stub"], rates["stock"])]
    print(f"\nfast path (stub) / stock moto (stub): {ratio:.2f}x (per-round ratios {min(paired):.1f}-{max(paired):.1f}); "
          f"goal >= {GOAL_VS_STOCK:g}x: {'met' if ratio >= GOAL_VS_STOCK else 'NOT met'}")
    print(f"fast path (real handlers) / stock moto (stub): {med['fast_real'] / med['stock']:.2f}x (not like for like: real work vs echo)")
    print(f"fast path (stub) / stock moto, Lambda in-process: {med['fast_stub'] / med['stock_inproc']:.2f}x")
    if "sfnx" in med:
        vs = med["fast_stub"] / med["sfnx"]
        print(f"fast path (stub) / sfnx.testing (stub): {vs:.2f}x; goal: beat sfnx.testing: {'met' if vs > 1 else 'NOT met'}")
    else:
        print("fast path (stub) / sfnx.testing: skipped (sfnx not installed)")
    print(f"engine alone (stub handlers, bench/stub_lambda): {med['fast_stub']:.1f} exec/s, {1000 / med['fast_stub']:.2f} ms per execution")
    for line in session:
        print(line)
    for line in clouds + cli + real_lines:
        print(line)
    print(f"speedup_vs_moto={ratio:.2f}")


CLOUD_SAMPLES = 5  # processes per figure of cloud_figures
CLI_SAMPLES = 7  # runs of each command in cli_wall


def cloud_figures() -> list[str]:
    """The order saga's cloud start (the first of the saga in a process, and a later one) and its reset, in
    milliseconds: medians over CLOUD_SAMPLES new processes of bench/cloud_start.py's measurement."""
    import subprocess

    runs = []
    for _ in range(CLOUD_SAMPLES):
        done = subprocess.run([sys.executable, os.path.join(BENCH, "cloud_start.py"), "--one", "orchestration"],
                              capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    first = statistics.median(r["first"][0] for r in runs) * 1000
    later = statistics.median(r["later"][0] for r in runs) * 1000
    reset = statistics.median(r["reset"][0] for r in runs) * 1000
    return [f"\ncloud (order saga, real handlers, seeded tables; wall ms, median of {CLOUD_SAMPLES} processes): first start "
            f"{first:.0f} ms, a later start {later:.0f} ms, EmbeddedCloud.reset() {reset:.2f} ms"]


def cli_wall() -> list[str]:
    """``stepsaga run`` of the order saga's happy path against ``python -c pass``: wall time, medians of
    CLI_SAMPLES runs each, alternating, and their ratio; with the parsed-ASL cache warm (a folder of its own,
    written by a first run) and with it off (``STEPSAGA_PROGRAM_CACHE=0``: every process parses the ASL)."""
    import subprocess
    import tempfile

    script = os.path.join(os.path.dirname(sys.executable), "stepsaga")
    command = [script] if os.path.exists(script) else [sys.executable, "-m", "stepsaga.cli"]
    run_cli = [*command, "run", os.path.join(REPO, "workflows", "order_saga.py"),
               "--input", "@" + os.path.join(REPO, "workflows", "inputs", "order.json")]
    with tempfile.TemporaryDirectory(prefix="stepsaga-bench-cache-") as cache:
        warm = dict(os.environ, STEPSAGA_CACHE_DIR=cache, STEPSAGA_PROGRAM_CACHE="1")
        cold = dict(warm, STEPSAGA_PROGRAM_CACHE="0")
        subprocess.run(run_cli, capture_output=True, check=True, env=warm)  # writes the cache
        walls: dict[str, list[float]] = {"cli": [], "cli, cache off": [], "python": []}
        for _ in range(CLI_SAMPLES):
            for name, argv, env in (("cli", run_cli, warm), ("cli, cache off", run_cli, cold),
                                    ("python", [sys.executable, "-c", "pass"], warm)):
                start = time.perf_counter()
                subprocess.run(argv, capture_output=True, check=True, env=env)
                walls[name].append(time.perf_counter() - start)
    cli, off, python = (statistics.median(walls[k]) * 1000 for k in ("cli", "cli, cache off", "python"))
    return [f"stepsaga run (order saga, happy path) {cli:.0f} ms wall against python -c pass {python:.0f} ms: "
            f"{cli / python:.0f}x (medians of {CLI_SAMPLES}); with the parsed-ASL cache off {off:.0f} ms ({off / python:.0f}x)"]


def rss_mb() -> float:
    """This process's resident set size in MB (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def long_session_in_a_new_process() -> list[str]:
    """long_session's lines, measured in a fresh interpreter: RSS then owes nothing to the other columns."""
    import subprocess

    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--long-session-only"],
                          capture_output=True, text=True, check=True)
    return done.stdout.rstrip("\n").split("\n")


def long_session_main() -> None:
    """Entry point of ``--long-session-only``: print long_session's lines."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from workflows.order_saga import saga

    with open(os.path.join(REPO, "workflows", "inputs", "order.json"), encoding="utf-8") as fh:
        order = json.load(fh)
    for line in long_session(saga, order, SEED):
        print(line)


def long_session(saga: Any, order: dict[str, Any], seed: dict[str, Any], runs: int = LONG_SESSION_RUNS) -> list[str]:
    """Runs 1-100 against the last 100 of ``runs`` in one cloud, real handlers: the cost of a run must not grow.

    Each run is a new order (ValidateOrder rejects a seen id), so the tables grow as they would. CPU time
    (time.process_time) is the figure, as other processes on a shared machine inflate wall time; wall time
    is printed next to it.
    """
    from stepsaga.testing import EmbeddedCloud, run

    windows: dict[int, tuple[float, float, float]] = {}  # first run of the window -> (cpu s, wall s, RSS MB after)
    starts = (1, runs - LONG_SESSION_WINDOW + 1)
    with EmbeddedCloud(saga, seed=seed, root=REPO) as cloud:
        cpu = wall = 0.0
        for i in range(1, runs + 1):
            if i in starts:
                cpu, wall = time.process_time(), time.perf_counter()
            result = run(saga, dict(order, order_id=f"long-{i:06d}"), cloud=cloud)
            assert result.succeeded, (i, result.error, result.cause)
            first = i - LONG_SESSION_WINDOW + 1
            if first in starts:
                windows[first] = (time.process_time() - cpu, time.perf_counter() - wall, rss_mb())
    (a_cpu, a_wall, a_rss), (b_cpu, b_wall, b_rss) = windows[starts[0]], windows[starts[1]]
    per = 1000 / LONG_SESSION_WINDOW
    return [
        f"\nlong session, one cloud, real handlers, {runs} runs (CPU ms per run; wall in brackets; RSS after the window):",
        f"  runs {starts[0]}-{LONG_SESSION_WINDOW}: {a_cpu * per:.1f} ms ({a_wall * per:.1f} ms), RSS {a_rss:.0f} MB",
        f"  runs {starts[1]}-{runs}: {b_cpu * per:.1f} ms ({b_wall * per:.1f} ms), RSS {b_rss:.0f} MB",
        f"  last/first CPU per run: {b_cpu / a_cpu:.2f} (goal: near 1); RSS +{(b_rss - a_rss) / (runs - LONG_SESSION_WINDOW) * 1024:.0f} KB per run"
        " (each execution's history stays readable, as on AWS)",
    ]


def to_asl_text(saga: Any) -> str:
    from stepsaga.orchestration import to_asl

    return to_asl(saga)


def retry_waits(result: Any) -> list[float]:
    """The virtual seconds waited before each retry of a run, in order."""
    return [a.waited for s in result.states for a in s.attempts if a.waited]


if __name__ == "__main__":
    if "--long-session-only" in sys.argv:
        long_session_main()
    else:
        main()
