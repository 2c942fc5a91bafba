"""The DynamoDB actions each reference handler really calls are within what its role is granted.

The embedded cloud does not enforce IAM (moto answers every call), so a handler that calls an action
its role lacks would pass here and fail on AWS with AccessDeniedException. This test records every
DynamoDB call the real handlers make across the saga's paths, maps each to its IAM action (a
TransactWriteItems call to the action of each item: Put -> PutItem, Update -> UpdateItem, ...,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html) and
checks it against the actions the generated template grants that function.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from botocore.client import BaseClient

from stepsaga.local import CrashAfter, EmbeddedCloud, Fail, default_seed
from stepsaga.sam import table_actions
from workflows.order_saga import saga as order_saga

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
#: The handler file of each state: tasks/validate_order.py -> ValidateOrder.
FILES = {str(ROOT / (action.rsplit(".", 1)[0].replace(".", "/") + ".py")): state for state, action in order_saga.handlers().items()}


def _calling_state() -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        state = FILES.get(str(Path(frame.f_code.co_filename).resolve()))
        if state:
            return state
        frame = frame.f_back
    return None


def iam_actions(operation: str, params: dict) -> list[tuple[str, str]]:
    """(physical table, IAM action) for one DynamoDB API call."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        out = []
        for item in params["TransactItems"]:
            [(kind, body)] = item.items()
            out.append((body["TableName"], ITEM_ACTIONS[kind]))
        return out
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(t, operation) for t in params["RequestItems"]]
    return [(params["TableName"], operation)]


@pytest.fixture()
def calls(monkeypatch):
    seen: list[tuple[str, str, str]] = []
    original = BaseClient._make_api_call

    def record(self, operation, params):
        if self.meta.service_model.service_name == "dynamodb":
            state = _calling_state()
            if state is not None:
                seen.extend((state, table, action) for table, action in iam_actions(operation, params))
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", record)
    return seen


def test_every_dynamodb_call_of_every_handler_is_granted_by_its_role(calls):
    order = json.loads((INPUTS / "order.json").read_text())
    too_many = json.loads((INPUTS / "too_many.json").read_text())
    with EmbeddedCloud(order_saga, seed=default_seed(order_saga, INPUTS), root=ROOT) as cloud:
        runs = [
            (order, None, "ord-happy"),                                          # every step; SendNotification updates
            ({**order, "order_id": "ord-declined"}, {"ProcessPayment": Fail("PaymentDeclined")}, "ord-declined"),
            ({**too_many, "order_id": "ord-short"}, None, "ord-short"),           # OutOfStock: RefundPayment, CancelOrder
            ({**order, "order_id": "ord-crash"}, {"ReserveInventory": CrashAfter()}, "ord-crash"),  # ReleaseInventory's transaction
            (order, None, "ord-happy-2"),                                         # a second order with the same id: the conflict paths
        ]
        for payload, faults, name in runs:
            cloud.run(payload, faults, name=name)
    physical = {cloud.table_name(t.name): t.name for t in order_saga.tables}
    granted = {}
    for state in order_saga.handlers():
        decl = next((s for s in order_saga.steps if s.name == state), None) or next(
            s.compensation for s in order_saga.compensatable if s.compensation.name == state)
        granted[state] = table_actions(decl)
    used: dict[str, dict[str, set[str]]] = {}
    for state, table, action in calls:
        used.setdefault(state, {}).setdefault(physical[table], set()).add(action)
    assert set(used) == set(order_saga.handlers())  # every handler was exercised
    for state, tables in used.items():
        for table, actions in tables.items():
            assert actions <= set(granted[state].get(table, ())), (state, table, actions - set(granted[state].get(table, ())))
    # The transactions are authorised per item: ReserveInventory's holds Updates and a Put.
    assert {"UpdateItem", "PutItem"} <= used["ReserveInventory"]["inventory"]
    assert "UpdateItem" in used["ReleaseInventory"]["inventory"]


def test_the_recorder_sees_an_action_the_role_lacks():
    # Proves the check above can fail: a Scan would be recorded, and no role grants it.
    assert iam_actions("Scan", {"TableName": "t"}) == [("t", "Scan")]
    assert "Scan" not in {a for s in order_saga.steps for acts in table_actions(s).values() for a in acts}
    assert iam_actions("TransactWriteItems", {"TransactItems": [{"ConditionCheck": {"TableName": "t"}}, {"Delete": {"TableName": "u"}}]}) == [
        ("t", "ConditionCheckItem"), ("u", "DeleteItem")]
