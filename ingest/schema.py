"""The declared event schema: read from a JSON Schema (or Arrow schema) file, never guessed from data.

It gives the sink its Parquet/Arrow schema, and the rules a record must meet to be written.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ingest.errors import ConfigError

# Columns every raw row carries besides the event's own: where it came from in Kafka.
KAFKA_COLUMNS = pa.schema([
    ("_kafka_topic", pa.string()),
    ("_kafka_partition", pa.int32()),
    ("_kafka_offset", pa.int64()),
    ("_kafka_timestamp", pa.timestamp("ms", tz="UTC")),
    ("_kafka_key", pa.binary()),
])

KINDS = {
    # kind: Arrow type of the column
    "string": pa.string(),
    "uuid": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),  # an object or array, kept as JSON text
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
}
DEFAULT_TIME_RANGE = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    required: bool
    time_range: tuple[dt.datetime, dt.datetime] | None = None  # for timestamps: [min, max)


@dataclass(frozen=True)
class EventSchema:
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def arrow_schema(self) -> pa.Schema:
        """The schema of a raw-zone file: the event's fields, then the Kafka coordinates."""
        own = [pa.field(f.name, KINDS[f.kind], nullable=not f.required) for f in self.fields]
        return pa.schema(own + list(KAFKA_COLUMNS))


def _kind(name: str, spec: dict) -> str:
    kind, fmt = spec.get("type"), spec.get("format")
    if isinstance(kind, list):  # ["string", "null"]: nullable, same kind
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string":
        return {"uuid": "uuid", "date-time": "timestamp"}.get(fmt, "string")
    if kind in ("object", "array"):
        return "json"
    if kind in ("integer", "number", "boolean"):
        return kind
    raise ConfigError(f"properties.{name}.type", kind, "string, integer, number, boolean, object, array")


def _time(name: str, value: str | None, default: dt.datetime) -> dt.datetime:
    if value is None:
        return default
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"properties.{name}.formatMinimum/formatMaximum", value, "an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def from_json_schema(document: dict) -> EventSchema:
    properties = document.get("properties")
    if document.get("type") != "object" or not isinstance(properties, dict) or not properties:
        raise ConfigError("type/properties", document.get("type"), "a JSON Schema of an object with properties")
    required = set(document.get("required", ()))
    unknown = required - set(properties)
    if unknown:
        raise ConfigError("required", sorted(unknown), "names listed under properties")
    fields = []
    for name, spec in properties.items():
        kind = _kind(name, spec)
        time_range = None
        if kind == "timestamp":
            time_range = (
                _time(name, spec.get("formatMinimum"), DEFAULT_TIME_RANGE[0]),
                _time(name, spec.get("formatMaximum"), DEFAULT_TIME_RANGE[1]),
            )
        fields.append(FieldSpec(name, kind, name in required, time_range))
    return EventSchema(tuple(fields))


def from_arrow_schema(schema: pa.Schema) -> EventSchema:
    """An Arrow schema: non-nullable fields are required; field metadata {"json": "true"} marks JSON text."""
    by_type = {pa.string(): "string", pa.int64(): "integer", pa.float64(): "number", pa.bool_(): "boolean"}
    fields = []
    for f in schema:
        meta = f.metadata or {}
        if meta.get(b"json") == b"true":
            kind = "json"
        elif meta.get(b"format") == b"uuid":
            kind = "uuid"
        elif pa.types.is_timestamp(f.type):
            kind = "timestamp"
        elif f.type in by_type:
            kind = by_type[f.type]
        else:
            raise ConfigError(f"arrow field {f.name}", str(f.type), "string, int64, float64, bool, timestamp")
        fields.append(FieldSpec(f.name, kind, not f.nullable, DEFAULT_TIME_RANGE if kind == "timestamp" else None))
    return EventSchema(tuple(fields))


def load_schema(path: Path) -> EventSchema:
    """A `.json` file is a JSON Schema; anything else an Arrow IPC schema (`pyarrow.Schema.serialize()`)."""
    if path.suffix == ".json":
        try:
            return from_json_schema(json.loads(path.read_text()))
        except json.JSONDecodeError as exc:
            raise ConfigError("sluice.schema.file", str(path), f"valid JSON (line {exc.lineno}: {exc.msg})") from None
    try:
        return from_arrow_schema(pa.ipc.read_schema(pa.py_buffer(path.read_bytes())))
    except pa.ArrowInvalid as exc:
        raise ConfigError("sluice.schema.file", str(path), f"a JSON Schema (.json) or Arrow schema ({exc})") from None
