"""Decimal fields: declared in a JSON Schema ("format": "decimal") or Avro (bytes/fixed with logicalType decimal),
written as Parquet decimal(precision, scale), never rounded: a value with more digits than the column keeps goes to
the DLQ with why."""

import decimal
import json

import pyarrow as pa
import pytest
from confluent_kafka.schema_registry import Schema

from ingest.avro import WireFormatReader
from ingest.errors import ConfigError
from ingest.schema import from_arrow_schema, from_avro_schema, from_json_schema
from ingest.schema_document import json_schema
from ingest.sink.decode import Decoder
from support.avro import wire_values

SCHEMA = from_json_schema({"type": "object", "required": ["id"], "properties": {
    "id": {"type": "string"},
    "price": {"type": ["number", "string"], "format": "decimal", "precision": 10, "scale": 2}}})
AVRO = {"type": "record", "name": "Line", "fields": [
    {"name": "id", "type": "string"},
    {"name": "price", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}],
     "default": None}]}


def decode(values: list[dict]):
    return Decoder(SCHEMA).decode([json.dumps(v).encode() for v in values])


def test_a_decimal_field_is_an_exact_parquet_decimal():
    assert SCHEMA.arrow_schema().field("price").type == pa.decimal128(10, 2)
    decoded = decode([{"id": "a", "price": "12.34"}, {"id": "b", "price": 7.5}, {"id": "c", "price": "-0.10"},
                      {"id": "d"}, {"id": "e", "price": "99999999.99"}])
    assert decoded.bad_index == []
    assert decoded.good["price"].to_pylist() == [decimal.Decimal("12.34"), decimal.Decimal("7.50"),
                                                 decimal.Decimal("-0.10"), None, decimal.Decimal("99999999.99")]


@pytest.mark.parametrize("price", ["12.345", "100000000.00", "abc", True, {"x": 1}])
def test_a_value_the_column_cannot_hold_exactly_is_bad_with_why(price):
    decoded = decode([{"id": "a", "price": price}])
    assert decoded.good.num_rows == 0 and len(decoded.bad_index) == 1
    assert "price" in decoded.bad_reason[0]


def test_the_recorded_schema_and_an_arrow_schema_give_the_same_decimal():
    assert from_json_schema(json_schema(SCHEMA)) == SCHEMA
    assert from_arrow_schema(SCHEMA.arrow_schema().remove(2).remove(2).remove(2).remove(2).remove(2)) == SCHEMA
    with pytest.raises(ConfigError, match="properties.p.precision"):
        from_json_schema({"type": "object", "properties": {"p": {"type": "string", "format": "decimal"}}})
    with pytest.raises(ConfigError, match="properties.p.scale"):
        from_json_schema({"type": "object", "properties": {
            "p": {"type": "string", "format": "decimal", "precision": 4, "scale": 5}}})


class OneSchema:
    def get_schema(self, schema_id: int) -> Schema:
        return Schema(json.dumps(AVRO), "AVRO")


def test_an_avro_decimal_arrives_exact():
    assert from_avro_schema(AVRO) == SCHEMA
    values = wire_values(AVRO, [{"id": "a", "price": decimal.Decimal("12.34")}, {"id": "b", "price": None}])
    texts, bad = WireFormatReader(AVRO, OneSchema()).to_json(values)
    decoded = Decoder(SCHEMA).decode(texts)
    assert bad == [] and decoded.bad_index == []
    assert decoded.good["price"].to_pylist() == [decimal.Decimal("12.34"), None]
