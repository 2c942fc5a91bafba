"""Real-handler benchmark: the order saga with its real handlers, this tree against today's path.

Run from anywhere: ``.venv/bin/python bench/real_handlers.py`` (about a minute and a half);
``bench/local_runtime.py`` prints the same lines. "Today's path" is the code as it was before issue 10's speed work: ``BASELINE``,
the commit that closed issue 9, extracted with ``git archive`` (``src/``, ``tasks/``, ``compensations/``,
``workflows/``) into a temporary folder and run with the same virtualenv. Each side runs in a worker
process of its own, driven over a pipe, and the rounds alternate between the sides, so that all of them
see the same machine load. The figure is CPU time (``time.process_time``) per execution, since other
processes on a shared machine inflate wall time; the wall median is printed next to it.

Sides:

this
    the working tree: the in-process AWS path (``_moto/inprocess.py``), one Table per table name in the
    handlers, settled executions, the ASL parsed once.
this, in-process off
    the same tree with ``STEPSAGA_AWS_INPROCESS=0``: what the in-process path alone is worth.
before
    ``BASELINE``'s tree (botocore's HTTP path through moto's stubber, a boto3 resource per handler call).

Columns (real handlers against moto DynamoDB, a new order id each run, stock that never runs out):

happy
    the orchestration's happy path: ValidateOrder, ProcessPayment, ReserveInventory, SendNotification.
compensated
    the order also holds an unknown sku: ReserveInventory's transaction is cancelled (OutOfStock, a real
    business error of the real handler), then RefundPayment and CancelOrder run.
choreography
    the happy path as a choreography (the local bus, SQS queues, the adapter, its ledger and the saga log).

Each round runs a column's three sides back to back (in alternating order), so a round's ratio compares
batches measured within about a second of each other; the figure is the median of the rounds' ratios (the
ratio of the medians is printed too). The last line is ``real_handlers_speedup=<x>``: that figure for the
happy path, this over before.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Any

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
# main when issue 9 (choreography) closed, before any of issue 10's speed work: "today's path" of issue 10
BASELINE = "8faf189395b2"
TREE = ("src", "tasks", "compensations", "workflows")
ROUNDS = 21
BATCH = {"happy": 10, "compensated": 10, "choreography": 2}
GOAL = 3.0
SIDES = ("this", "this, in-process off", "before")


# --------------------------------------------------------------------------------------------
# the worker: one process per side
# --------------------------------------------------------------------------------------------
def worker(root: str) -> None:
    """``--worker ROOT``: read ``<column> <n>`` lines, answer ``[cpu s, wall s]`` for n runs, one JSON line each."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # as `stepsaga run` sets it
    sys.path.insert(0, root)  # workflows.order_saga of this side's tree
    from local_runtime import SEED  # bench/local_runtime.py: stock enough for every run

    import stepsaga
    from stepsaga.local import EmbeddedCloud
    from workflows.order_saga import saga

    with open(os.path.join(root, "workflows", "inputs", "order.json"), encoding="utf-8") as fh:
        order = json.load(fh)
    unknown = dict(order, items=[*order["items"], {"sku": "GONE-999", "quantity": 1, "unit_price": "1.00"}])
    counter = [0]

    def one(cloud: Any, base: dict[str, Any], expect: str, compensations: list[str]) -> None:
        counter[0] += 1
        result = cloud.run(dict(base, order_id=f"rh-{counter[0]:06d}"))
        assert result.status == expect, (result.status, result.error, result.cause)
        assert result.compensations == compensations, result.compensations

    with EmbeddedCloud(saga, seed=SEED, root=root) as orchestration, \
            EmbeddedCloud(saga, seed=SEED, root=root, mode="choreography") as choreography:
        columns = {
            "happy": lambda: one(orchestration, order, "SUCCEEDED", []),
            "compensated": lambda: one(orchestration, unknown, "FAILED", ["RefundPayment", "CancelOrder"]),
            "choreography": lambda: one(choreography, order, "SUCCEEDED", []),
        }
        for fn in columns.values():  # warm-up: first imports and parses
            for _ in range(3):
                fn()
        print(json.dumps({"stepsaga": os.path.dirname(stepsaga.__file__)}), flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            fn, n = columns[words[0]], int(words[1])
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(n):
                fn()
            print(json.dumps([time.process_time() - cpu, time.perf_counter() - wall]), flush=True)


if BENCH not in sys.path:  # pipe_worker, and local_runtime in the worker, live next to this file
    sys.path.insert(0, BENCH)
from pipe_worker import PipeWorker  # noqa: E402


class Worker(PipeWorker):
    """A worker process on one tree, with its own environment."""

    def __init__(self, root: str, **env: str) -> None:
        environ = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(root, "src"), BENCH]), **env)
        super().__init__(os.path.abspath(__file__), ["--worker", root], environ)

    def ask(self, column: str, n: int) -> list[float]:  # type: ignore[override]
        """``[cpu s, wall s]`` of ``n`` runs of ``column``."""
        return super().ask(f"{column} {n}")


def baseline_tree(into: str) -> str:
    """BASELINE's TREE folders extracted under ``into``; SystemExit with what to do when git cannot."""
    archive = os.path.join(into, "baseline.tar")
    done = subprocess.run(["git", "-C", REPO, "archive", "--format=tar", "-o", archive, BASELINE, *TREE],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench/real_handlers.py needs commit {BASELINE} (today's path) in the repository's history: "
                         f"{done.stderr.strip()}; run it in a full clone (git fetch --unshallow)")
    root = os.path.join(into, "before")
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return root


def measure() -> list[str]:
    """The report's lines: exec/s per side and column, ratios, and ``real_handlers_speedup=<x>`` last."""
    with tempfile.TemporaryDirectory(prefix="stepsaga-bench-") as tmp:
        before = baseline_tree(tmp)
        workers = {"this": Worker(REPO), "this, in-process off": Worker(REPO, STEPSAGA_AWS_INPROCESS="0"),
                   "before": Worker(before)}
        try:
            cells = [(side, column) for column in BATCH for side in SIDES]
            cpu: dict[tuple[str, str], list[float]] = {cell: [] for cell in cells}
            wall: dict[tuple[str, str], list[float]] = {cell: [] for cell in cells}
            for r in range(ROUNDS):
                # a column's three sides run back to back, so that each round's ratios compare batches
                # measured within about a second of each other; the order of the sides alternates
                for column in list(BATCH)[r % len(BATCH):] + list(BATCH)[: r % len(BATCH)]:
                    for side in SIDES if r % 2 == 0 else tuple(reversed(SIDES)):
                        c, w = workers[side].ask(column, BATCH[column])
                        cpu[(side, column)].append(BATCH[column] / c)
                        wall[(side, column)].append(BATCH[column] / w)
        finally:
            for w in workers.values():
                w.close()
    med = {cell: statistics.median(values) for cell, values in cpu.items()}
    lines = [f"\nreal handlers, order saga (orchestration unless named), {ROUNDS} rounds alternating between the sides; "
             f"exec/s of CPU time, median (min-max) [wall median]; before = commit {BASELINE}"]
    for column in BATCH:
        for side in SIDES:
            values = cpu[(side, column)]
            lines.append(f"  {column:<13} {side:<21} {med[(side, column)]:>7.1f} /s ({min(values):.1f}-{max(values):.1f})"
                         f" {1000 / med[(side, column)]:>6.1f} ms   [wall {statistics.median(wall[(side, column)]):.1f} /s]")
    ratio: dict[str, float] = {}
    for column in BATCH:
        paired = [a / b for a, b in zip(cpu[("this", column)], cpu[("before", column)])]
        alone = [a / b for a, b in zip(cpu[("this", column)], cpu[("this, in-process off", column)])]
        ratio[column] = statistics.median(paired)
        lines.append(f"  {column}: this / before {ratio[column]:.2f}x, median of the rounds' ratios ({min(paired):.2f}-{max(paired):.2f}; "
                     f"ratio of the medians {med[('this', column)] / med[('before', column)]:.2f}x); "
                     f"the in-process path alone {statistics.median(alone):.2f}x")
    speedup, compensated = ratio["happy"], ratio["compensated"]
    lines.append(f"  goal: happy and compensated >= {GOAL:g}x today's path: "
                 f"{'met' if min(speedup, compensated) >= GOAL else 'NOT met'}")
    lines.append(f"real_handlers_speedup={speedup:.2f}")
    return lines


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2])
    else:
        for line in measure():
            print(line)
