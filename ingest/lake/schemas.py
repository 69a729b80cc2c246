"""The schemas the sink records in the lake (`_sluice/<connector>/schemas/<topic>.json`), so that what reads its
dead letters later (the DLQ job) validates them as the sink did, whatever `sluice.schema.file` it ran with.

The object is always a JSON Schema: a `.json` schema file's bytes as they are, an Arrow schema as the JSON Schema
that `from_json_schema` turns back into the same `EventSchema`. A sink with a `value.converter` names it under
CONVERTER_KEY ("avro": Confluent's wire format, "envelope": JsonConverter's schema and payload), so the DLQ job
reads its dead letters as the sink did.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path

from botocore.exceptions import ClientError

from ingest.lake.keys import schema_key
from ingest.schema import EventSchema, from_json_schema, load_schema

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


class SchemaRecorder:
    """The sink's recording: each topic's schema once per process (its tasks share it), when first assigned, so
    before anything of the topic is committed. A PUT that fails (after Storage's retries) raises: the task ends."""

    def __init__(self, storage, connector: str, schema: Path | EventSchema, converter: str | None = None):
        # storage: anything with `put(key, body)`, the sink's Storage in practice (the lake does not import the sink)
        self.storage, self.connector, self.converter = storage, connector, converter
        self.document = self._document(schema_document(schema) if isinstance(schema, Path) else json_bytes(schema))
        self.recorded: set[str] = set()
        self.lock = threading.Lock()

    def _document(self, body: bytes) -> bytes:
        if self.converter is None:
            return body
        return json.dumps(json.loads(body) | {CONVERTER_KEY: self.converter}, indent=2).encode()

    def change(self, schema: EventSchema) -> None:
        """Another schema became the rows' (a registered version the sink moved to): recorded again for each topic."""
        document = self._document(json_bytes(schema))
        with self.lock:
            if document != self.document:
                self.document = document
                for topic in sorted(self.recorded):
                    self.storage.put(schema_key(self.connector, topic), document)

    def __call__(self, topics: Iterable[str]) -> None:
        with self.lock:
            for topic in sorted(set(topics) - self.recorded):
                self.storage.put(schema_key(self.connector, topic), self.document)  # the same bytes on every start
                self.recorded.add(topic)


def lake_schema(client, bucket: str, connector: str, topic: str) -> EventSchema | None:
    """The schema the sink `connector` recorded for `topic`, or None if it recorded none."""
    recorded = lake_record(client, bucket, connector, topic)
    return None if recorded is None else recorded[0]


def lake_record(client, bucket: str, connector: str, topic: str) -> tuple[EventSchema, str | None] | None:
    """The schema the sink `connector` recorded for `topic` and its converter ("avro", "envelope"; None for
    schemaless JSON), or None if it recorded none."""
    try:
        body = client.get_object(Bucket=bucket, Key=schema_key(connector, topic))["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    document = json.loads(body)
    return from_json_schema(document), document.get(CONVERTER_KEY)
