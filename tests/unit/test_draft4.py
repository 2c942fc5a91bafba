"""to_draft4: each draft 2020-12 construct becomes draft 4 that accepts exactly the same documents."""

from __future__ import annotations

import pytest
from jsonschema import Draft4Validator, Draft202012Validator

from stepsaga.choreography.draft4 import DRAFT4, UNSUPPORTED, draft4_ref, to_draft4


def agree(schema: dict, good: list, bad: list) -> dict:
    """Convert, check the result against draft 4's meta-schema, and check both drafts agree on each sample."""
    converted = to_draft4(schema)
    Draft4Validator.check_schema(converted)
    for instance in good:
        assert Draft202012Validator(schema).is_valid(instance), ("the 2020-12 original rejects", instance)
        assert Draft4Validator(converted).is_valid(instance), ("draft 4 rejects", instance, converted)
    for instance in bad:
        assert not Draft202012Validator(schema).is_valid(instance), ("the 2020-12 original accepts", instance)
        assert not Draft4Validator(converted).is_valid(instance), ("draft 4 accepts", instance, converted)
    return converted


def test_defs_become_definitions_and_every_ref_follows():
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"Item": {"type": "object", "properties": {"sku": {"$ref": "#/$defs/Sku"}}, "required": ["sku"]},
                  "Sku": {"type": "string", "minLength": 1}},
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Item"}}},
    }
    out = agree(schema, [{"items": [{"sku": "a"}]}], [{"items": [{"sku": ""}]}, {"items": [{}]}])
    assert "$defs" not in out and set(out["definitions"]) == {"Item", "Sku"}
    assert out["properties"]["items"]["items"] == {"$ref": "#/definitions/Item"}
    assert out["definitions"]["Item"]["properties"]["sku"] == {"$ref": "#/definitions/Sku"}


def test_a_ref_renames_only_the_defs_keyword_not_a_property_of_that_name():
    assert draft4_ref("#/$defs/A/properties/$defs") == "#/definitions/A/properties/$defs"
    assert draft4_ref("#/properties/x/$defs/B") == "#/properties/x/definitions/B"
    assert draft4_ref("other.json#/$defs/A") == "other.json#/$defs/A"  # remote: not ours to rewrite
    assert draft4_ref("#") == "#"


def test_a_ref_with_siblings_keeps_them_through_allof():
    # 2020-12 applies the siblings of $ref; draft 4 ignores them, so they must move beside an allOf.
    schema = {"$defs": {"N": {"type": "integer"}}, "properties": {"n": {"$ref": "#/$defs/N", "minimum": 5, "description": "n"}}}
    out = agree(schema, [{"n": 5}], [{"n": 4}, {"n": "5"}])
    assert out["properties"]["n"] == {"allOf": [{"$ref": "#/definitions/N"}], "minimum": 5, "description": "n"}


@pytest.mark.parametrize(
    ("bounds", "expected", "good", "bad"),
    [
        ({"exclusiveMinimum": 0}, {"minimum": 0, "exclusiveMinimum": True}, [0.5], [0, -1]),
        ({"exclusiveMaximum": 10}, {"maximum": 10, "exclusiveMaximum": True}, [9.9], [10, 11]),
        ({"exclusiveMinimum": 3, "minimum": 5}, {"minimum": 5}, [5], [4.9]),  # the inclusive bound is stricter
        ({"minimum": 2, "exclusiveMinimum": 3}, {"minimum": 3, "exclusiveMinimum": True}, [3.1], [3]),
        ({"exclusiveMinimum": 3, "minimum": 3}, {"minimum": 3, "exclusiveMinimum": True}, [3.5], [3]),
        ({"exclusiveMaximum": 5, "maximum": 9}, {"maximum": 5, "exclusiveMaximum": True}, [4], [5]),
    ],
)
def test_numeric_exclusive_bounds_become_draft4_booleans(bounds, expected, good, bad):
    out = agree({"type": "number", **bounds}, good, bad)
    assert {k: v for k, v in out.items() if k not in ("$schema", "type")} == expected


def test_draft4_boolean_exclusive_bounds_pass_through():
    schema = {"$schema": DRAFT4, "type": "number", "minimum": 1, "exclusiveMinimum": True}
    assert to_draft4(schema) == schema


def test_const_becomes_a_one_value_enum():
    out = agree({"const": "OrderSagaStarted", "type": "string"}, ["OrderSagaStarted"], ["Other"])
    assert out["enum"] == ["OrderSagaStarted"] and "const" not in out
    both = agree({"const": "a", "enum": ["a", "b"]}, ["a"], ["b"])
    assert both["enum"] == ["a", "b"] and both["allOf"] == [{"enum": ["a"]}]


def test_prefix_items_become_an_items_array_and_items_become_additional_items():
    closed = agree({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": False},
                   [[1, "a"], [1]], [[1, "a", 2], ["a"]])
    assert closed["items"] == [{"type": "integer"}, {"type": "string"}] and closed["additionalItems"] is False
    open_tail = agree({"type": "array", "prefixItems": [{"type": "integer"}], "items": {"type": "boolean"}},
                      [[1, True, False]], [[1, "x"]])
    assert open_tail["additionalItems"] == {"type": "boolean"}
    no_tail = agree({"type": "array", "prefixItems": [{"type": "integer"}]}, [[1, "anything"]], [["x"]])
    assert "additionalItems" not in no_tail


def test_what_pydantic_emits_for_a_tuple_converts():
    pydantic = pytest.importorskip("pydantic")

    class M(pydantic.BaseModel):
        pair: tuple[int, str]

    out = agree(M.model_json_schema(), [{"pair": [1, "a"]}], [{"pair": [1, "a", 2]}, {"pair": ["a", 1]}])
    assert out["properties"]["pair"]["items"] == [{"type": "integer"}, {"type": "string"}]


def test_dependent_required_and_schemas_become_dependencies():
    out = agree({"dependentRequired": {"card": ["expiry"], "none": []}, "dependentSchemas": {"iban": {"required": ["bic"]}}},
                [{"card": 1, "expiry": 2}, {"iban": 1, "bic": 2}, {"none": 1}], [{"card": 1}, {"iban": 1}])
    assert out["dependencies"] == {"card": ["expiry"], "iban": {"required": ["bic"]}}


def test_if_then_else_becomes_an_anyof():
    schema = {"if": {"properties": {"kind": {"const": "card"}}, "required": ["kind"]},
              "then": {"required": ["token"]}, "else": {"required": ["iban"]}}
    agree(schema, [{"kind": "card", "token": "t"}, {"kind": "bank", "iban": "i"}, {"iban": "i"}],
          [{"kind": "card", "iban": "i"}, {"kind": "bank", "token": "t"}])
    agree({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, [{"a": 1, "b": 2}, {}], [{"a": 1}])


def test_contains_becomes_not_every_item_fails():
    out = agree({"contains": {"const": "vip"}}, [["a", "vip"], "not an array", 3], [["a"], []])
    Draft4Validator.check_schema(out)


def test_boolean_schemas_become_empty_and_never():
    out = agree({"properties": {"anything": True, "nothing": False}}, [{"anything": [1]}, {}], [{"nothing": 1}])
    assert out["properties"] == {"anything": {}, "nothing": {"not": {}}}
    kept = to_draft4({"additionalProperties": False, "items": {"additionalItems": True}})
    assert kept["additionalProperties"] is False  # draft 4 allows booleans here


def test_type_null_in_anyof_default_and_title_are_draft4_already():
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Step", "description": "d", "format": "uuid"}
    out = agree(schema, ["a", None], [1])
    assert {k: v for k, v in out.items() if k != "$schema"} == schema


def test_annotations_draft4_lacks_are_dropped_and_extensions_kept():
    schema = {"type": "string", "examples": ["x"], "$comment": "c", "deprecated": True, "readOnly": True, "writeOnly": False,
              "contentMediaType": "text/plain", "contentEncoding": "base64", "x-amazon-events-source": "shop"}
    assert to_draft4(schema) == {"$schema": DRAFT4, "type": "string", "x-amazon-events-source": "shop"}
    union = to_draft4({"oneOf": [{"$ref": "#/$defs/A"}], "discriminator": {"propertyName": "kind"}, "$defs": {"A": {}}})
    assert "discriminator" not in union


def test_an_empty_required_is_dropped_and_ids_renamed():
    out = agree({"$id": "https://x.example/s", "type": "object", "required": []}, [{}], [[]])
    assert "required" not in out and out["id"] == "https://x.example/s" and "$id" not in out


def test_schema_keyword_is_set_at_the_root_and_removed_below():
    out = to_draft4({"$schema": "https://json-schema.org/draft/2020-12/schema", "properties": {"a": {"$schema": DRAFT4, "type": "string"}}})
    assert list(out)[0] == "$schema" and out["$schema"] == DRAFT4
    assert out["properties"]["a"] == {"type": "string"}


def test_a_draft4_schema_passes_through_so_it_may_convert_twice():
    order = {
        "$schema": DRAFT4, "type": "object", "definitions": {"Id": {"type": "string"}},
        "properties": {"id": {"$ref": "#/definitions/Id"}, "pair": {"type": "array", "items": [{"type": "integer"}], "additionalItems": False},
                       "n": {"type": "number", "maximum": 3, "exclusiveMaximum": True}},
        "dependencies": {"a": ["b"]}, "required": ["id"],
    }
    assert to_draft4(order) == order
    twice = {"$defs": {"A": {"const": 1}}, "properties": {"a": {"$ref": "#/$defs/A", "title": "a"}, "b": {"exclusiveMinimum": 0}}}
    assert to_draft4(to_draft4(twice)) == to_draft4(twice)


@pytest.mark.parametrize("keyword", UNSUPPORTED)
def test_keywords_without_a_draft4_equivalent_are_refused_with_where(keyword):
    with pytest.raises(ValueError, match=rf"^#/properties/a/{keyword.replace('$', '[$]')}: {keyword.replace('$', '[$]')} has no equivalent in JSON Schema draft 4$"):
        to_draft4({"properties": {"a": {keyword: {}}}})


def test_the_input_is_not_changed():
    schema = {"$defs": {"A": {"const": 1}}, "properties": {"a": {"$ref": "#/$defs/A"}}}
    before = repr(schema)
    to_draft4(schema)
    assert repr(schema) == before
