"""stepsaga.names is the one home of the compiler's names: every state and placeholder the compiler writes comes from it."""

from __future__ import annotations

import json
import re

from stepsaga import names
from stepsaga.orchestration import placeholders, to_asl
from workflows.order_saga import saga as order_saga


def test_every_state_the_compiler_adds_is_reserved_or_derived_in_names():
    doc = json.loads(to_asl(order_saga))
    own = {s.name for s in order_saga.steps} | {s.compensation.name for s in order_saga.steps if s.compensation}
    derived = {names.dead_letter_state(n) for n in own} | {names.repair_record_state(n) for n in own}
    added = set(doc["States"]) - own
    assert added and added <= set(names.RESERVED_STATE_NAMES) | derived
    assert doc["StartAt"] == names.BEGIN
    # the order saga has every kind of added state: a change of spelling in names.py shows up here
    assert set(names.RESERVED_STATE_NAMES) <= added


def test_placeholders_round_trip_through_names():
    text = to_asl(order_saga)
    used = re.findall(names.PLACEHOLDER_PATTERN, text)
    assert sorted(set(used)) == sorted(placeholders(order_saga))
    states = [names.placeholder_state(p) for p in placeholders(order_saga)]
    assert states == [*order_saga.handlers(), None]  # the last one is the queue's URL
    assert names.DLQ_PLACEHOLDER == placeholders(order_saga)[-1]
    for state in order_saga.handlers():
        assert names.referenced_state(names.function_reference(state)) == state
        assert names.function_reference(state) in text
    assert names.referenced_state("arn:aws:lambda:us-east-1:123456789012:function:x") is None


def test_the_asl_file_name_is_the_snake_case_saga_name():
    assert names.asl_file_name("OrderSaga") == "order_saga.asl.json"
    assert names.asl_file_name("HTTPOrderSaga") == "http_order_saga.asl.json"


def test_a_step_name_leaves_room_for_its_derived_states_within_asls_name_limit():
    from stepsaga.asl.limits import MAX_NAME_LENGTH
    from stepsaga.model import _MAX_NAME

    longest = max(len(names.dead_letter_state("")), len(names.repair_record_state("")))
    assert _MAX_NAME + longest <= MAX_NAME_LENGTH
