"""Date and time-of-day fields: declared in a JSON Schema ("format": "date" / "time") or Avro (int/date,
int/time-millis, long/time-micros), written as Parquet DATE and TIME; a value that is not one goes to the DLQ with
why."""

import datetime as dt
import json

import pyarrow as pa
import pytest
from confluent_kafka.schema_registry import Schema

from ingest.avro import WireFormatReader
from ingest.schema import from_arrow_schema, from_avro_schema, from_json_schema
from ingest.schema_document import json_schema
from ingest.sink.decode import Decoder
from support.avro import wire_values

SCHEMA = from_json_schema({"type": "object", "required": ["id", "day"], "properties": {
    "id": {"type": "string"},
    "day": {"type": "string", "format": "date"},
    "at": {"type": ["string", "null"], "format": "time"}}})
AVRO = {"type": "record", "name": "Visit", "fields": [
    {"name": "id", "type": "string"},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "at", "type": ["null", {"type": "int", "logicalType": "time-millis"}], "default": None}]}


def decode(values: list[dict]):
    return Decoder(SCHEMA).decode([json.dumps(v).encode() for v in values])


def test_dates_and_times_are_parquet_date_and_time_columns():
    arrow = SCHEMA.arrow_schema()
    assert arrow.field("day").type == pa.date32() and arrow.field("at").type == pa.time64("us")
    decoded = decode([{"id": "a", "day": "2024-01-15", "at": "10:11:12.345"}, {"id": "b", "day": "2024-02-29"}])
    assert decoded.bad_index == []
    assert decoded.good["day"].to_pylist() == [dt.date(2024, 1, 15), dt.date(2024, 2, 29)]
    assert decoded.good["at"].to_pylist() == [dt.time(10, 11, 12, 345000), None]


@pytest.mark.parametrize(("value", "reason"), [
    ({"day": "2024-02-30"}, "field day is not a date (YYYY-MM-DD): 2024-02-30"),
    ({"day": "yesterday"}, "field day is not a date (YYYY-MM-DD): yesterday"),
    ({"day": -1}, "field day must be a date string (YYYY-MM-DD), got bigint"),
    ({"day": "2024-01-15", "at": "25:00:00"}, "field at is not a time (HH:MM:SS): 25:00:00"),
    ({}, "missing required field 'day'"),
])
def test_a_value_that_is_not_a_date_or_time_is_bad_with_why(value, reason):
    decoded = decode([{"id": "a", "day": "2024-01-15"}, {"id": "b", **value}])
    assert decoded.good["id"].to_pylist() == ["a"]
    assert decoded.bad_reason == [reason]


def test_the_recorded_schema_and_an_arrow_schema_give_the_same_fields():
    assert from_json_schema(json_schema(SCHEMA)) == SCHEMA
    kafka_columns = len(SCHEMA.arrow_schema()) - len(SCHEMA.fields)
    arrow = SCHEMA.arrow_schema()
    for _ in range(kafka_columns):
        arrow = arrow.remove(len(arrow) - 1)
    assert from_arrow_schema(arrow) == SCHEMA


class OneSchema:
    def get_schema(self, schema_id: int) -> Schema:
        return Schema(json.dumps(AVRO), "AVRO")


def test_avro_dates_and_times_arrive_as_written():
    assert from_avro_schema(AVRO) == SCHEMA
    micros = dict(AVRO, fields=[*AVRO["fields"][:2], {"name": "at", "type": [
        "null", {"type": "long", "logicalType": "time-micros"}], "default": None}])
    assert from_avro_schema(micros) == SCHEMA
    values = wire_values(AVRO, [{"id": "a", "day": dt.date(2024, 1, 15), "at": dt.time(23, 59, 59, 999000)},
                                {"id": "b", "day": dt.date(1999, 12, 31), "at": None}])
    texts, bad = WireFormatReader(AVRO, OneSchema()).to_json(values)
    decoded = Decoder(SCHEMA).decode(texts)
    assert bad == [] and decoded.bad_index == []
    assert decoded.good["day"].to_pylist() == [dt.date(2024, 1, 15), dt.date(1999, 12, 31)]
    assert decoded.good["at"].to_pylist() == [dt.time(23, 59, 59, 999000), None]
