"""The declared event schema: read from a JSON Schema (or Arrow schema) file, never guessed from data.

It gives the sink its Parquet/Arrow schema, and the rules a record must meet to be written.
"""

from __future__ import annotations

import datetime as dt
import json
import math
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
    "date": pa.date32(),  # a calendar date, no zone
    "time": pa.time64("us"),  # a time of day, no zone
    "json": pa.string(),  # an object or array, kept as JSON text
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "decimal": None,  # decimal128(precision, scale) of the field
}
MAX_DECIMAL_PRECISION = 38  # Arrow's decimal128, Parquet's and DuckDB's widest exact decimal
DEFAULT_TIME_RANGE = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
# JSON Schema (2020-12) keywords of a numeric range, in the order a value is checked against them.
RANGE_KEYWORDS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")


@dataclass(frozen=True)
class NumberRange:
    """The bounds an integer or number field's value must meet (JSON Schema's keywords; None: no such bound)."""

    minimum: int | float | None = None
    exclusive_minimum: int | float | None = None
    maximum: int | float | None = None
    exclusive_maximum: int | float | None = None

    def bounds(self) -> list[tuple[str, int | float]]:
        """(JSON Schema keyword, value) of each bound that is set, in RANGE_KEYWORDS order."""
        values = (self.minimum, self.exclusive_minimum, self.maximum, self.exclusive_maximum)
        return [(k, v) for k, v in zip(RANGE_KEYWORDS, values, strict=True) if v is not None]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    required: bool
    time_range: tuple[dt.datetime, dt.datetime] | None = None  # for timestamps: [min, max)
    number_range: NumberRange | None = None  # for integers and numbers with bounds
    precision: int | None = None  # for decimals: digits in all
    scale: int | None = None  # for decimals: digits after the point

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.decimal128(self.precision, self.scale) if self.kind == "decimal" else KINDS[self.kind]


@dataclass(frozen=True)
class EventSchema:
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def arrow_schema(self) -> pa.Schema:
        """The schema of a raw-zone file: the event's fields, then the Kafka coordinates."""
        own = [pa.field(f.name, f.arrow_type, nullable=not f.required) for f in self.fields]
        return pa.schema(own + list(KAFKA_COLUMNS))


def decimal_digits(key: str, precision: object, scale: object) -> tuple[int, int]:
    """(precision, scale) of a decimal field, checked: 1 <= precision <= 38, 0 <= scale <= precision."""
    if not isinstance(precision, int) or isinstance(precision, bool) or not 1 <= precision <= MAX_DECIMAL_PRECISION:
        raise ConfigError(f"{key}.precision", precision, f"an integer from 1 to {MAX_DECIMAL_PRECISION}")
    if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= precision:
        raise ConfigError(f"{key}.scale", scale, f"an integer from 0 to the precision ({precision})")
    return precision, scale


def _kind(name: str, spec: dict) -> str:
    kind, fmt = spec.get("type"), spec.get("format")
    if fmt == "decimal":  # {"type": ["number", "string"], "format": "decimal", "precision": P, "scale": S}
        return "decimal"
    if isinstance(kind, list):  # ["string", "null"]: nullable, same kind
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string":
        return {"uuid": "uuid", "date-time": "timestamp", "date": "date", "time": "time"}.get(fmt, "string")
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


def _finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond any double
        return False


def _number_range(name: str, kind: str, spec: dict) -> NumberRange | None:
    given = {k: spec[k] for k in RANGE_KEYWORDS if k in spec}
    if not given:
        return None
    for key, value in given.items():
        if kind not in ("integer", "number"):
            raise ConfigError(f"properties.{name}.{key}", value, "a bound of an integer or number field only")
        if not _finite_number(value):
            raise ConfigError(f"properties.{name}.{key}", value,
                              "a finite number (JSON Schema 2020-12; not draft 4's true/false)")
    lows = [(k, given[k]) for k in ("minimum", "exclusiveMinimum") if k in given]
    highs = [(k, given[k]) for k in ("maximum", "exclusiveMaximum") if k in given]
    for low_key, low in lows:
        for high_key, high in highs:
            if low > high or (low == high and "exclusive" in low_key + high_key):
                raise ConfigError(f"properties.{name}.{low_key}", low,
                                  f"a bound that lets some value through: {high_key} is {high}")
    return NumberRange(given.get("minimum"), given.get("exclusiveMinimum"), given.get("maximum"),
                       given.get("exclusiveMaximum"))


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
        digits = decimal_digits(f"properties.{name}", spec.get("precision"), spec.get("scale", 0)) \
            if kind == "decimal" else (None, None)
        fields.append(FieldSpec(name, kind, name in required, time_range, _number_range(name, kind, spec), *digits))
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
        elif pa.types.is_date32(f.type):
            kind = "date"
        elif pa.types.is_time64(f.type):
            kind = "time"
        elif pa.types.is_decimal(f.type):
            fields.append(FieldSpec(f.name, "decimal", not f.nullable, None, None, f.type.precision, f.type.scale))
            continue
        elif f.type in by_type:
            kind = by_type[f.type]
        else:
            raise ConfigError(f"arrow field {f.name}", str(f.type),
                              "string, int64, float64, bool, timestamp, date32, time64, decimal128")
        fields.append(FieldSpec(f.name, kind, not f.nullable, DEFAULT_TIME_RANGE if kind == "timestamp" else None))
    return EventSchema(tuple(fields))


# Avro type -> EventSchema kind
AVRO_PRIMITIVES = {"string": "string", "int": "integer", "long": "integer", "float": "number", "double": "number",
                   "boolean": "boolean", "enum": "string", "record": "json", "map": "json", "array": "json"}
AVRO_LOGICAL = {("string", "uuid"): "uuid", ("long", "timestamp-millis"): "timestamp",
                ("long", "timestamp-micros"): "timestamp", ("bytes", "decimal"): "decimal",
                ("fixed", "decimal"): "decimal", ("int", "date"): "date", ("int", "time-millis"): "time",
                ("long", "time-micros"): "time"}
AVRO_SUPPORTED = ("string, int, long, float, double, boolean, enum, record, map, array, string/uuid, "
                  "long/timestamp-millis, long/timestamp-micros, bytes/decimal, fixed/decimal, int/date, "
                  "int/time-millis, long/time-micros, and a union of one of them with null")


def _avro_kind(name: str, avro_type: object) -> tuple[str, bool, dict]:
    """(EventSchema kind, nullable, the type's attributes) of a field's Avro type."""
    nullable = False
    if isinstance(avro_type, list):
        others = [t for t in avro_type if t != "null"]
        nullable = len(others) < len(avro_type)
        if len(others) != 1:
            raise ConfigError(f"fields.{name}.type", json.dumps(avro_type), AVRO_SUPPORTED)
        avro_type = others[0]
    if isinstance(avro_type, dict):
        base, logical = avro_type.get("type"), avro_type.get("logicalType")
        if logical is not None:
            kind = AVRO_LOGICAL.get((base, logical))
            if kind is None:
                raise ConfigError(f"fields.{name}.type", json.dumps(avro_type), AVRO_SUPPORTED)
            return kind, nullable, avro_type
        avro_type = base
    if avro_type not in AVRO_PRIMITIVES:
        raise ConfigError(f"fields.{name}.type", json.dumps(avro_type), AVRO_SUPPORTED)
    return AVRO_PRIMITIVES[avro_type], nullable, {}


def from_avro_schema(document: dict) -> EventSchema:
    """An Avro record schema: a non-null field is required; `minimum`/`maximum` attributes on a numeric field
    bound it as JSON Schema's keywords do (Avro keeps attributes it does not know)."""
    if not isinstance(document, dict) or document.get("type") != "record" or not document.get("fields"):
        raise ConfigError("type/fields", document.get("type") if isinstance(document, dict) else document,
                          "an Avro record schema with fields")
    fields = []
    for spec in document["fields"]:
        name = spec["name"]
        kind, nullable, attributes = _avro_kind(name, spec["type"])
        bounds = {k: v for k, v in spec.items() if k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")}
        digits = decimal_digits(f"fields.{name}.type", attributes.get("precision"), attributes.get("scale", 0)) \
            if kind == "decimal" else (None, None)
        fields.append(FieldSpec(name, kind, not nullable, DEFAULT_TIME_RANGE if kind == "timestamp" else None,
                                _number_range(name, kind, bounds), *digits))
    return EventSchema(tuple(fields))


def load_avro_schema(path: Path) -> dict:
    import fastavro

    try:
        document = json.loads(path.read_text())
        fastavro.parse_schema(document)
    except json.JSONDecodeError as exc:
        raise ConfigError("sluice.schema.file", str(path), f"valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (fastavro.schema.SchemaParseException, KeyError, TypeError, ValueError) as exc:
        raise ConfigError("sluice.schema.file", str(path), f"an Avro schema ({exc})") from None
    return document


def load_schema(path: Path) -> EventSchema:
    """A `.json` file is a JSON Schema, an `.avsc` file an Avro record schema; anything else an Arrow IPC schema
    (`pyarrow.Schema.serialize()`)."""
    if path.suffix == ".avsc":
        return from_avro_schema(load_avro_schema(path))
    if path.suffix == ".json":
        try:
            return from_json_schema(json.loads(path.read_text()))
        except json.JSONDecodeError as exc:
            raise ConfigError("sluice.schema.file", str(path), f"valid JSON (line {exc.lineno}: {exc.msg})") from None
    try:
        return from_arrow_schema(pa.ipc.read_schema(pa.py_buffer(path.read_bytes())))
    except pa.ArrowInvalid as exc:
        raise ConfigError("sluice.schema.file", str(path), f"a JSON Schema (.json) or Arrow schema ({exc})") from None
