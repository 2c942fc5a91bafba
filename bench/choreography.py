"""Choreography benchmark: saga completions per second as a choreography against an orchestration, and the
cost of delivering one event with 10, 100 and 1,000 rules on the bus.

Run from anywhere: ``.venv/bin/python bench/choreography.py`` (about a minute). Both parts run in one process,
on the embedded runtime, and every figure is a median over rounds taken in the same run:

completions per second
    the reference order saga (workflows/order_saga.py) with its real handlers against moto DynamoDB, happy path
    and compensated path (ReserveInventory fails with OutOfStock: RefundPayment, CancelOrder), in two started
    clouds, one per mode. Each round runs a batch of each (mode, path) in a rotating order; a completion is a
    run that reached the saga's end (SUCCEEDED, or FAILED after its compensations). The orchestration is the
    inline engine on moto's interpreter; the choreography is the local bus, moto SQS queues, the adapter, the
    ledger and the saga log, every delivery through boto3 into moto.
delivery cost with N rules
    ``stepsaga.local.bus.EventBus`` with N rules on the bus, each with its own exact source and detail-type
    (N - 1 that never match, and the one that does, with a target that only counts), as a saga's rules are;
    for each N: PutEvents of one event and its delivery (matching included), in microseconds per event. The
    rules are indexed on their exact source and detail-type, so the cost should not grow with N: the line
    ``flat`` gives t(1000) / t(10). For contrast, ``unindexed`` gives the same with rules the index cannot
    place (a prefix on the source), which every event must be matched against.

The last line is always ``choreography_vs_orchestration=<x>``: choreography completions per second over
orchestration's, happy path, medians of the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

ROUNDS = 7
BATCH = 8
RULE_COUNTS = (10, 100, 1000)
EVENTS_PER_ROUND = 2000


def completions(rounds: int = ROUNDS, batch: int = BATCH) -> dict[tuple[str, str], list[float]]:
    """(mode, path) -> completions per second, one figure per round."""
    from moto import mock_aws

    from stepsaga.loader import load
    from stepsaga.local import EmbeddedCloud

    [saga] = load(str(ROOT / "workflows" / "order_saga.py"))
    order = json.loads((ROOT / "workflows" / "inputs" / "order.json").read_text())
    too_many = json.loads((ROOT / "workflows" / "inputs" / "too_many.json").read_text())
    inputs = {"happy": order, "compensated": too_many}
    out: dict[tuple[str, str], list[float]] = {(m, p): [] for m in ("orchestration", "choreography") for p in inputs}
    # The seed's stock, but enough of it for every happy run of a batch (LAMP-004 stays short: the compensated path).
    stock = json.loads((ROOT / "workflows" / "inputs" / "inventory_seed.json").read_text())
    seed = {"inventory": [{**item, "available": item["available"] if item["sku"] == "LAMP-004" else 1_000_000} for item in stock]}
    with mock_aws():
        clouds = {m: EmbeddedCloud(saga, seed=seed, root=ROOT, mode=m).__enter__() for m in ("orchestration", "choreography")}
        try:
            columns = list(out)
            for column in columns:  # a warm-up run each: handlers imported, models built
                run(clouds[column[0]], inputs[column[1]], column[1])
            for r in range(rounds):
                for column in columns[r % len(columns):] + columns[: r % len(columns)]:
                    started = time.perf_counter()
                    for _ in range(batch):
                        run(clouds[column[0]], inputs[column[1]], column[1])
                    out[column].append(batch / (time.perf_counter() - started))
        finally:
            for cloud in clouds.values():
                cloud.__exit__(None, None, None)
    return out


def run(cloud: Any, base: dict[str, Any], path: str) -> None:
    result = cloud.run({**base, "order_id": f"ord-{uuid.uuid4().hex[:10]}"})
    expected = ("SUCCEEDED", []) if path == "happy" else ("FAILED", ["RefundPayment", "CancelOrder"])
    if (result.status, result.compensations) != expected:
        raise SystemExit(f"{cloud.mode} {path}: {result.status} {result.compensations}, expected {expected}\n{result.timeline_text(160)}")


def delivery_cost(rules: int, indexed: bool = True, events: int = EVENTS_PER_ROUND) -> float:
    """Microseconds per event: PutEvents of one event and its delivery, with ``rules`` rules on the bus."""
    from stepsaga.local.bus import EventBus, Scheduler, Target
    from stepsaga.local.engine import VirtualClock

    bus = EventBus("bench", "123456789012", "us-east-1", Scheduler(VirtualClock()), 1_767_225_600.0)
    delivered = []
    for i in range(rules - 1):
        source = [f"shop.context{i}"] if indexed else [{"prefix": f"shop.context{i}."}]
        bus.put_rule(f"rule{i}", {"source": source, "detail-type": [f"Event{i}"], "detail": {"saga": ["BenchSaga"]}},
                     [Target(f"t{i}", "arn:aws:sqs:us-east-1:123456789012:q", lambda body: None)])
    bus.put_rule("matching", {"source": ["shop.orders"], "detail-type": ["OrderPlaced"], "detail": {"saga": ["BenchSaga"]}},
                 [Target("hit", "arn:aws:sqs:us-east-1:123456789012:hit", delivered.append)])
    entry = {"Source": "shop.orders", "DetailType": "OrderPlaced", "Detail": json.dumps({"saga": "BenchSaga", "n": 1}), "EventBusName": "bench"}
    started = time.perf_counter()
    for _ in range(events):
        bus.put_events([entry])
        while bus.scheduler.step():
            pass
    took = time.perf_counter() - started
    assert len(delivered) == events, (len(delivered), events)
    return took / events * 1e6


def main() -> None:
    import moto

    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs, moto {moto.__version__}")
    print("\nbus delivery: one event put and delivered, microseconds per event (median of 5 rounds)")
    flat = {}
    for indexed in (True, False):
        label = "indexed (exact source and detail-type)" if indexed else "unindexed (a prefix on the source)"
        figures = {n: statistics.median(delivery_cost(n, indexed, EVENTS_PER_ROUND if indexed else 200) for _ in range(5)) for n in RULE_COUNTS}
        print(f"  {label:<42} " + "  ".join(f"{n:>5} rules {figures[n]:>8.1f} us" for n in RULE_COUNTS))
        flat[indexed] = figures[RULE_COUNTS[-1]] / figures[RULE_COUNTS[0]]
    print(f"flat: t({RULE_COUNTS[-1]}) / t({RULE_COUNTS[0]}) = {flat[True]:.2f} indexed; {flat[False]:.2f} unindexed, for contrast")

    print(f"\norder saga with real handlers, {ROUNDS} rounds of {BATCH} runs per column; completions/s = median over rounds")
    figures = completions()
    med = {column: statistics.median(values) for column, values in figures.items()}
    for (mode, path), value in med.items():
        lo, hi = min(figures[(mode, path)]), max(figures[(mode, path)])
        print(f"  {mode:<14} {path:<12} {value:>7.1f} /s  ({lo:.1f}-{hi:.1f})  {1000 / value:>7.1f} ms per saga")
    paired = [c / o for c, o in zip(figures[("choreography", "happy")], figures[("orchestration", "happy")])]
    compensated = med[("choreography", "compensated")] / med[("orchestration", "compensated")]
    print(f"choreography / orchestration: happy {med[('choreography', 'happy')] / med[('orchestration', 'happy')]:.2f} "
          f"(per-round {min(paired):.2f}-{max(paired):.2f}), compensated {compensated:.2f}")
    print(f"choreography_vs_orchestration={med[('choreography', 'happy')] / med[('orchestration', 'happy')]:.2f}")


if __name__ == "__main__":
    main()
