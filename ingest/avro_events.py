"""Sample events as Avro in Confluent's wire format, for `sluice produce --format avro`: the events schema
(`config/events.avsc`, or another version of it) registered under `<topic>-value`, each value framed with its id.
Malformed values are malformed the ways an Avro topic can be: not the wire format, an id the registry does not
know, a truncated record, a time outside the schema's range, a null value."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path

import fastavro

from ingest.connections import REPO_ROOT, Connections

DEFAULT_AVRO_SCHEMA = REPO_ROOT / "config" / "events.avsc"
UNKNOWN_ID = 2**31 - 1


def register(connections: Connections, topic: str, schema_path: Path = DEFAULT_AVRO_SCHEMA) -> tuple[int, dict]:
    """The schema's id under `<topic>-value` (registered if new; the registry refuses an incompatible one)."""
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    document = json.loads(schema_path.read_text())
    client = SchemaRegistryClient(connections.registry.client_config())
    return client.register_schema(f"{topic}-value", Schema(json.dumps(document), "AVRO")), document


def encoder(schema_id: int, document: dict) -> Callable[[dict, str], bytes | None]:
    """encode(event, kind): the wire-format value of an event dict of ingest.produce, spoiled as `kind` says."""
    parsed = fastavro.parse_schema(document)
    names = {f["name"] for f in document["fields"]}
    header = b"\0" + schema_id.to_bytes(4, "big")

    def encode(event: dict, kind: str = "good") -> bytes | None:
        record = {k: v for k, v in event.items() if k in names}
        if "event_time" in record:
            record["event_time"] = dt.datetime.fromisoformat(event["event_time"].replace("Z", "+00:00"))
        if kind == "null_value":
            return None
        if kind == "bad_timestamp":
            record["event_time"] = dt.datetime(1960, 1, 1, tzinfo=dt.UTC)
        elif kind == "out_of_range_timestamp":
            record["event_time"] = dt.datetime(2150, 1, 1, tzinfo=dt.UTC)
        body = io.BytesIO()
        fastavro.schemaless_writer(body, parsed, record)
        value = body.getvalue()
        if kind == "not_json":  # JSON where Avro is expected: magic byte '{'
            return json.dumps(event).encode()
        if kind == "missing_field":  # a schema id the registry does not know
            return b"\0" + UNKNOWN_ID.to_bytes(4, "big") + value
        if kind == "wrong_type":  # a record cut short
            return header + value[: len(value) // 2]
        return header + value

    return encode
