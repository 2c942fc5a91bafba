"""The embedded cloud: moto with the saga's tables, queue and state machine, Lambdas in-process."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from stepsaga.errors import StepsagaError
from stepsaga.local import _moto
from stepsaga.local.dispatch import Dispatcher
from stepsaga.local.faults import Fault, normalise
from stepsaga.local.quotas import check_start_execution, input_text
from stepsaga.local.result import SagaResult, build_result
from stepsaga.model import Saga
from stepsaga.orchestration import DLQ_PLACEHOLDER, function_placeholder, to_asl

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/stepsaga-local"

class CloudBusyError(StepsagaError):
    """Another EmbeddedCloud of the same saga is running in this process."""


Seed = Mapping[str, "list[dict[str, Any]] | str | Path"]


def function_name(saga: Saga, state: str) -> str:
    """The Lambda function name a state invokes in the embedded cloud."""
    return f"{saga.name}-{state}"


def table_name(saga: Saga, table: str) -> str:
    """The physical DynamoDB table name of a declared table."""
    return f"{saga.name}-{table}"


def load_seed(value: list[dict[str, Any]] | str | Path) -> list[dict[str, Any]]:
    """Seed items from a list or a JSON file; numbers become Decimal as DynamoDB requires."""
    if isinstance(value, (str, Path)):
        text = Path(value).read_text(encoding="utf-8")
    else:
        text = json.dumps(value)
    items = json.loads(text, parse_float=Decimal)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError(f"seed {value!r} must be a JSON list of items")
    return items


def default_seed(saga: Saga, inputs_dir: str | Path) -> dict[str, Path]:
    """Seed files found by convention: ``<inputs_dir>/<table>_seed.json``."""
    found = {}
    for t in saga.tables:
        path = Path(inputs_dir) / f"{t.name}_seed.json"
        if path.is_file():
            found[t.name] = path
    return found


class EmbeddedCloud:
    """A context manager: moto started, the saga deployed into it, runs executed in-process.

    Nothing outside this object is patched for the user; moto's internals are reached only
    through ``stepsaga.local._moto``, whose hooks are inert outside a run.
    """

    def __init__(self, saga: Saga, *, seed: Seed | None = None, root: str | Path | None = None) -> None:
        self.saga = saga
        self.seed = dict(seed or {})
        self.root = str(Path(root or os.getcwd()).resolve())
        self.asl = to_asl(saga)
        self.state_machine_arn = ""
        self.queue_url = ""
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._functions = {function_name(saga, state): (state, path) for state, path in saga.handlers().items()}
        self._runs = 0

    # --- lifecycle -------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The environment handlers see: region, fake credentials, and one variable per table."""
        env = {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SECURITY_TOKEN": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "POWERTOOLS_SERVICE_NAME": self.saga.name,
        }
        env.update({t.env_var: table_name(self.saga, t.name) for t in self.saga.tables})
        return env

    def __enter__(self) -> EmbeddedCloud:
        _moto.check_version()
        _moto.install()
        from moto import mock_aws

        for key, value in self.env().items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        if self.root not in sys.path:
            sys.path.insert(0, self.root)
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
        self._mock.start()
        try:
            self._deploy()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def client(self, service: str) -> Any:
        """A boto3 client into the embedded cloud."""
        import boto3

        return boto3.client(service, region_name=REGION)

    def table(self, name: str) -> Any:
        """The boto3 Table resource of a declared table, by logical name."""
        import boto3

        return boto3.resource("dynamodb", region_name=REGION).Table(table_name(self.saga, name))

    def _deploy(self) -> None:
        ddb = self.client("dynamodb")
        existing = set(ddb.list_tables()["TableNames"])
        if any(table_name(self.saga, t.name) in existing for t in self.saga.tables):
            # moto's backends are per process: two live clouds of one saga would share its tables
            raise CloudBusyError(f"an EmbeddedCloud for saga {self.saga.name} is already running in this process; reuse it, or leave its `with` block first")
        for t in self.saga.tables:
            keys = [(t.partition_key, "HASH")] + ([(t.sort_key, "RANGE")] if t.sort_key else [])
            ddb.create_table(
                TableName=table_name(self.saga, t.name),
                KeySchema=[{"AttributeName": k, "KeyType": kind} for k, kind in keys],
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
                BillingMode="PAY_PER_REQUEST",
            )
        self.reseed()
        self.queue_url = self.client("sqs").create_queue(QueueName=f"{self.saga.name}-dlq")["QueueUrl"]
        self.state_machine_arn = self.client("stepfunctions").create_state_machine(
            name=self.saga.name,
            definition=self.substitute(self.asl),
            roleArn=ROLE_ARN,
            type=self.saga.workflow_type,
        )["stateMachineArn"]

    def substitutions(self) -> dict[str, str]:
        """What SAM's DefinitionSubstitutions would fill in, pointing into the embedded cloud."""
        subs = {
            function_placeholder(state): f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name(self.saga, state)}"
            for state in self.saga.handlers()
        }
        subs[DLQ_PLACEHOLDER] = self.queue_url
        return subs

    def substitute(self, asl: str) -> str:
        """Fill every ``${...}`` placeholder of the compiled ASL."""
        for key, value in self.substitutions().items():
            asl = asl.replace("${" + key + "}", value)
        return asl

    def reseed(self) -> None:
        """Write the seed items into their tables (replacing rows with the same key)."""
        for name, value in self.seed.items():
            self.saga.table(name)  # a KeyError names an undeclared table
            with self.table(name).batch_writer() as batch:
                for item in load_seed(value):
                    batch.put_item(Item=item)

    def items(self, table: str) -> list[dict[str, Any]]:
        """Every item of a declared table (a scan), for assertions."""
        tbl, out, kwargs = self.table(table), [], {}
        while True:
            page = tbl.scan(**kwargs)
            out.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- runs ------------------------------------------------------------------------------

    def run(
        self,
        input: Any,
        faults: Mapping[str, Fault | str] | None = None,
        *,
        name: str | None = None,
        engine: str = "inline",
    ) -> SagaResult:
        """Execute the saga once on moto's interpreter and return the result.

        ``engine="inline"`` (the default) runs in this thread with retry waits on the virtual
        clock. ``engine="stock"`` starts the execution through boto3 the documented way and polls
        it: moto's own threads and real sleeps, with only the Lambda invokes dispatched here.
        It exists to prove the fast path changes nothing but speed.
        """
        if self._mock is None:
            raise RuntimeError("EmbeddedCloud.run() needs the cloud started: use `with EmbeddedCloud(saga) as cloud:`")
        if engine not in ("inline", "stock"):
            raise ValueError(f"engine is {engine!r}; write 'inline' or 'stock'")
        self._runs += 1
        name = f"{self.saga.name.lower()}-{self._runs:04d}-{uuid.uuid4().hex[:8]}" if name is None else name
        text = input_text(input)
        check_start_execution(name, text)  # StartExecution's own rules, before anything runs (both engines)
        dispatcher = Dispatcher(self._functions, normalise(faults, list(self.saga.handlers())))
        started = time.perf_counter()
        if engine == "inline":
            raw = _moto.run_inline(self.state_machine_arn, text, name, dispatcher, account_id=ACCOUNT, region=REGION)
        else:
            raw = self._run_stock(text, name, dispatcher)
        wall = time.perf_counter() - started
        dead_lettered = any(
            ev.get("stateEnteredEventDetails", {}).get("name", "").endswith("DeadLetter") for ev in raw.history
        )
        dlq = self._drain_dlq(raw.name) if dead_lettered else []
        return build_result(self.saga, raw, dispatcher.calls, dlq, wall)

    def _run_stock(self, input_json: str, name: str, dispatcher: Dispatcher, timeout: float = 300.0) -> StockExecution:
        sfn = self.client("stepfunctions")
        with _moto.lambda_only(dispatcher):
            arn = sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=input_json)["executionArn"]
            deadline = time.monotonic() + timeout
            while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"stock execution {name} still RUNNING after {timeout} s")
                time.sleep(0.002)
        events, kwargs = [], {"executionArn": arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return StockExecution(arn, name, described, events)

    def _drain_dlq(self, saga_id: str) -> list[dict[str, Any]]:
        """Read and delete this run's repair records, so each result holds exactly its own."""
        if not self.queue_url:
            return []
        sqs, records = self.client("sqs"), []
        while True:
            msgs = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
            if not msgs:
                break
            for m in msgs:
                body = json.loads(m["Body"])
                if body.get("saga_id") == saga_id:
                    records.append(body)
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return records


class StockExecution:
    """A stock moto execution read back through boto3, shaped like ``_moto.RawExecution``."""

    def __init__(self, arn: str, name: str, described: dict[str, Any], history: list[dict[str, Any]]) -> None:
        self.arn, self.name, self.history = arn, name, history
        self.status = described["status"]
        output = described.get("output")
        # moto's DescribeExecution re-serialises with ", " separators; AWS (and the inline path) is compact
        self.output = json.dumps(json.loads(output), separators=(",", ":")) if output is not None else None
        self.error, self.cause = described.get("error"), described.get("cause")
        self.clock = _moto.VirtualClock()  # stock moto really sleeps: nothing is virtual
