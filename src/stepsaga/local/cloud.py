"""The embedded cloud: moto with the saga's tables, queue and state machine, Lambdas in-process."""

from __future__ import annotations

import difflib
import functools
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar, cast

from stepsaga import sandbox
from stepsaga.errors import ContractViolationError, SeedError
from stepsaga.local import _moto
from stepsaga.local.contract import ContractCheck
from stepsaga.local.dispatch import Dispatcher
from stepsaga.local.engine import VirtualClock
from stepsaga.local.faults import Fault, normalise
from stepsaga.local.quotas import check_start_execution, input_text
from stepsaga.local.result import SagaResult, build_result
from stepsaga.model import Saga
from stepsaga.names import DLQ_PLACEHOLDER, function_placeholder, is_dead_letter_state, substitution
from stepsaga.orchestration import to_asl
from stepsaga.sandbox import LocalFunction

ACCOUNT = "123456789012"
REGION = sandbox.REGION
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/stepsaga-local"
# The clouds' own clients never read the process environment, which other threads' clouds (and
# moto's start/stop) change.
_CREDENTIALS = sandbox.CREDENTIALS

Seed = Mapping[str, "list[dict[str, Any]] | str | Path"]

#: What a cloud's own id becomes in the canonical definition its saga's clouds share (never a cloud id: not hex).
_CANONICAL_ID = "cloudid"


def function_name(saga: Saga, state: str) -> str:
    """The Lambda function name a state invokes in the embedded cloud."""
    return f"{saga.name}-{state}"


def table_name(saga: Saga, table: str, cloud_id: str) -> str:
    """The physical DynamoDB table name of a declared table in one cloud."""
    return f"{saga.name}-{cloud_id}-{table}"


F = TypeVar("F", bound=Callable[..., Any])


def _scoped(method: F) -> F:
    """Run a cloud method with the cloud's own environment: moto's region and keys, no AWS_PROFILE; its
    DynamoDB and SQS calls, and those of the handlers it runs, on the in-process path (``_moto.inprocess``)."""

    @functools.wraps(method)
    def wrapper(self: EmbeddedCloud, *args: Any, **kwargs: Any) -> Any:
        with self._scope.active(), _moto.aws_in_process():
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


class _SharedMock:
    """One moto mock for every cloud of the process, started by the first and stopped by the last.

    moto's backends are process-wide and its ``mock_aws`` start/stop (environment, config, boto3's
    default session) are not meant to interleave across threads; sharing one keeps the clouds apart
    only by their names. Inside a user's own ``mock_aws()`` it nests, and leaves the user's data alone.

    A suspended cloud (a pool's, between two tests) lets the mock stop, as if no cloud ran, but asks it
    to keep the data: the mock stops without a reset, and starts again without one. A user's own
    ``mock_aws()`` started meanwhile resets moto's backends as always; the suspended cloud then finds its
    resources gone when it is reset, and its pool starts a new one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0  # clouds started and not suspended
        self._kept = 0  # clouds suspended, whose resources stay in moto's backends while the mock is stopped
        self._mock: Any = None

    def acquire(self, resumed: bool = False) -> None:
        with self._lock:
            if resumed:
                self._kept -= 1
            if self._users == 0:
                if self._mock is None:
                    from moto import mock_aws

                    mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
                    mock.start()
                    self._mock = mock
                else:  # stopped while clouds were suspended: their data is still there
                    self._mock.start(reset=False)
            self._users += 1

    def release(self, suspended: bool = False) -> None:
        with self._lock:
            self._users -= 1
            if suspended:
                self._kept += 1
            if self._users == 0:
                if self._kept:
                    self._mock.stop(remove_data=False)
                else:
                    self._mock.stop()
                    self._mock = None


_MOCK = _SharedMock()

_SHARED: dict[tuple[str, str], Any] = {}
_SHARED_LOCK = threading.Lock()


def _shared(service: str, kind: str) -> Any:
    """The process's boto3 client of a service for the clouds (clients are thread-safe), or this thread's
    resource (resources are not: https://boto3.amazonaws.com/v1/documentation/api/latest/guide/resources.html),
    made in a clean environment."""
    key = (service, kind) if kind == "client" else (service, f"{kind}@{threading.get_ident()}")
    found = _SHARED.get(key)
    if found is None:
        with _SHARED_LOCK, sandbox.Scope(sandbox.aws_environment()).active():
            import boto3

            make = boto3.client if kind == "client" else boto3.resource
            found = _SHARED.setdefault(key, make(service, region_name=REGION, **_CREDENTIALS))
    return found


def load_seed(value: list[dict[str, Any]] | str | Path) -> list[dict[str, Any]]:
    """Seed items from a list or a JSON file; numbers become Decimal as DynamoDB requires.

    Raises ``SeedError`` when the file cannot be read or is not a JSON list of objects.
    """
    where = f"seed file {value}" if isinstance(value, (str, Path)) else "seed"
    try:
        text = Path(value).read_text(encoding="utf-8") if isinstance(value, (str, Path)) else json.dumps(value)
        items = json.loads(text, parse_float=Decimal)
    except OSError as exc:
        raise SeedError(f"{where}: cannot read: {exc.strerror}") from None
    except (TypeError, ValueError) as exc:
        raise SeedError(f"{where}: not JSON ({exc})") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise SeedError(f"{where} must be a JSON list of items (objects), for example [{{\"pk\": \"SKU#1\"}}]")
    return items


def seed_items(saga: Saga, seed: Seed) -> dict[str, list[dict[str, Any]]]:
    """Every seed's items by table, checked against the declared tables and their key schema.

    Raises ``SeedError`` naming the table (with the closest declared name when it is not one) or the
    item and the key it lacks: DynamoDB would reject it with a ValidationException.
    """
    declared = [t.name for t in saga.tables]
    out: dict[str, list[dict[str, Any]]] = {}
    for name, value in seed.items():
        if name not in declared:
            close = difflib.get_close_matches(name, declared, n=1)
            hint = f"did you mean {close[0]}?" if close else f"its tables are: {', '.join(declared) or 'none'}"
            raise SeedError(f"seed for table {name!r}: saga {saga.name} declares no table {name!r}; {hint}")
        table = saga.table(name)
        items = load_seed(value)
        for index, item in enumerate(items):
            for key in filter(None, (table.partition_key, table.sort_key)):
                if not isinstance(item.get(key), str) or not item[key]:
                    got = f"has no key {key!r}" if key not in item else f"has {key!r} = {item[key]!r}"
                    raise SeedError(f"seed for table {name}: item {index} {got} ({item}); every item needs the key {key!r} as a non-empty string")
        out[name] = items
    return out


def _fill(asl: str, substitutions: Mapping[str, str]) -> str:
    for key, value in substitutions.items():
        asl = asl.replace(substitution(key), value)
    return asl


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

    ``mode`` chooses what is deployed and run: ``"orchestration"`` (the compiled state machine on moto's
    interpreter, the default) or ``"choreography"`` (the saga's domain events on an in-process EventBridge bus,
    consumers fed by moto SQS queues: ``stepsaga.local.choreography``). Any saga runs in either mode; a
    choreography run needs the saga to fit a choreography's limits (``DefinitionError`` otherwise).

    Nothing outside this object is patched for the user; moto's internals are reached only
    through ``stepsaga.local._moto``, whose hooks are inert outside a run.

    ``strict_contract = True`` (the pytest fixtures' clouds) makes ``run()`` raise
    ``ContractViolationError`` for a run that broke the business-error contract, unless that run
    was made with ``allow_contract_violations=True``.
    """

    strict_contract: bool = False

    account = ACCOUNT
    region = REGION

    def __init__(self, saga: Saga, *, seed: Seed | None = None, root: str | Path | None = None, mode: str = "orchestration") -> None:
        if mode not in ("orchestration", "choreography"):
            raise ValueError(f"mode is {mode!r}; write 'orchestration' or 'choreography'")
        if mode == "choreography":
            from stepsaga.choreography.validate import deploy_problems
            from stepsaga.errors import DefinitionError

            problems = deploy_problems(saga)
            if problems:
                raise DefinitionError(problems)
        self.mode = mode
        self.saga = saga
        self.seed = dict(seed or {})
        self.root = str(Path(root or os.getcwd()).resolve())
        self.asl = to_asl(saga)
        # Names in moto are per process: each cloud's resources carry its own id.
        self.id = uuid.uuid4().hex[:6]
        self.state_machine_arn = ""
        self.queue_url = ""
        self._started = False
        self._suspended = False
        self._functions: dict[str, LocalFunction] = {}
        self._scope = sandbox.Scope(sandbox.aws_environment())
        self._runs = 0
        self._clients: dict[str, Any] = {}
        self._choreography: Any = None  # stepsaga.local.choreography.Deployment, in choreography mode
        self._definition = ""  # the state machine's definition, while registered as a variant (_moto.programs)
        self._seeded: tuple[dict[str, Any], dict[str, Any]] = ({}, {})  # the seed items, and the rows they made

    # --- lifecycle -------------------------------------------------------------------------

    def env(self, state: str) -> dict[str, str]:
        """The environment one function sees, as Lambda sets it: region, credentials, its own tables."""
        return sandbox.lambda_environment(self.saga, state, self.table_name)

    def table_name(self, table: str) -> str:
        """The physical name of a declared table (by logical name) in this cloud."""
        self.saga.table(table)  # a KeyError names an undeclared table
        return table_name(self.saga, table, self.id)

    def __enter__(self) -> EmbeddedCloud:
        _moto.ensure_installed()
        sandbox.install()
        seed_items(self.saga, self.seed)  # a bad seed fails before anything starts
        self._functions = sandbox.functions_for(self.saga, self.root, lambda state: function_name(self.saga, state), self.table_name)
        _MOCK.acquire()
        self._started = True
        try:
            self._deploy()
            # Lambda imports a handler at its cold start; all of them here, so a bad path fails now.
            sandbox.load_all(self.saga, self._functions)
            self.reseed()
            self._snapshot()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._started:
            return
        self._resume()
        try:
            self._undeploy()
        finally:
            self._started = False
            _MOCK.release()

    def _suspend(self) -> None:
        """Wait, resources kept, while moto stops as if no cloud ran (``CloudPool``, between two tests)."""
        if self._started and not self._suspended:
            self._suspended = True
            _MOCK.release(suspended=True)

    def _resume(self) -> None:
        """Run again after ``_suspend``: moto started again (with the data it kept)."""
        if self._suspended:
            _MOCK.acquire(resumed=True)
            self._suspended = False

    def _check_running(self, what: str) -> None:
        if not self._started:
            raise RuntimeError(f"EmbeddedCloud.{what}() needs the cloud started: use `with EmbeddedCloud(saga) as cloud:`")
        self._check_awake(what)

    def _check_awake(self, what: str) -> None:
        # while suspended, moto is stopped: a call would leave for AWS
        if self._suspended:
            raise RuntimeError(f"EmbeddedCloud.{what}(): this cloud waits between tests in its pool; take it from the pool again")

    def function(self, state: str) -> LocalFunction:
        """The Lambda function of a step or compensation, its handler loaded (the cloud must be started)."""
        if not self._started:
            raise RuntimeError("EmbeddedCloud.function() needs the cloud started: use `with EmbeddedCloud(saga) as cloud:`")
        return self._functions[state]

    def client(self, service: str) -> Any:
        """A boto3 client into the embedded cloud (one per service for every cloud of the process: they all
        reach moto with the same region and keys, and a client costs milliseconds to make)."""
        return _shared(service, "client")

    def new_client(self, service: str) -> Any:
        """A boto3 client of its own, for code that registers event hooks on it (the local bus does)."""
        with self._scope.active():
            import boto3

            return boto3.client(service, region_name=REGION, **_CREDENTIALS)

    def resource(self, service: str) -> Any:
        """A boto3 service resource into the embedded cloud (shared like ``client``)."""
        return _shared(service, "resource")

    def table(self, name: str) -> Any:
        """The boto3 Table resource of a declared table, by logical name."""
        return self.resource("dynamodb").Table(self.table_name(name))

    @_scoped
    def _deploy(self) -> None:
        ddb = self.client("dynamodb")
        for t in self.saga.tables:
            keys = [(t.partition_key, "HASH")] + ([(t.sort_key, "RANGE")] if t.sort_key else [])
            ddb.create_table(
                TableName=self.table_name(t.name),
                KeySchema=[{"AttributeName": k, "KeyType": kind} for k, kind in keys],
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
                BillingMode="PAY_PER_REQUEST",
            )
        self.queue_url = self.client("sqs").create_queue(QueueName=self._queue_name())["QueueUrl"]
        if self.mode == "choreography":
            from stepsaga.local.choreography import Deployment

            self._choreography = Deployment(self)
            self._choreography.deploy()
            return
        subs = self.substitutions()
        definition = _fill(self.asl, subs)
        # Every cloud of a saga shares one parse of its ASL: the definitions differ only in the names of this cloud.
        canonical = {key: value.replace(self.id, _CANONICAL_ID) for key, value in subs.items()}
        literals = {canonical[key]: value for key, value in subs.items() if canonical[key] != value}
        if _moto.programs.variant(definition, _fill(self.asl, canonical), literals):
            self._definition = definition
        self.state_machine_arn = self.client("stepfunctions").create_state_machine(
            name=f"{self.saga.name}-{self.id}",
            definition=definition,
            roleArn=ROLE_ARN,
            type=self.saga.workflow_type,
        )["stateMachineArn"]

    @_scoped
    def _undeploy(self) -> None:
        """Delete what this cloud created: moto keeps it while another cloud or the user's mock runs."""
        from botocore.exceptions import ClientError

        if self._definition:
            _moto.programs.forget(self._definition)
            self._definition = ""
        if self._choreography is not None:
            self._choreography.undeploy()
        for delete in (
            lambda: self.state_machine_arn and self.client("stepfunctions").delete_state_machine(stateMachineArn=self.state_machine_arn),
            lambda: self.queue_url and self.client("sqs").delete_queue(QueueUrl=self.queue_url),
            *[lambda t=t: self.client("dynamodb").delete_table(TableName=self.table_name(t.name)) for t in self.saga.tables],
        ):
            try:
                delete()
            except ClientError:
                pass  # never created: __enter__ failed before it

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
        return _fill(asl, self.substitutions())

    @_scoped
    def reseed(self) -> None:
        """Write the seed items into their tables (replacing rows with the same key); ``SeedError`` if bad."""
        self._check_awake("reseed")
        for name, items in seed_items(self.saga, self.seed).items():
            with self.table(name).batch_writer() as batch:
                for item in items:
                    batch.put_item(Item=item)

    def reset(self) -> None:
        """Make this started cloud what a new one of the same saga, seed and mode would be, in milliseconds.

        Its tables (in a choreography also the delivery ledger and the saga log) hold their seed rows and
        nothing else, its queues (the dead-letter queue; in a choreography every consumer's queue and the event
        dead-letter queue) no message, its state machine no execution, and the run count starts again. Only this
        cloud's resources are touched. Its functions stay warm, as Lambda keeps an execution environment
        between invocations: a handler's module state (clients, caches) and its ``os.environ`` are kept.
        A seed that changed since the cloud started (``cloud.seed``, or a seed file) is written again.
        ``RuntimeError`` when the cloud is not started, or a resource of it is gone (a test deleted it).
        """
        self._check_running("reset")
        tables, queues = self._resources()
        seeded = seed_items(self.saga, self.seed)  # read again: a new cloud would read the files now
        try:
            if seeded == self._seeded[0]:
                _moto.reset.restore_tables(ACCOUNT, REGION, self._seeded[1])
            else:
                _moto.reset.restore_tables(ACCOUNT, REGION, {name: {} for name in tables})
                self.reseed()
                self._snapshot()
            _moto.reset.purge_queues(ACCOUNT, REGION, queues)
            if self.state_machine_arn:
                _moto.reset.forget_executions(ACCOUNT, REGION, self.state_machine_arn)
        except LookupError as exc:
            raise RuntimeError(f"EmbeddedCloud.reset(): {exc.args[0]}; start a new cloud") from None
        self._runs = 0

    def _resources(self) -> tuple[list[str], list[str]]:
        """The names of this cloud's tables and queues in moto."""
        tables = [self.table_name(t.name) for t in self.saga.tables]
        queues = [self._queue_name()]
        if self._choreography is not None:
            more_tables, more_queues = self._choreography.resources()
            tables += more_tables
            queues += more_queues
        return tables, queues

    def _queue_name(self) -> str:
        return f"{self.saga.name}-{self.id}-dlq"

    def _snapshot(self) -> None:
        """Keep the seeded tables' rows, for ``reset``."""
        self._seeded = (seed_items(self.saga, self.seed), _moto.reset.snapshot_tables(ACCOUNT, REGION, self._resources()[0]))

    @_scoped
    def items(self, table: str) -> list[dict[str, Any]]:
        """Every item of a declared table (a scan), for assertions."""
        self._check_awake("items")
        tbl, out, kwargs = self.table(table), [], {}
        while True:
            page = tbl.scan(**kwargs)
            out.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- runs ------------------------------------------------------------------------------

    @_scoped
    def run(
        self,
        input: Any,
        faults: Mapping[str, Fault | str] | None = None,
        *,
        name: str | None = None,
        engine: str = "inline",
        allow_contract_violations: bool = False,
    ) -> SagaResult:
        """Execute the saga once on moto's interpreter and return the result.

        ``engine="inline"`` (the default) runs in this thread with retry waits on the virtual
        clock. ``engine="stock"`` starts the execution through boto3 the documented way and polls
        it: moto's own threads and real sleeps, with only the Lambda invokes dispatched here.
        It exists to prove the fast path changes nothing but speed.

        Steps that declare business errors are watched (``stepsaga.local.contract``): a change to the
        saga's tables by an attempt that raised one is in ``result.contract_violations``. The
        ``stepsaga.testing`` helpers fail on it unless ``allow_contract_violations=True``.
        """
        self._check_running("run")
        if engine not in ("inline", "stock"):
            raise ValueError(f"engine is {engine!r}; write 'inline' or 'stock'")
        self._runs += 1
        name = f"{self.saga.name.lower()}-{self._runs:04d}-{uuid.uuid4().hex[:8]}" if name is None else name
        if self.mode == "choreography":
            if engine != "inline":
                raise ValueError("engine='stock' runs moto's own Step Functions threads: an orchestration only")
            return self._run_choreography(input, faults, name, allow_contract_violations)
        text = input_text(input)
        check_start_execution(name, text)  # StartExecution's own rules, before anything runs (both engines)
        dispatcher = Dispatcher(
            {function_name(self.saga, state): (state, fn.invoke) for state, fn in self._functions.items()},
            normalise(faults, list(self.saga.handlers())),
        )
        contract = self._contract_check()
        observed: Any = contract.wrap(dispatcher)
        started = time.perf_counter()
        if engine == "inline":
            raw = _moto.run_inline(self.state_machine_arn, text, name, observed, account_id=ACCOUNT, region=REGION)
        else:
            raw = self._run_stock(text, name, observed)
        wall = time.perf_counter() - started
        dead_lettered = any(
            is_dead_letter_state(ev.get("stateEnteredEventDetails", {}).get("name", "")) for ev in raw.history
        )
        dlq = self._drain_dlq(raw.arn) if dead_lettered else []
        result = build_result(self.saga, raw, dispatcher.calls, dlq, wall, contract.violations, allow_contract_violations)
        if self.strict_contract and result.contract_violations and not allow_contract_violations:
            raise ContractViolationError(result)
        return result

    @_scoped
    def trigger(self, detail: Any, faults: Mapping[str, Fault | str] | None = None, *, trigger: int = 0,
                allow_contract_violations: bool = False) -> SagaResult:
        """Start the saga from its EventTrigger ``saga.triggers[trigger]``: an event of it whose detail is ``detail``.

        In a choreography the event is put on the trigger's bus, where the trigger's rule, the ``SagaStart``
        queue and consumer start the saga (its id is the event's id). In an orchestration, as the rule SAM
        deploys does (``InputPath: $.detail``), the state machine starts with the detail as input, under a
        fresh execution name. ``ValueError`` when that trigger is not an EventTrigger, or when its pattern does
        not match the event, so that no saga would start.
        """
        from stepsaga.choreography.pattern import matches
        from stepsaga.choreography.plan import trigger_pattern
        from stepsaga.model import EventTrigger

        self._check_awake("trigger")

        found = self.saga.triggers[trigger] if 0 <= trigger < len(self.saga.triggers) else None
        if not isinstance(found, EventTrigger):
            raise ValueError(f"triggers[{trigger}] of saga {self.saga.name} is not an EventTrigger; its triggers are {list(self.saga.triggers)}")
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": found.detail_type, "source": found.source,
                 "account": ACCOUNT, "time": "2026-01-01T00:00:00Z", "region": REGION, "resources": [], "detail": detail}
        if not matches(trigger_pattern(found), event):
            raise ValueError(f"the event does not match the pattern of triggers[{trigger}] ({trigger_pattern(found)}): no saga starts")
        if self.mode == "orchestration":
            return self.run(detail, faults, name=event["id"], allow_contract_violations=allow_contract_violations)
        from stepsaga.local.choreography import run_saga

        self._runs += 1
        result = run_saga(self, self._choreography, detail, faults, None, allow_contract_violations, trigger=trigger)
        if self.strict_contract and result.contract_violations and not allow_contract_violations:
            raise ContractViolationError(result)
        return result

    def _run_choreography(self, input: Any, faults: Mapping[str, Any] | None, saga_id: str, allow_contract_violations: bool) -> SagaResult:
        """One saga as a choreography: its Started event put on the bus, then every delivery until none is left."""
        from stepsaga.local.choreography import run_saga

        result = run_saga(self, self._choreography, input, faults, saga_id, allow_contract_violations)
        if self.strict_contract and result.contract_violations and not allow_contract_violations:
            raise ContractViolationError(result)
        return result

    def dispatcher(self, faults: Mapping[str, Fault]) -> Dispatcher:
        """A dispatcher of this cloud's handlers (each in its sandbox) with these handler faults."""
        return Dispatcher({function_name(self.saga, state): (state, fn.invoke) for state, fn in self._functions.items()}, dict(faults))

    def contract_check(self) -> ContractCheck:
        """The business-error contract check of this cloud's tables."""
        return self._contract_check()

    def _contract_check(self) -> ContractCheck:
        functions = {function_name(self.saga, state): state for state in self._functions}
        tables = {self.table_name(t.name): t.name for t in self.saga.tables}
        return ContractCheck(self.saga, functions, tables, ACCOUNT, REGION)

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

    def _drain_dlq(self, execution_arn: str) -> list[dict[str, Any]]:
        """Read and delete this run's repair records, so each result holds exactly its own.

        A record names its execution ARN (an EXPRESS saga id is the ARN, a STANDARD one the name). No queue
        (a test deleted it) means no record was sent: the execution then failed with the record as its Cause.
        """
        if not self.queue_url:
            return []
        sqs, records = self.client("sqs"), []
        while True:
            try:
                msgs = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
            except sqs.exceptions.QueueDoesNotExist:
                return records
            if not msgs:
                break
            for m in msgs:
                body = json.loads(m["Body"])
                if body.get("execution_arn") == execution_arn:
                    records.append(body)
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return records


class StockExecution:
    """A stock moto execution read back through boto3, shaped like ``stepsaga.local.engine.ExecutionOutcome``."""

    def __init__(self, arn: str, name: str, described: dict[str, Any], history: list[dict[str, Any]]) -> None:
        self.arn, self.name, self.history = arn, name, history
        self.status = described["status"]
        output = described.get("output")
        # moto's DescribeExecution re-serialises with ", " separators; AWS (and the inline path) is compact
        self.output = json.dumps(json.loads(output), separators=(",", ":")) if output is not None else None
        self.error, self.cause = described.get("error"), described.get("cause")
        self.clock = VirtualClock()  # stock moto really sleeps: nothing is virtual
