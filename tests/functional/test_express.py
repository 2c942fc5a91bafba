"""An Express saga on the embedded cloud: the five-minute limit on the virtual clock, reusable names."""

from __future__ import annotations

import json
from pathlib import Path

from stepsaga import Saga
from stepsaga.local import EmbeddedCloud, Fail, Timeout, default_seed

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
ORDER = json.loads((INPUTS / "order.json").read_text())


def express_order_saga() -> Saga:
    from workflows.order_saga import saga

    return Saga("ExpressOrderSaga", steps=list(saga.steps), tables=list(saga.tables), workflow_type="EXPRESS")


def test_a_compensation_that_keeps_failing_times_out_at_300_s_with_no_repair_record():
    saga = express_order_saga()
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
