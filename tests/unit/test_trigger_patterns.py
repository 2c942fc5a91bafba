"""EventTrigger patterns against the trigger's model: every pattern that could never match is refused when
the saga is built, with the field, why, and what to write instead (stepsaga.trigger_patterns)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

import stepsaga.trigger_patterns as trigger_patterns
from stepsaga import Compensation, DefinitionError, EventTrigger, Saga, Step
from stepsaga.choreography.events import EventDetail
from stepsaga.choreography.plan import plan, trigger_pattern
from stepsaga.loader import load
from stepsaga.trigger_patterns import envelope, field_types, pattern_leaves, pattern_problems
from tests.unit.test_definition_errors import _lines_run_by

ROOT = Path(__file__).resolve().parents[2]


class Customer(BaseModel):
    id: str
    name: str
    tier: int


class OrderPlaced(BaseModel):
    order_id: str
    amount: Decimal
    total: float
    channel: str
    rush: bool
    customer: Customer
    tags: list[str]
    lines: list[Customer]
    note: str | None = None


class Broken:
    """A model whose schema cannot be built."""

    @classmethod
    def model_json_schema(cls, mode="validation"):
        raise TypeError("cannot describe Broken")


class Listy:
    """A model whose schema is not a dict."""

    @staticmethod
    def model_json_schema(mode="validation"):
        return ["not", "a", "schema"]


def shop(**trigger: object) -> Saga:
    return Saga("Shop", [Step("A", "tasks.a.handler")], triggers=[EventTrigger("shop.orders", "OrderPlaced", **trigger)])


BAD_PATTERNS = [
    pytest.param(dict(pattern={"detail": {"channel": [{"wildcard": "we**b"}]}}),
                 'saga Shop: triggers[0].pattern is one PutRule rejects: detail.channel[0]: wildcard "we**b" has consecutive wildcard characters at character 4, which EventBridge does not support; write one *',
                 id='putrule_rejects'),
    pytest.param(dict(pattern={"detail": {"amount": [{"numeric": [">", 6e9]}]}}),
                 'saga Shop: triggers[0].pattern is one PutRule rejects: detail.amount[0]: numeric > 6000000000.0 is outside -5.0e9 to 5.0e9, the numbers numeric matching works on; compare within that range',
                 id='putrule_range'),
    pytest.param(dict(pattern={"detail": {"channel": ["web"]}}, model=42),
                 "saga Shop: triggers[0].model is int, neither a pydantic model nor a JSON schema; pass the model class of the event's detail, for example model=OrderPlaced, or its JSON schema as a dict",
                 id='not_a_model'),
    pytest.param(dict(pattern={"detail": {"channel": ["web"]}}, model=Broken),
                 'saga Shop: triggers[0].model gives no JSON schema (TypeError: cannot describe Broken); give the model fields that have a JSON form',
                 id='model_raises'),
    pytest.param(dict(pattern={"detail": {"channel": ["web"]}}, model=Listy),
                 'saga Shop: triggers[0].model gives list as its JSON schema, not a dict; pass a pydantic model class or a JSON schema',
                 id='model_not_dict'),
    pytest.param(dict(pattern="detail.channel = web"),
                 "saga Shop: triggers[0].pattern is str, not an event pattern; write a dict of fields to lists of values, for example {'detail': {'channel': ['web']}}",
                 id='not_a_dict'),
    pytest.param(dict(pattern={"detail": {"$or": [{"channel": ["web"]}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern has an $or at detail that is not a list of two or more patterns; write {'$or': [{...}, {...}]}, each branch a pattern of its own",
                 id='bad_or'),
    pytest.param(dict(pattern={"$or": [{"detail-type": ["OrderPaid"]}, {"detail": {"channel": ["web"]}}]}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern sets 'detail-type', which the trigger's own detail_type sets; remove 'detail-type' from the pattern and write EventTrigger(detail_type=...); declare one trigger per detail-type",
                 id='sets_detail_type'),
    pytest.param(dict(pattern={"detail": {"rush": True}}, model=OrderPlaced),
                 'saga Shop: triggers[0].pattern gives detail.rush the value True, but a pattern lists the values a field may match; write [True]',
                 id='not_a_list'),
    pytest.param(dict(pattern={"detail": {"channel": []}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern gives detail.channel an empty list, which EventBridge rejects; list the values it may match, or write [{'exists': True}]",
                 id='empty_list'),
    pytest.param(dict(pattern={"detail": {"channel": [{"prefix": "w", "suffix": "b"}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern matches detail.channel with {'prefix': 'w', 'suffix': 'b'}, which is neither a value nor one comparison operator; write one operator per object, for example [{'prefix': 'a'}, {'suffix': 'b'}]",
                 id='two_operators'),
    pytest.param(dict(pattern={"detail": {"channel": [["web"]]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern matches detail.channel with ['web'], which is neither a value nor one comparison operator; write one operator per object, for example [{'prefix': 'a'}, {'suffix': 'b'}]",
                 id='nested_list'),
    pytest.param(dict(pattern={"detail": {"channel": [{"startswith": "w"}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern uses 'startswith' on detail.channel, which is not an EventBridge comparison operator; use one of prefix, suffix, wildcard, equals-ignore-case, cidr, numeric, anything-but, exists",
                 id='unknown_operator'),
    pytest.param(dict(pattern={"detail": {"channel": [{"zz": "w"}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern uses 'zz' on detail.channel, which is not an EventBridge comparison operator; use one of prefix, suffix, wildcard, equals-ignore-case, cidr, numeric, anything-but, exists",
                 id='unknown_operator_far'),
    pytest.param(dict(pattern={"detail": {"total": [{"numeric": [">", "100"]}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern compares detail.total with numeric ['>', '100'], but numeric takes comparisons (<, <=, =, >, >=) each followed by a number; write for example {'numeric': ['>', 0, '<=', 100]}",
                 id='numeric_malformed'),
    pytest.param(dict(pattern={"detail": {"total": [{"numeric": [">", 1, "<"]}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern compares detail.total with numeric ['>', 1, '<'], but numeric takes comparisons (<, <=, =, >, >=) each followed by a number; write for example {'numeric': ['>', 0, '<=', 100]}",
                 id='numeric_odd'),
    pytest.param(dict(pattern={"detail": {"customer": [{"exists": True}]}}, model=OrderPlaced),
                 'saga Shop: triggers[0].pattern filters detail.customer, which is an object in JSON, but a pattern matches only strings, numbers and booleans (or arrays of them); filter a field inside it, such as detail.customer.id',
                 id='object_field'),
    pytest.param(dict(pattern={"detail": ["x"]}),
                 'saga Shop: triggers[0].pattern filters detail, which is an object in JSON, but a pattern matches only strings, numbers and booleans (or arrays of them); filter a field inside it',
                 id='whole_detail'),
    pytest.param(dict(pattern={"detail": {"channel": [100]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern matches detail.channel with 100, a JSON number, but the field is a JSON string, so the rule never matches; write '100'",
                 id='number_on_string'),
    pytest.param(dict(pattern={"detail": {"total": ["100"]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern matches detail.total with '100', a JSON string, but the field is a JSON number, so the rule never matches; write 100",
                 id='string_on_number'),
    pytest.param(dict(pattern={"detail": {"rush": ["true"]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern matches detail.rush with 'true', a JSON string, but the field is a JSON boolean, so the rule never matches; write True",
                 id='string_on_boolean'),
    pytest.param(dict(pattern={"detail": {"channel": [None]}}, model=OrderPlaced),
                 'saga Shop: triggers[0].pattern matches detail.channel with None, a JSON null, but the field is a JSON string, so the rule never matches; write a string value',
                 id='null_on_required'),
    pytest.param(dict(pattern={"detail": {"tags": [1]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern matches detail.tags with 1, a JSON number, but the field is a JSON string, so the rule never matches; write '1'",
                 id='number_on_array_of_strings'),
    pytest.param(dict(pattern={"detail": {"amount": [{"numeric": [">=", 100]}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern compares detail.amount with numeric, but the field is a JSON string (pydantic writes Decimal as a JSON string), and numeric matches only JSON numbers, so the rule never matches; declare the field as float or int, or match it as a string, for example ['100.00'] or [{'prefix': '100.'}]",
                 id='decimal_numeric'),
    pytest.param(dict(pattern={"detail": {"channel": [{"numeric": ["=", 1]}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern compares detail.channel with numeric, but the field is a JSON string, and numeric matches only JSON numbers, so the rule never matches; match it as a string, for example ['100'] or [{'prefix': '1'}], or declare the field as a number",
                 id='str_numeric'),
    pytest.param(dict(pattern={"detail": {"total": [{"prefix": "1"}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern matches detail.total with prefix, but the field is a JSON number, and prefix matches only strings, so the rule never matches; compare it with numeric, for example [{'numeric': ['>=', 100]}], or list exact values such as [100]",
                 id='prefix_on_number'),
    pytest.param(dict(pattern={"detail": {"rush": [{"wildcard": "t*"}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern matches detail.rush with wildcard, but the field is a JSON boolean, and wildcard matches only strings, so the rule never matches; list exact values of the field's type",
                 id='wildcard_on_boolean'),
    pytest.param(dict(pattern={"detail": {"lines": {"tier": [{"equals-ignore-case": "gold"}]}}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern matches detail.lines.tier with equals-ignore-case, but the field is a JSON number, and equals-ignore-case matches only strings, so the rule never matches; compare it with numeric, for example [{'numeric': ['>=', 100]}], or list exact values such as [100]",
                 id='equals_ignore_case_in_array'),
    pytest.param(dict(pattern={"detail": {"total": [{"anything-but": {"prefix": "1"}}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern excludes from detail.total with anything-but {'prefix': '1'}, but the field is a JSON number, and that matches only strings, so the rule never matches; list the exact values to exclude",
                 id='anything_but_prefix_on_number'),
    pytest.param(dict(pattern={"detail": {"channel": [{"anything-but": ["web", 3]}]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern excludes 3, a JSON number, from detail.channel with anything-but, but the field is a JSON string, so nothing is excluded; write '3'",
                 id='anything_but_wrong_type'),
    pytest.param(dict(pattern={"channel": ["web"]}),
                 "saga Shop: triggers[0].pattern filters 'channel', which is not a field of an EventBridge event (version, id, detail-type, source, account, time, region, resources, detail, replay-name); filter the event's own fields under 'detail', for example {'detail': {'channel': [...]}}",
                 id='not_an_envelope_field'),
    pytest.param(dict(pattern={"detail": {"customer": {"nme": ["Ada"]}}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern filters detail.customer.nme, but detail.customer has no field 'nme', so the rule never matches; did you mean detail.customer.name?",
                 id='close_field'),
    pytest.param(dict(pattern={"detail": {"zzz": ["x"]}}, model=OrderPlaced),
                 "saga Shop: triggers[0].pattern filters detail.zzz, but the model OrderPlaced has no field 'zzz', so the rule never matches; filter one of its fields: order_id, amount, total, channel, rush, customer, tags, lines, note",
                 id='far_field'),
    pytest.param(dict(pattern={"detail": {"y": ["x"]}}, model={"type": "object", "patternProperties": {"^x": {"type": "string"}}}),
                 "saga Shop: triggers[0].pattern filters detail.y, but detail has no field 'y', so the rule never matches; filter a field the model declares",
                 id='no_names'),
    pytest.param(dict(pattern={"time": [{"numeric": [">", 0]}]}),
                 'saga Shop: triggers[0].pattern compares time with numeric, but the field is a JSON string, and numeric matches only JSON numbers, so the rule never matches; match it as a string, with exact values, prefix, suffix or wildcard',
                 id='envelope_time_numeric'),
]


@pytest.mark.parametrize(("trigger", "message"), BAD_PATTERNS)
def test_a_pattern_that_cannot_match_is_refused_with_exact_message(trigger, message):
    with pytest.raises(DefinitionError) as caught:
        shop(**trigger)
    assert str(caught.value) == message
    assert len(caught.value.problems) == 1


def test_pydantic_writes_decimal_as_a_json_string_and_reads_it_from_a_number():
    # The rule rests on this: if pydantic ever writes Decimal as a number, numeric on it would match.
    class Price(BaseModel):
        amount: Decimal

    assert Price.model_json_schema(mode="serialization")["properties"]["amount"]["type"] == "string"
    assert Price(amount=Decimal("1.5")).model_dump_json() == '{"amount":"1.5"}'
    assert {"type": "number"} in Price.model_json_schema(mode="validation")["properties"]["amount"]["anyOf"]


@pytest.mark.parametrize(
    "pattern",
    [
        {"detail": {"channel": ["web", "app"], "rush": [True], "total": [{"numeric": [">", 0, "<=", 100]}, 250.5]}},
        {"detail": {"amount": ["100.00", {"prefix": "1"}], "note": [None, {"exists": False}]}},
        {"detail": {"customer": {"tier": [{"numeric": [">=", 2]}], "name": [{"equals-ignore-case": "ada"}]}}},
        {"detail": {"lines": {"tier": [1, 2]}, "tags": [{"anything-but": ["test"]}, {"wildcard": "v*p"}]}},
        {"detail": {"$or": [{"channel": ["web"]}, {"customer": {"id": [{"suffix": "-1"}]}}]}},
        {"account": ["123456789012"], "region": [{"prefix": "eu-"}], "resources": [{"prefix": "arn:aws:s3:"}]},
        {"detail": {"channel": [{"anything-but": {"prefix": "int"}}], "order_id": [{"anything-but": "o-0"}]}},
    ],
)
def test_patterns_on_fields_of_the_right_type_are_accepted(pattern):
    saga = shop(pattern=pattern, model=OrderPlaced)
    assert trigger_pattern(saga.triggers[0]) == {"source": ["shop.orders"], "detail-type": ["OrderPlaced"], **pattern}


def test_without_a_model_only_the_shape_and_the_envelope_are_checked():
    shop(pattern={"detail": {"anything": {"deep": [{"numeric": [">", 1]}]}}})
    with pytest.raises(DefinitionError, match="filters 'channel', which is not a field of an EventBridge event"):
        shop(pattern={"channel": ["web"]})


def test_a_json_schema_model_with_refs_and_any_fields():
    model = {
        "title": "OrderPaid", "type": "object",
        "$defs": {"Money": {"type": "object", "properties": {"value": {"type": "number"}, "currency": {"type": "string"}}}},
        "properties": {"paid": {"$ref": "#/$defs/Money"}, "extra": {}, "meta": {"type": "object", "additionalProperties": {"type": "integer"}},
                       "both": {"allOf": [{"type": ["string", "number"]}, {"type": "number"}]}},
    }
    shop(pattern={"detail": {"paid": {"value": [{"numeric": [">", 0]}]}, "extra": ["anything", 1], "meta": {"k": [1]}}}, model=model)
    with pytest.raises(DefinitionError, match=r"matches detail.paid.currency with 1, a JSON number, but the field is a JSON string"):
        shop(pattern={"detail": {"paid": {"currency": [1]}}}, model=model)
    with pytest.raises(DefinitionError, match=r"matches detail.meta.k with 'x', a JSON string, but the field is a JSON number"):
        shop(pattern={"detail": {"meta": {"k": ["x"]}}}, model=model)
    with pytest.raises(DefinitionError, match=r"detail.both with prefix, but the field is a JSON number"):
        shop(pattern={"detail": {"both": [{"prefix": "1"}]}}, model=model)


def test_a_recursive_model_resolves():
    class Node(BaseModel):
        name: str
        child: "Node | None" = None

    shop(pattern={"detail": {"child": {"child": {"name": ["leaf"]}}}}, model=Node)
    with pytest.raises(DefinitionError, match="detail.child.child.name with 1, a JSON number"):
        shop(pattern={"detail": {"child": {"child": {"name": [1]}}}}, model=Node)


def test_every_problem_of_a_pattern_is_listed_in_one_error():
    with pytest.raises(DefinitionError) as caught:
        shop(pattern={"source": ["x"], "detail": {"amount": [{"numeric": [">", 1]}], "chanel": ["web"], "rush": "yes"}}, model=OrderPlaced)
    assert [p.field for p in caught.value.problems] == ["triggers[0].pattern"] * 4
    assert [p.what.split(",")[0] for p in caught.value.problems] == [
        "sets 'source'", "gives detail.rush the value 'yes'", "compares detail.amount with numeric", "filters detail.chanel"]


def test_the_table_covers_every_problem_the_module_reports():
    # Every problem is a (field, what, instead) tuple built on one line of trigger_patterns.py; each must run for a row.
    lines = inspect.getsource(trigger_patterns).splitlines()
    sites = {node.lineno for node in ast.walk(ast.parse("\n".join(lines)))
             if isinstance(node, ast.Tuple) and len(node.elts) == 3 and isinstance(node.elts[0], ast.Name) and node.elts[0].id == "field"}
    assert len(sites) > 15, f"found only {len(sites)} problem sites: the finder is out of date"
    rows = [pytest.param(lambda kw=row.values[0]: shop(**kw)) for row in BAD_PATTERNS]
    missed = sites - _lines_run_by(rows, trigger_patterns)
    assert not missed, "no row reaches these rules; add a row for each:\n" + "\n".join(f"  line {n}: {lines[n - 1].strip()}" for n in sorted(missed))


# --- the saga's own rules ----------------------------------------------------------------------


def choreographies() -> list[Saga]:
    """The reference saga, and one whose failure events split on business_error (the $or patterns)."""
    split = Saga("Split", [
        Step("A", "tasks.a.handler", compensation=Compensation("UndoA", "compensations.a.handler")),
        Step("B", "tasks.b.handler", compensation=Compensation("UndoB", "compensations.b.handler"), business_errors=["No"]),
        Step("C", "tasks.c.handler", retriable=True),
    ], triggers=[EventTrigger("shop.orders", "OrderPlaced")])
    return [load(str(ROOT / "workflows" / "order_saga.py"))[0], split]


def test_the_saga_s_own_rules_filter_only_string_and_boolean_fields_of_the_detail():
    detail = envelope(EventDetail.model_json_schema(mode="serialization"))
    seen = set()
    for saga in choreographies():
        the_plan = plan(saga)
        for consumer in the_plan.consumers:
            if consumer.kind == "start":
                continue  # its rule is the trigger's own pattern
            pattern = the_plan.pattern(consumer)
            assert pattern_problems(pattern, detail, fixed=()) == [], (saga.name, consumer.name)
            for path, _ in pattern_leaves(pattern):
                types = field_types(detail, path)
                assert types is not None and types - {"null"} <= {"string", "boolean"} and types - {"null"}, (consumer.name, path, types)
                seen.add(path)
    assert seen == {("source",), ("detail-type",), ("detail", "saga"), ("detail", "business_error")}


def test_field_types_follows_refs_arrays_and_says_what_is_missing():
    schema = envelope(EventDetail.model_json_schema(mode="serialization"))
    assert field_types(schema, ("detail", "error", "Error")) == {"string"}
    assert field_types(schema, ("detail", "attempts", "waited")) == {"number"}  # inside an array of objects
    assert field_types(schema, ("detail", "error")) == {"object", "null"}
    assert field_types(schema, ("detail", "results", "Any", "output")) is None  # Any: nothing known
    with pytest.raises(KeyError, match="colour"):
        field_types(schema, ("detail", "colour"))
    assert pattern_problems({"detail": {"attempts": ["x"]}}, schema)[0][1].startswith("filters detail.attempts, which is an object in JSON")
    # An optional object may be matched as null (an event without an error), never as a string.
    assert pattern_problems({"detail": {"error": [None]}}, schema) == []
    assert pattern_problems({"detail": {"error": ["x"]}}, schema)[0][1] == (
        "matches detail.error with 'x', a JSON string, but the field is a JSON object, so the rule never matches")


def test_checking_patterns_imports_no_pydantic():
    code = ("import sys; from stepsaga import Saga, Step, EventTrigger;"
            "Saga('S', [Step('A', 'tasks.a.handler')], triggers=[EventTrigger('s', 'D', pattern={'detail': {'a': [1]}}, "
            "model={'type': 'object', 'properties': {'a': {'type': 'integer'}}})]);"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'typing', 'dataclasses'}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
