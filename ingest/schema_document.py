"""The schema documents the sink records in the lake (`_sluice/<connector>/schemas/<topic>.json`), so that what reads
its dead letters later (the DLQ job) validates them as the sink did, whatever `sluice.schema.file` it ran with.

The object is always a JSON Schema: a `.json` schema file's bytes as they are, an Arrow schema as the JSON Schema
that `from_json_schema` turns back into the same `EventSchema`. A sink with a `value.converter` names it under
CONVERTER_KEY ("avro": Confluent's wire format, "envelope": JsonConverter's schema and payload), so the DLQ job
reads its dead letters as the sink did. The sink writes them (`ingest.sink.schemas`), the lake reads them
(`ingest.lake.schemas`): this module is below both.
"""

from __future__ import annotations

import json
from pathlib import Path

from ingest.schema import EventSchema, load_schema

CONVERTER_KEY = "x-sluice-value-converter"
# EventSchema kind -> the JSON Schema `type` / `format` that from_json_schema reads as that kind
JSON_TYPES = {"string": {"type": "string"}, "uuid": {"type": "string", "format": "uuid"},
              "timestamp": {"type": "string", "format": "date-time"}, "json": {"type": "object"},
              "date": {"type": "string", "format": "date"}, "time": {"type": "string", "format": "time"},
              "integer": {"type": "integer"}, "number": {"type": "number"}, "boolean": {"type": "boolean"},
              "decimal": {"type": ["number", "string"], "format": "decimal"}}


def json_schema(schema: EventSchema) -> dict:
    """The JSON Schema document of an EventSchema: `from_json_schema` of it gives the same EventSchema."""
    properties = {}
    for f in schema.fields:
        spec = dict(JSON_TYPES[f.kind])
        if f.kind == "decimal":
            spec |= {"precision": f.precision, "scale": f.scale}
        if f.time_range is not None:
            spec |= {"formatMinimum": f.time_range[0].isoformat(), "formatMaximum": f.time_range[1].isoformat()}
        if f.number_range is not None:
            spec |= dict(f.number_range.bounds())
        properties[f.name] = spec
    return {"type": "object", "required": [f.name for f in schema.fields if f.required], "properties": properties}


def schema_document(path: Path) -> bytes:
    """What the sink records for the schema file it validates with (a `.json` file as is, as `load_schema` reads)."""
    if path.suffix == ".json":
        return path.read_bytes()
    return json_bytes(load_schema(path))


def json_bytes(schema: EventSchema) -> bytes:
    return json.dumps(json_schema(schema), indent=2).encode()
