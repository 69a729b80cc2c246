"""The declared event schema: numeric bounds parsed from JSON Schema keywords, bad ones named by their key."""

import math
from decimal import Decimal

import pytest

from ingest.config import DEFAULT_SCHEMA
from ingest.errors import ConfigError
from ingest.schema import NumberRange, from_json_schema, load_schema


def schema_of(**amount) -> dict:
    return {"type": "object", "properties": {"amount": {"type": "number", **amount}, "name": {"type": "string"}}}


def number_range(**amount) -> NumberRange | None:
    return from_json_schema(schema_of(**amount)).field("amount").number_range


def test_minimum_and_maximum_become_the_fields_range():
    got = number_range(minimum=-10, maximum=2.5)
    assert got == NumberRange(minimum=-10, maximum=2.5)
    assert got.bounds() == [("minimum", -10), ("maximum", 2.5)]


def test_exclusive_bounds_are_kept_apart_from_inclusive_ones():
    got = number_range(exclusiveMinimum=0, exclusiveMaximum=1e9)
    assert got == NumberRange(exclusive_minimum=0, exclusive_maximum=1e9)
    assert got.bounds() == [("exclusiveMinimum", 0), ("exclusiveMaximum", 1e9)]
    assert number_range(minimum=0, exclusiveMinimum=-1).bounds() == [("minimum", 0), ("exclusiveMinimum", -1)]


def test_a_field_without_bounds_has_no_range():
    schema = from_json_schema(schema_of())
    assert schema.field("amount").number_range is None
    assert schema.field("name").number_range is None


def test_an_integer_field_takes_bounds_too():
    schema = from_json_schema({"type": "object", "properties": {"n": {"type": ["integer", "null"], "minimum": 1}}})
    assert schema.field("n").number_range == NumberRange(minimum=1)


@pytest.mark.parametrize(
    ("keywords", "key", "allowed"),
    [
        ({"minimum": "0"}, "properties.amount.minimum", "a finite number"),
        ({"maximum": None}, "properties.amount.maximum", "a finite number"),
        ({"maximum": math.inf}, "properties.amount.maximum", "a finite number"),
        ({"minimum": math.nan}, "properties.amount.minimum", "a finite number"),
        ({"maximum": 10**400}, "properties.amount.maximum", "a finite number"),
        ({"maximum": 5, "exclusiveMaximum": True}, "properties.amount.exclusiveMaximum", "not draft 4's true/false"),
        ({"exclusiveMinimum": [0]}, "properties.amount.exclusiveMinimum", "a finite number"),
        ({"minimum": 10, "maximum": 1}, "properties.amount.minimum", "maximum is 1"),
        ({"exclusiveMinimum": 1, "maximum": 1}, "properties.amount.exclusiveMinimum", "maximum is 1"),
        ({"minimum": 1, "exclusiveMaximum": 1}, "properties.amount.minimum", "exclusiveMaximum is 1"),
    ],
)
def test_a_bad_bound_is_a_config_error_naming_its_key(keywords, key, allowed):
    with pytest.raises(ConfigError) as err:
        from_json_schema(schema_of(**keywords))
    assert err.value.key == key
    assert allowed in err.value.allowed


def test_a_bound_on_a_field_that_is_not_a_number_is_a_config_error():
    document = {"type": "object", "properties": {"name": {"type": "string", "maximum": 3}}}
    with pytest.raises(ConfigError) as err:
        from_json_schema(document)
    assert err.value.key == "properties.name.maximum"
    assert err.value.allowed == "a bound of an integer or number field only"


def test_a_minimum_equal_to_the_maximum_is_allowed():
    assert number_range(minimum=1, maximum=1) == NumberRange(minimum=1, maximum=1)


def test_the_seed_schemas_amount_range_keeps_an_hours_revenue_within_the_marts_decimal():
    amount = load_schema(DEFAULT_SCHEMA).field("amount").number_range
    assert amount == NumberRange(minimum=-1_000_000_000, maximum=1_000_000_000)
    # hourly_event_counts sums amount per hour/type/category into decimal(18, 2)
    largest = Decimal("9999999999999999.99")
    assert 9_999_999 * max(abs(amount.minimum), amount.maximum) <= largest
