"""Compile benchmark: time grows linearly with saga size, and the CLI starts fast.

Run from anywhere (``make bench`` or ``.venv/bin/python bench/compile.py``). It prints:

(a) the median time to build a generated saga of 10, 100 and 1,000 steps AND compile it with
    ``to_asl`` (which renders and lints), the time per step, and the growth ratios;
(b) the median wall time of ``python -c pass`` and of ``stepsaga compile workflows/order_saga.py``,
    run alternately in the same run, and their ratio.

The last line is always ``cold_start_ratio=<x>``. Only the standard library and stepsaga are used.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(REPO)

from stepsaga import Compensation, Retry, Saga, Step  # noqa: E402
from stepsaga.orchestration import to_asl  # noqa: E402

RUNS = {10: 51, 100: 21, 1000: 7}  # timed runs per saga size, after one warm-up; medians are quoted
COLD_RUNS = 31  # of each command
LINEAR_TOLERANCE = 2.5  # per-step time at 1,000 steps may be at most this many times that at 100


def build_saga(n: int) -> Saga:
    """A saga of n steps, each with an action, a compensation, one business error and one retry."""
    return Saga(
        f"Bench{n}Saga",
        steps=[
            Step(
                f"Step{i}",
                action=f"tasks.step{i}.handler",
                compensation=Compensation(f"Undo{i}", f"compensations.step{i}.handler"),
                business_errors=[f"Step{i}Rejected"],
                retry=[Retry([f"Step{i}Timeout"], interval_seconds=2, max_attempts=3, jitter="FULL")],
            )
            for i in range(n)
        ],
    )


def time_compile(n: int) -> float:
    """Median seconds to build and compile an n-step saga."""
    times = []
    for _ in range(RUNS[n]):
        start = time.perf_counter()
        to_asl(build_saga(n))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli_commands() -> tuple[list[str], list[str]]:
    """`python -c pass` and `stepsaga compile` with the same interpreter (the venv's)."""
    python = sys.executable
    script = os.path.join(os.path.dirname(python), "stepsaga")
    compile_cmd = [script] if os.path.isfile(script) else [python, "-m", "stepsaga.cli"]
    return [python, "-c", "pass"], compile_cmd + ["compile", "workflows/order_saga.py"]


def run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs")
    print("(a) build Saga + to_asl (compile, lint, render); each step: action, compensation, business error, retry")
    medians = {}
    for n in RUNS:
        to_asl(build_saga(n))  # warm-up
        medians[n] = time_compile(n)
        print(f"  {n:>5} steps: {medians[n] * 1000:9.2f} ms  {medians[n] / n * 1e6:8.1f} us/step  (median of {RUNS[n]})")
    r_small = medians[100] / medians[10]
    r_big = medians[1000] / medians[100]
    print(f"  t(100)/t(10)   = {r_small:.2f}  (linear: about 10)")
    print(f"  t(1000)/t(100) = {r_big:.2f}  (linear: about 10)")
    per_step_growth = (medians[1000] / 1000) / (medians[100] / 100)
    linear = per_step_growth <= LINEAR_TOLERANCE
    print(f"linear: {'yes' if linear else 'no'} (per-step time at 1000 is {per_step_growth:.2f}x that at 100; tolerance {LINEAR_TOLERANCE}x)")

    # Cold start means a fresh process, not a fresh install: pip writes .pyc files when it
    # installs, so users start with bytecode caches. PYTHONDONTWRITEBYTECODE is removed and each
    # command runs once first, so the caches exist (for the editable source and the workflow).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    bare, compile_cmd = cli_commands()
    print(f"(b) cold start, {COLD_RUNS} runs each, alternating: {' '.join(bare)}  vs  {' '.join(compile_cmd)}")
    run(bare, env)
    run(compile_cmd, env)
    t_bare, t_compile = [], []
    for _ in range(COLD_RUNS):
        t_bare.append(run(bare, env))
        t_compile.append(run(compile_cmd, env))
    m_bare, m_compile = statistics.median(t_bare), statistics.median(t_compile)
    ratio = m_compile / m_bare
    print(f"  python -c pass:   {m_bare * 1000:7.1f} ms (median)")
    print(f"  stepsaga compile: {m_compile * 1000:7.1f} ms (median)")
    print(f"  goal: ratio <= 3: {'met' if ratio <= 3 else 'NOT met'}")
    print(f"cold_start_ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
