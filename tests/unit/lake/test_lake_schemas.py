"""The schema the sink records in the lake for the DLQ job loads as the sink's own (`ingest/lake/schemas.py`)."""

import json

import pyarrow as pa

from ingest.config import DEFAULT_SCHEMA
from ingest.schema import from_json_schema, load_schema
from ingest.schema_document import json_schema, schema_document


def test_a_json_schema_file_is_recorded_as_it_is():
    assert schema_document(DEFAULT_SCHEMA) == DEFAULT_SCHEMA.read_bytes()


def test_an_arrow_schema_is_recorded_as_the_json_schema_that_loads_the_same(tmp_path):
    arrow = pa.schema([pa.field("event_id", pa.string(), nullable=False, metadata={"format": "uuid"}),
                       pa.field("event_time", pa.timestamp("us", tz="UTC"), nullable=False),
                       pa.field("payload", pa.string(), metadata={"json": "true"}),
                       pa.field("n", pa.int64()), pa.field("amount", pa.float64()), pa.field("ok", pa.bool_())])
    path = tmp_path / "events.arrow"
    path.write_bytes(arrow.serialize().to_pybytes())
    assert from_json_schema(json.loads(schema_document(path))) == load_schema(path)


def test_bounds_and_time_ranges_survive_the_json_schema_of_a_schema():
    schema = load_schema(DEFAULT_SCHEMA)
    assert from_json_schema(json_schema(schema)) == schema
