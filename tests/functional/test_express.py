"""An Express saga on the embedded cloud: the five-minute limit on the virtual clock, reusable names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stepsaga import Retry, Saga
from stepsaga.errors import DefinitionError
from stepsaga.local import EmbeddedCloud, Fail, Timeout, default_seed

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
ORDER = json.loads((INPUTS / "order.json").read_text())


def express_order_saga() -> Saga:
    """The order saga as EXPRESS, with timeouts and retries short enough for the model's 300 s budget."""
    from workflows.order_saga import saga

    once = Retry(["States.ALL"], interval_seconds=1, max_attempts=1)
    return Saga("ExpressOrderSaga", steps=list(saga.steps), tables=list(saga.tables), workflow_type="EXPRESS",
                task_timeout_seconds=12, transient_retry=None, compensation_retry=once, retriable_retry=once)


def unchecked_express_order_saga() -> Saga:
    """The order saga as EXPRESS with its default retries: the model rejects it (its worst case is
    far over 300 s), so it is built without validation, to show the runtime applies the limit on its own
    (as AWS does to any ASL, hand-written included)."""
    from workflows.order_saga import saga

    with pytest.raises(DefinitionError, match="runs for at most 300 seconds"):
        Saga("ExpressOrderSaga", steps=list(saga.steps), tables=list(saga.tables), workflow_type="EXPRESS")
    values = {name: getattr(saga, name) for name in Saga.__slots__}
    values.update(name="ExpressOrderSaga", workflow_type="EXPRESS")
    unchecked = Saga.__new__(Saga)
    unchecked._init(**values)
    return unchecked


def test_a_compensation_that_keeps_failing_times_out_at_300_s_with_no_repair_record():
    saga = unchecked_express_order_saga()
    with EmbeddedCloud(saga, seed=default_seed(saga, INPUTS), root=ROOT) as cloud:
        # the stock runs out, then every refund attempt times out (60 s each, then the retry waits)
        result = cloud.run(ORDER, {"ReserveInventory": Fail("OutOfStock"), "RefundPayment": Timeout()})
        assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")
        assert result.history[-1]["type"] == "ExecutionTimedOut"
        assert result.dlq == [] and "SagaCompensationFailed" not in result.entered
        assert result.virtual_seconds == 300
        # the payment stays charged: on AWS too, an Express timeout ends the saga where it stands
        assert [p["status"] for p in cloud.items("payments")] == ["CHARGED"]


def test_an_express_name_can_be_used_twice():
    saga = express_order_saga()
    with EmbeddedCloud(saga, seed=default_seed(saga, INPUTS), root=ROOT) as cloud:
        first = cloud.run({**ORDER, "order_id": "ord-7001"}, name="order-7001")
        second = cloud.run({**ORDER, "order_id": "ord-7002"}, name="order-7001")
        assert first.status == second.status == "SUCCEEDED"
        keys = [{c.event["idempotency_key"] for c in r.calls if c.state == "ProcessPayment"} for r in (first, second)]
        saga_ids = [{c.event["saga_id"] for c in r.calls} for r in (first, second)]
        # one saga id per run, taken from the execution ARN (express form, unique per run), not the shared name
        assert all(len(ids) == 1 for ids in saga_ids) and saga_ids[0] != saga_ids[1], saga_ids
        assert all(":express:ExpressOrderSaga" in s and ":order-7001:" in s for ids in saga_ids for s in ids), saga_ids
        assert keys[0].isdisjoint(keys[1])
        assert sorted(p["order_id"] for p in cloud.items("payments")) == ["ord-7001", "ord-7002"]
