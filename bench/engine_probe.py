"""Engine probe (issue 10): moto's interpreter alone against the shipped engine, stub handlers.

Run from anywhere: ``.venv/bin/python bench/engine_probe.py`` (about a minute). Both columns run the happy
path of the order saga with every handler replaced by ``bench/stub_lambda/echo.handler`` (it returns its
event, as moto's Docker-less Lambda does, and as ``bench/local_runtime.py``'s stub column uses):

probe, moto's interpreter alone (the ceiling)
    The definition parsed once; per execution an ``Environment`` built as moto's ``ExecutionWorker`` builds
    it, the ExecutionStarted event, and the program's state loop run in the calling thread. Every Lambda task
    calls the stub with the JSON-decoded Payload and answers ``{"ExecutedVersion", "Payload", "StatusCode"}``.
    The engine's patches (the run's ``ContextVar`` set, so its speed shortcuts and its inline attempt apply):
    stock moto's interpreter parses every JSONPath with jsonpath_ng and runs about 25 executions per second,
    which is no ceiling for anything. Nothing else: no execution registered with the backend, no Invocation or
    LambdaContext, no dispatcher, no contract check, no result, no boto3-shaped history.
shipped engine
    ``stepsaga.testing.run(saga, order, cloud=cloud)`` on an ``EmbeddedCloud``, as the stub column of
    ``bench/local_runtime.py`` measures it, with the result's ``history`` read.

Both produce the same events (checked before timing). The rates are medians over rounds that alternate
the two columns, in executions per second of CPU time (``time.process_time``: other processes on a shared
machine inflate wall time, which is printed too). Then each column runs under cProfile, and the time is
summed by where it is spent: each function's own time goes to its module's group; the standard library's,
and other libraries' (jsonpath_ng, moto's core), goes to the group of the code that called it.

``--real`` adds a third column: the shipped engine with the real handlers (``workflows/order_saga.py``
against moto DynamoDB, a new order each run), for what the engine's changes are worth there.
``--against SRC`` also measures another checkout's ``src/`` (for example the code before a change:
``git archive <commit> src | tar -x -C /tmp/before``, then ``--against /tmp/before/src``): each side runs in a
worker process of its own, and the rounds alternate between them, so both see the same machine load. The
last line is ``engine_stub_rate=<x>``: the shipped engine's executions per second (of this checkout).
"""

from __future__ import annotations

import cProfile
import datetime
import gc
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
ROUNDS = 9
BATCH = {"probe": 200, "shipped": 100, "real": 20}
REAL = "--real" in sys.argv  # also the shipped engine with the real handlers (workflows/order_saga.py, moto DynamoDB)
PROFILED = 300  # executions per column under cProfile
ACCOUNT, REGION = "123456789012", "us-east-1"

# Where time is spent, by the file that spends it (the first matching fragment wins). Functions of files
# that match none (the standard library, builtins, jsonpath_ng, moto's core, dateutil) are charged to their
# callers' group.
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("history (boto3 shape)", (
        "stepsaga/local/_moto/history.py", "stepsaga/local/_moto/growth.py:_thawed", "stepsaga/local/_moto/growth.py:read_back",
    )),
    ("result building", ("stepsaga/local/result.py",)),
    ("dispatch and contract", (
        "stepsaga/local/_moto/lambda_invoke.py", "stepsaga/local/dispatch.py", "stepsaga/local/contract.py",
        "stepsaga/local/_moto/table_watch.py", "stepsaga/local/engine.py", "stepsaga/sandbox.py",
        "stepsaga/lambda_errors.py", "stub_lambda/", "engine_probe.py:minimal_lambda",
    )),
    ("cloud.run (names, input, checks)", (
        "stepsaga/local/cloud.py", "stepsaga/local/quotas.py", "stepsaga/local/faults.py", "stepsaga/testing.py",
        "stepsaga/names.py",
    )),
    ("moto backend bookkeeping", (
        "moto/stepfunctions/parser/backend/", "moto/stepfunctions/parser/models.py", "moto/stepfunctions/models.py",
        "stepsaga/local/_moto/driver.py:run_inline", "stepsaga/local/_moto/driver.py:_get_start_execution_worker",
        "stepsaga/local/_moto/driver.py:execution_limit", "stepsaga/local/_moto/driver.py:_prune_threads",
        "stepsaga/local/_moto/growth.py", "stepsaga/local/_moto/__init__.py", "engine_probe.py:probe_one",
        "moto/core/base_backend.py", "moto/core/common_models.py",
    )),
    ("the interpreter", ("moto/stepfunctions/parser/", "stepsaga/local/_moto/")),
]
COLLECTOR = "garbage collector"
LABELS = {"probe": "probe, moto interpreter alone", "shipped": "shipped engine (EmbeddedCloud.run)",
          "real": "shipped engine, real handlers"}


# --------------------------------------------------------------------------------------------
# the two columns
# --------------------------------------------------------------------------------------------
class Columns:
    """A started stub cloud, and one execution of each column."""

    def __init__(self) -> None:
        for path in (REPO, BENCH):
            if path not in sys.path:
                sys.path.insert(0, path)
        from local_runtime import SEED, with_stub_handlers  # bench/local_runtime.py
        from moto import mock_aws
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

        from stepsaga.testing import EmbeddedCloud, run
        from workflows.order_saga import saga

        with open(os.path.join(REPO, "workflows", "inputs", "order.json"), encoding="utf-8") as fh:
            self.order = json.load(fh)
        self.saga = with_stub_handlers(saga, "OrderSagaStub")
        self._run = run
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
        self._mock.start()
        self.cloud = EmbeddedCloud(self.saga, root=BENCH).__enter__()
        self.definition = self.cloud.substitute(self.cloud.asl)
        self.program = AmazonStateLanguageParser.parse(self.definition)[0]
        self.probes = 0
        self.real_saga = saga
        self.real_cloud = EmbeddedCloud(saga, seed=SEED, root=REPO).__enter__() if REAL else None
        self.reals = 0

    def close(self) -> None:
        if self.real_cloud is not None:
            self.real_cloud.__exit__(None, None, None)
        self.cloud.__exit__(None, None, None)
        self._mock.stop()

    def real(self) -> list[dict[str, Any]]:
        """The shipped engine with the real handlers: a new order each run, as bench/local_runtime.py's column."""
        self.reals += 1
        result = self._run(self.real_saga, dict(self.order, order_id=f"probe-{self.reals:06d}"), cloud=self.real_cloud)
        assert result.succeeded, (result.error, result.cause)
        return result.history

    def shipped(self) -> list[dict[str, Any]]:
        result = self._run(self.saga, self.order, cloud=self.cloud)
        assert result.succeeded, (result.error, result.cause)
        return result.history

    def probe(self) -> list[dict[str, Any]]:
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

        from stepsaga.local._moto.run import ACTIVE, Run

        self.probes += 1
        token = ACTIVE.set(Run(dispatcher=_no_dispatcher))
        integration = lambda_eval_utils.execute_lambda_function_integration
        lambda_eval_utils.execute_lambda_function_integration = minimal_lambda
        try:
            return probe_one(self.program, self.cloud.state_machine_arn, f"probe-{self.probes:06d}", self.order)
        finally:
            lambda_eval_utils.execute_lambda_function_integration = integration
            ACTIVE.reset(token)


def _no_dispatcher(invocation: Any, context: Any) -> Any:
    raise AssertionError("the probe answers Lambda tasks itself")


def minimal_lambda(env: Any, parameters: dict[str, Any], region: str, state_credentials: Any) -> None:
    """A Lambda task answered by the stub: what lambda:invoke's result needs, nothing more."""
    from stub_lambda.echo import handler

    payload = parameters.get("Payload")
    env.stack.append({"ExecutedVersion": "$LATEST", "Payload": handler(json.loads(payload) if payload else {}, None), "StatusCode": 200})


def probe_one(program: Any, state_machine_arn: str, name: str, order: dict[str, Any]) -> list[dict[str, Any]]:
    """One execution on moto's interpreter, in this thread, built as backend/execution_worker.py:66-107 does."""
    from moto.stepfunctions.parser.api import ExecutionStartedEventDetails, HistoryEventExecutionDataDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.evaluation_details import AWSExecutionDetails
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext
    from moto.stepfunctions.parser.asl.eval.states import ContextObjectData, ExecutionData, StateMachineData
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    role = f"arn:aws:iam::{ACCOUNT}:role/probe"
    execution_input = json.loads(json.dumps(order))
    env = Environment(
        aws_execution_details=AWSExecutionDetails(account=ACCOUNT, region=REGION, role_arn=role),
        execution_type="STANDARD",
        context=ContextObjectData(
            Execution=ExecutionData(Id=f"{state_machine_arn}:{name}".replace(":stateMachine:", ":execution:"), Input=execution_input,
                                    Name=name, RoleArn=role, StartTime=datetime.datetime.now(tz=datetime.timezone.utc)),
            StateMachine=StateMachineData(Id=state_machine_arn, Name=state_machine_arn.rsplit(":", 1)[1]),
        ),
        event_history_context=EventHistoryContext.of_program_start(),
        cloud_watch_logging_session=None,
        activity_store={},
    )
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.ExecutionStarted,
        event_details=EventDetails(executionStartedEventDetails=ExecutionStartedEventDetails(
            input=to_json_str(execution_input), inputDetails=HistoryEventExecutionDataDetails(truncated=False), roleArn=role,
        )),
        update_source_event_id=False,
    )
    env.next_state_name = program.start_at.start_at_name
    EvalComponent.eval(program, env)  # Program.eval without its thread (program.py:78-87)
    events = env.event_manager._history_event_list
    assert events[-1]["type"] == HistoryEventType.ExecutionSucceeded, events[-1]
    return events


# --------------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------------
class GcClock:
    """CPU seconds spent in the garbage collector (gc.callbacks) while on."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        self.on = False
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if not self.on:
            return
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started


GC_CLOCK = GcClock()


def timed(fn: Callable[[], Any], n: int) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, seconds in the garbage collector) of n calls."""
    GC_CLOCK.seconds, GC_CLOCK.on = 0.0, True
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        for _ in range(n):
            fn()
        return time.process_time() - cpu, time.perf_counter() - wall, GC_CLOCK.seconds
    finally:
        GC_CLOCK.on = False


def group_of(key: tuple[str, int, str]) -> str | None:
    filename, _line, function = key
    where = filename.replace(os.sep, "/")
    for group, fragments in GROUPS:
        for fragment in fragments:
            path, _, name = fragment.partition(":")
            if path in where and (not name or name == function):
                return group
    return None


def breakdown(stats: pstats.Stats) -> dict[str, float]:
    """Seconds per group: own time by module, a library's own time charged to its callers' groups."""
    table = stats.stats  # type: ignore[attr-defined]
    shares: dict[Any, dict[str, float]] = {}  # a library function -> its callers' groups, as fractions

    def share_of(key: Any, seen: frozenset[Any]) -> dict[str, float]:
        if key in shares:
            return shares[key]
        callers = {c: edge for c, edge in table[key][4].items() if c != key and c not in seen}
        total = sum(edge[3] for edge in callers.values()) or 1.0
        out: dict[str, float] = {}
        for caller, edge in callers.items():
            weight = edge[3] / total
            group = group_of(caller)
            parts = {group: 1.0} if group is not None else share_of(caller, seen | {key})
            for g, f in parts.items():
                out[g] = out.get(g, 0.0) + weight * f
        shares[key] = out or {"(unattributed)": 1.0}
        return shares[key]

    sums: dict[str, float] = {}
    for key, (_cc, _nc, tottime, _ct, callers) in table.items():
        group = group_of(key)
        if group is not None:
            sums[group] = sums.get(group, 0.0) + tottime
            continue
        for caller, edge in callers.items():  # this library function's own time, per direct caller
            caller_group = group_of(caller)
            parts = {caller_group: 1.0} if caller_group is not None else share_of(caller, frozenset({key}))
            for g, f in parts.items():
                sums[g] = sums.get(g, 0.0) + edge[2] * f
    return sums


def profile(fn: Callable[[], Any], n: int) -> dict[str, float]:
    """breakdown() of n calls, with the garbage collector off: its pauses land in whatever function allocates."""
    profiler = cProfile.Profile()
    gc.disable()
    profiler.enable()
    try:
        for _ in range(n):
            fn()
    finally:
        profiler.disable()
        gc.enable()
    return breakdown(pstats.Stats(profiler))


# --------------------------------------------------------------------------------------------
# workers: one process per checkout, driven over a pipe
# --------------------------------------------------------------------------------------------
def worker() -> None:
    """``--worker``: read ``<column> <n>`` or ``profile <column> <n>`` lines, answer one JSON line each."""
    import stepsaga

    columns = Columns()
    try:
        check = [e["type"] for e in columns.probe()], [e["type"] for e in columns.shipped()]
        for fn in (columns.probe, columns.shipped) + ((columns.real,) if REAL else ()):  # warm-up
            timed(fn, 20)
        print(json.dumps({"stepsaga": os.path.dirname(stepsaga.__file__), "events": check}), flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "profile":
                answer: Any = profile(getattr(columns, words[1]), int(words[2]))
            else:
                answer = timed(getattr(columns, words[0]), int(words[1]))
            print(json.dumps(answer), flush=True)
    finally:
        columns.close()


def worker_process(src: str) -> Any:
    """A worker (``--worker``) on the checkout whose ``src/`` is ``src``."""
    from pipe_worker import PipeWorker

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, REPO, BENCH]), POWERTOOLS_LOG_LEVEL="WARNING")
    return PipeWorker(os.path.abspath(__file__), ["--worker", *(["--real"] if REAL else [])], env)


def main() -> None:
    import moto

    against = sys.argv[sys.argv.index("--against") + 1] if "--against" in sys.argv else None
    sides = {"this": os.path.join(REPO, "src")}
    if against is not None:
        sides["against"] = os.path.abspath(against)
    workers = {side: worker_process(src) for side, src in sides.items()}
    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs, moto {moto.__version__}")
    for side, w in workers.items():
        probe_events, shipped_events = w.hello["events"]
        same = "the same" if probe_events == shipped_events else f"DIFFERENT ({len(probe_events)} vs {len(shipped_events)})"
        print(f"{side}: stepsaga from {w.hello['stepsaga']}; probe and shipped events: {same}, {len(shipped_events)} events")
        assert probe_events == shipped_events
    print("order saga, happy path, stub handlers (bench/stub_lambda/echo.handler)")

    cells = [(side, column) for side in workers for column in ("probe", "shipped") + (("real",) if REAL else ())]
    cpu: dict[tuple[str, str], list[float]] = {cell: [] for cell in cells}
    wall: dict[tuple[str, str], list[float]] = {cell: [] for cell in cells}
    collector: dict[tuple[str, str], list[float]] = {cell: [] for cell in cells}  # ms per execution in the collector
    for r in range(ROUNDS):
        for side, column in cells[r % len(cells):] + cells[: r % len(cells)]:
            n = BATCH[column]
            c, w, g = workers[side].ask(f"{column} {n}")
            cpu[(side, column)].append(n / c)
            wall[(side, column)].append(n / w)
            collector[(side, column)].append(1000 * g / n)
    med = {cell: statistics.median(values) for cell, values in cpu.items()}
    # the collector's full collections are rare and long, so a median of rounds leaves most of them out:
    # its figure, and the overall rate beside the median, are totals over all rounds
    overall = {cell: len(values) * BATCH[cell[1]] / sum(BATCH[cell[1]] / v for v in values) for cell, values in cpu.items()}
    gc_ms = {cell: statistics.fmean(values) for cell, values in collector.items()}
    print(f"\n{ROUNDS} rounds, alternating; executions per second of CPU time: median of rounds (min-max), ms per execution, "
          "all rounds together, and ms per execution in the garbage collector (all rounds)")
    for side, column in cells:
        values = cpu[(side, column)]
        label = f"{side}: {LABELS[column]}"
        print(f"  {label:<52} {med[(side, column)]:>7.1f} /s ({min(values):.0f}-{max(values):.0f}) {1000 / med[(side, column)]:>5.2f} ms"
              f"   overall {overall[(side, column)]:>6.1f} /s   collector {gc_ms[(side, column)]:.3f} ms"
              f"   [wall median {statistics.median(wall[(side, column)]):.1f} /s]")
    for side in workers:
        print(f"  {side}: shipped / probe = {med[(side, 'shipped')] / med[(side, 'probe')]:.2f} (medians), "
              f"{overall[(side, 'shipped')] / overall[(side, 'probe')]:.2f} (overall)")
    for column in ("shipped", "real") if against is not None else ():
        if ("this", column) in med:
            print(f"  {LABELS[column]}, this / against: {med[('this', column)] / med[('against', column)]:.2f}x (medians), "
                  f"{overall[('this', column)] / overall[('against', column)]:.2f}x (overall)")

    for side, w in workers.items():
        probe_groups = w.ask(f"profile probe {PROFILED}")
        shipped_groups = w.ask(f"profile shipped {PROFILED}")
        for column, groups in (("probe", probe_groups), ("shipped", shipped_groups)):
            groups[COLLECTOR] = 0.0  # measured in the timed rounds
        # ms per execution of the unprofiled rounds, the collector's share taken out before scaling
        scale = lambda groups, column: (1000 / overall[(side, column)] - gc_ms[(side, column)]) / sum(groups.values())  # noqa: E731
        sp, ss = scale(probe_groups, "probe"), scale(shipped_groups, "shipped")
        probe_groups[COLLECTOR], shipped_groups[COLLECTOR] = gc_ms[(side, "probe")] / sp, gc_ms[(side, "shipped")] / ss
        print(f"\n{side}: where the time goes, cProfile over {PROFILED} executions per column, in ms per execution "
              "(the collector off, scaled to the overall CPU time of the rounds less the collector's, measured there; "
              "the standard library's and other libraries' time charged to their callers)")
        print(f"  {'group':<36} {'probe':>8} {'shipped':>8} {'extra':>8} {'share of extra':>15}")
        names = [g for g, _ in GROUPS] + [COLLECTOR] + sorted({*probe_groups, *shipped_groups} - {g for g, _ in GROUPS} - {COLLECTOR})
        extra_total = sum(shipped_groups.values()) * ss - sum(probe_groups.values()) * sp
        for name in names:
            p, s = probe_groups.get(name, 0.0) * sp, shipped_groups.get(name, 0.0) * ss
            if p == s == 0.0:
                continue
            print(f"  {name:<36} {p:>8.3f} {s:>8.3f} {s - p:>8.3f} {100 * (s - p) / extra_total if extra_total else 0:>14.0f}%")
        print(f"  {'total':<36} {sum(probe_groups.values()) * sp:>8.3f} {sum(shipped_groups.values()) * ss:>8.3f} {extra_total:>8.3f}")
    for w in workers.values():
        w.close()
    print(f"engine_stub_rate={med[('this', 'shipped')]:.1f}")


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker()
    else:
        main()
