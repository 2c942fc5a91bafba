"""Cloud start and reset benchmark: the order saga's EmbeddedCloud, first in a process and later, in both modes.

Run from anywhere: ``.venv/bin/python bench/cloud_start.py`` (about a minute). Each sample is a new process
(so that its first cloud is the first of the saga there): imports done, it starts the first cloud of the
order saga (real handlers, seeded tables), stops it, then starts and stops LATER more; with
``EmbeddedCloud.reset`` it also runs the happy path and resets, RESETS times. Printed: medians over the
samples of wall and CPU milliseconds for the first start, a later start (the median of each process's
later ones) and a reset, per mode, and the ANTLR parses each kind of start made.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = 7
LATER = 5
RESETS = 20


def _one(mode: str) -> dict[str, object]:
    """One process's figures (run in a child)."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    sys.path.insert(0, REPO)
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    from stepsaga.loader import load
    from stepsaga.local import EmbeddedCloud, default_seed

    parses = [0]
    original = AmazonStateLanguageParser.parse

    def counting(definition: str) -> object:
        parses[0] += 1
        return original(definition)

    AmazonStateLanguageParser.parse = staticmethod(counting)  # type: ignore[method-assign]
    [saga] = load(os.path.join(REPO, "workflows", "order_saga.py"))
    seed = default_seed(saga, os.path.join(REPO, "workflows", "inputs"))
    order = json.load(open(os.path.join(REPO, "workflows", "inputs", "order.json"), encoding="utf-8"))
    starts = []
    for _ in range(1 + LATER):
        before, wall, cpu = parses[0], time.perf_counter(), time.process_time()
        cloud = EmbeddedCloud(saga, seed=seed, root=REPO, mode=mode).__enter__()
        starts.append((time.perf_counter() - wall, time.process_time() - cpu, parses[0] - before))
        cloud.__exit__(None, None, None)
    resets = []
    with EmbeddedCloud(saga, seed=seed, root=REPO, mode=mode) as cloud:
        if hasattr(cloud, "reset"):
            for _ in range(RESETS):
                cloud.run(order)
                wall, cpu = time.perf_counter(), time.process_time()
                cloud.reset()
                resets.append((time.perf_counter() - wall, time.process_time() - cpu))
    return {"first": starts[0], "later": [statistics.median(x) for x in zip(*starts[1:])],
            "reset": [statistics.median(x) for x in zip(*resets)] if resets else None}


def main() -> None:
    """Print the medians of SAMPLES processes per mode."""
    for mode in ("orchestration", "choreography"):
        runs = []
        for _ in range(SAMPLES):
            out = subprocess.run([sys.executable, __file__, "--one", mode], capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        first = [statistics.median(r["first"][i] for r in runs) for i in range(3)]
        later = [statistics.median(r["later"][i] for r in runs) for i in range(3)]
        print(f"{mode}: first cloud start {first[0] * 1000:.0f} ms wall, {first[1] * 1000:.0f} ms CPU, {first[2]:.0f} ASL parse(s); "
              f"later starts {later[0] * 1000:.0f} ms wall, {later[1] * 1000:.0f} ms CPU, {later[2]:.0f} ASL parse(s)")
        if runs[0]["reset"] is not None:
            reset = [statistics.median(r["reset"][i] for r in runs) for i in range(2)]
            print(f"{mode}: reset {reset[0] * 1000:.2f} ms wall, {reset[1] * 1000:.2f} ms CPU")
        else:
            print(f"{mode}: no EmbeddedCloud.reset")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(_one(sys.argv[2])))
    else:
        main()
