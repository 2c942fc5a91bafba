"""The benchmark's stub saga loads and runs as the benchmark runs it (a broken bench would go unnoticed)."""

from __future__ import annotations

import types
from importlib.machinery import SourceFileLoader
from pathlib import Path

from stepsaga.local import EmbeddedCloud

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_stub_saga_runs_with_handlers_loaded_as_on_lambda(order_saga):
    path = str(ROOT / "bench" / "local_runtime.py")
    bench = types.ModuleType("stepsaga_bench_local_runtime")
    bench.__file__ = path
    SourceFileLoader(bench.__name__, path).exec_module(bench)
    stub_saga = bench.with_stub_handlers(order_saga, "OrderSagaStub")
    order = {"order_id": "ord-1", "anything": [1, 2]}
    with EmbeddedCloud(stub_saga, root=bench.BENCH) as cloud:
        result = cloud.run(order)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    # each stub returns its event: the step saw the saga input the compiler sends it
    assert result.output["results"]["ValidateOrder"]["output"]["input"] == order


def test_the_choreography_benchmark_runs_both_parts():
    path = str(ROOT / "bench" / "choreography.py")
    bench = types.ModuleType("stepsaga_bench_choreography")
    bench.__file__ = path
    SourceFileLoader(bench.__name__, path).exec_module(bench)
    assert bench.delivery_cost(10, events=20) > 0 and bench.delivery_cost(50, indexed=False, events=20) > 0
    figures = bench.completions(rounds=1, batch=1)  # raises if a run does not end as its path should
    assert set(figures) == {(m, p) for m in ("orchestration", "choreography") for p in ("happy", "compensated")}


def test_the_real_handler_benchmark_runs_each_column_and_finds_todays_path(tmp_path):
    path = str(ROOT / "bench" / "real_handlers.py")
    bench = types.ModuleType("stepsaga_bench_real_handlers")
    bench.__file__ = path
    SourceFileLoader(bench.__name__, path).exec_module(bench)
    before = bench.baseline_tree(str(tmp_path))  # today's path: the commit before issue 10, from git
    assert (Path(before) / "src" / "stepsaga" / "local" / "cloud.py").is_file()
    assert not (Path(before) / "src" / "stepsaga" / "local" / "_moto" / "inprocess.py").exists()
    worker = bench.Worker(str(ROOT))
    try:
        assert worker.hello["stepsaga"] == str(ROOT / "src" / "stepsaga")
        for column in bench.BATCH:  # each run's status and compensations are asserted in the worker
            cpu, wall = worker.ask(column, 1)
            assert cpu > 0 and wall > 0
    finally:
        worker.close()
    assert worker.process.returncode == 0
