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

from stepsaga.local import _moto
from stepsaga.local.dispatch import Dispatcher
from stepsaga.local.faults import Fault, normalise
from stepsaga.local.result import SagaResult, build_result
from stepsaga.model import Saga
from stepsaga.orchestration import DLQ_PLACEHOLDER, function_placeholder, to_asl

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/stepsaga-local"

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

    def run(self, input: Any, faults: Mapping[str, Fault | str] | None = None, *, name: str | None = None) -> SagaResult:
        """Execute the saga once on moto's interpreter, in this thread, and return the result."""
        if self._mock is None:
            raise RuntimeError("EmbeddedCloud.run() needs the cloud started: use `with EmbeddedCloud(saga) as cloud:`")
        self._runs += 1
        name = name or f"{self.saga.name.lower()}-{self._runs:04d}-{uuid.uuid4().hex[:8]}"
        dispatcher = Dispatcher(self._functions, normalise(faults, list(self.saga.handlers())))
        started = time.perf_counter()
        raw = _moto.run_inline(self.state_machine_arn, json.dumps(input), name, dispatcher, account_id=ACCOUNT, region=REGION)
        wall = time.perf_counter() - started
        dead_lettered = any(
            ev.get("stateEnteredEventDetails", {}).get("name", "").endswith("DeadLetter") for ev in raw.history
        )
        dlq = self._drain_dlq(raw.name) if dead_lettered else []
        return build_result(self.saga, raw, dispatcher.calls, dlq, wall)

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
