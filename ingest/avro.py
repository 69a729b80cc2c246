"""Avro values in Confluent's wire format (magic byte 0, a 4-byte big-endian schema id, Avro binary) read into
the sink's reader schema (whose EventSchema `ingest.schema.from_avro_schema` makes).

A value is read with the writer's schema, fetched from the registry by id once per process, and resolved into
the reader schema (`sluice.schema.file`, else the subject's latest version: ingest.sink.reader_schema) by Avro's
rules: a field the writer lacks takes the reader's default, a field the reader lacks is dropped. Each record is
then handed on as JSON text, which the sink's JSON decoder checks against the same EventSchema as a JSON value:
one set of rules (required fields, time ranges, numeric bounds) for both formats.

With the reader from the registry, `schema.compatibility` says when the reader changes, as in Confluent's storage
connectors (files close at each change, so a file holds one schema): NONE, each value is written in its own
writer's schema (the reader changes whenever the writer's does: `runs` splits a batch there); BACKWARD and FULL,
older versions are projected into the reader and a newer version becomes the reader; FORWARD, newer versions are
projected into the reader and an older version becomes the reader. A `sluice.schema.file` pins the reader.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

import fastavro

from ingest.errors import SluiceError
from ingest.schema import from_avro_schema

log = logging.getLogger(__name__)

MAGIC = 0


def _plain(value: object) -> object:
    if isinstance(value, dt.date | dt.time):  # datetime too; nested logical types (date, time-*) as ISO text
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass(frozen=True)
class BadValue:
    index: int
    reason: str


class WireFormatReader:
    """Values of one task: writer schemas by id from the registry (cached), each value as JSON text in the
    reader schema. A registry that does not answer is asked again with backoff until it does (the task waits), or
    until `registry_timeout_s` if given, or until `stop` is set; then the task ends without committing past the
    value: a value is never dead-lettered for the registry's sake."""

    def __init__(self, reader_schema: dict | None, registry, registry_timeout_s: float | None = None,
                 sleep=time.sleep, reader_subject: str | None = None, reader_version: int | None = None,
                 compatibility: str = "NONE", stop: threading.Event | None = None):
        # None: each value is read in its writer's schema (the DLQ job, which checks fields by name afterwards)
        self.reader = None if reader_schema is None else _parse(reader_schema)
        # With the reader from the registry (a version of a subject), `compatibility` says which writer schemas
        # replace it; `changed` tells the converter. Versions, not ids, give the order: a registry gives a schema
        # registered before under another subject its old id.
        self.reader_document, self.reader_subject, self.reader_version = reader_schema, reader_subject, reader_version
        self.follows = reader_version is not None  # False: sluice.schema.file pins the reader
        self.writable = from_avro_schema  # raises SluiceError for a schema the sink cannot write (the sink's own check)
        self.compatibility = compatibility
        self.changed = False
        self.versions: dict[int, int | None] = {}  # writer id -> its version in reader_subject (None: not in it)
        self.registry, self.timeout_s, self.sleep, self.stop = registry, registry_timeout_s, sleep, stop
        self.writers: dict[int, object] = {}
        self.documents: dict[int, dict] = {}  # the writer schemas as registered
        self.unknown: dict[int, str] = {}

    def to_json(self, values: list[bytes | None]) -> tuple[list[bytes | None], list[BadValue]]:
        """JSON text for each value (None stays None, for the decoder's null rules; a bad value's slot is None too)
        and the values that are not Avro of a schema the registry knows, with why."""
        self.changed = False
        if self.follows:
            self._follow(values)
        texts: list[bytes | None] = []
        bad: list[BadValue] = []
        for i, value in enumerate(values):
            if value is None:
                texts.append(None)
                continue
            reason = None
            if len(value) < 5 or value[0] != MAGIC:
                reason = f"unknown magic byte {value[0] if value else 'none'}: not Confluent's Avro wire format"
            else:
                schema_id = int.from_bytes(value[1:5], "big")
                writer = self._writer(schema_id)
                if writer is None:
                    reason = self.unknown[schema_id]
                else:
                    try:
                        texts.append(self._read(value, writer))
                        continue
                    except Exception as exc:  # any decoding failure is the value's: it goes to the DLQ
                        reason = f"Avro value of schema id {schema_id} does not decode: {type(exc).__name__}: {exc}"
            texts.append(None)
            bad.append(BadValue(i, reason))
        return texts, bad

    def runs(self, values: list[bytes | None]) -> list[tuple[int, int]]:
        """[start, end) ranges of `values` to read one at a time: under NONE (reader from the registry) each range
        holds one writer schema (values without one join the range they are in); otherwise the whole batch."""
        if not (self.follows and self.compatibility == "NONE"):
            return [(0, len(values))]
        cuts, current, last_id = [0], self.reader, None
        for i, schema_id in enumerate(_schema_ids(values)):
            if schema_id is None or schema_id == last_id:
                continue
            last_id, writer = schema_id, self._writer(schema_id)
            if writer is not None and writer is not current and writer != current:
                if i > 0:
                    cuts.append(i)
                current = writer
        cuts.append(len(values))
        return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if a < b]

    def _follow(self, values: list[bytes | None]) -> None:
        """The reader for this batch (see the module's docstring); values of other versions are projected into it."""
        while not self._change_reader({i for i in _schema_ids(values) if i is not None and self._writer(i)}):
            pass  # a schema that cannot be the reader was set aside (its values are dead-lettered): choose again

    def _change_reader(self, ids: set[int]) -> bool:
        """Make the writer schema the batch calls for the reader; False if it cannot be written (then its values
        are bad values)."""
        if self.compatibility == "NONE":  # `runs` made this a batch of one writer schema
            chosen = next((i for i in sorted(ids) if self.writers[i] != self.reader), None)
            version = None
        else:
            for schema_id in ids - set(self.versions):
                self.versions[schema_id] = self._version(schema_id)
            forward = self.compatibility == "FORWARD"
            changes = [(v, i) for i in ids if (v := self.versions[i]) is not None
                       and (v < self.reader_version if forward else v > self.reader_version)]
            version, chosen = (min if forward else max)(changes) if changes else (None, None)
        if chosen is None:
            return True
        try:
            self.writable(self.documents[chosen])
        except SluiceError as exc:
            self.unknown[chosen] = f"schema id {chosen} cannot be written to Parquet: {exc}"
            del self.writers[chosen]
            return False
        log.info("schema id %d%s becomes the reader schema (schema.compatibility=%s): files close and the next ones "
                 "have its columns", chosen, f", version {version} of {self.reader_subject}," if version else "",
                 self.compatibility)
        self.reader, self.reader_document, self.changed = self.writers[chosen], self.documents[chosen], True
        self.reader_version = version or self.reader_version
        for other, writer in self.writers.items():  # the same schema under another id: read without resolution
            if writer == self.reader:
                self.writers[other] = self.reader
        return True

    def _version(self, schema_id: int) -> int | None:
        """The writer schema's version in the reader's subject; None when it is not one of its versions."""
        from confluent_kafka.schema_registry import Schema
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        try:
            schema = Schema(json.dumps(self.documents[schema_id]), "AVRO")
            return self.registry.lookup_schema(self.reader_subject, schema).version
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                return None
            raise SluiceError(f"schema registry: looking up schema id {schema_id} in {self.reader_subject}: "
                              f"{exc}") from None

    def _read(self, value: bytes, writer) -> bytes:
        stream = io.BytesIO(value)
        stream.seek(5)
        reader = None if writer is self.reader or self.reader is None else self.reader
        record = fastavro.schemaless_reader(stream, writer, reader)
        if stream.tell() != len(value):
            raise ValueError(f"{len(value) - stream.tell()} bytes after the record")
        return json.dumps(record, default=_plain, separators=(",", ":")).encode()

    def _writer(self, schema_id: int):
        if schema_id in self.writers:
            return self.writers[schema_id]
        if schema_id in self.unknown:
            return None
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        began, wait = time.monotonic(), 0.5
        while True:
            try:
                schema = self.registry.get_schema(schema_id)
                break
            except SchemaRegistryError as exc:
                if exc.http_status_code == 404:
                    self.unknown[schema_id] = f"unknown schema id {schema_id}: the registry has no such schema"
                    return None
                problem = exc
            except Exception as exc:  # connection refused, timeouts: the registry is away
                problem = exc
            if self.timeout_s is not None and time.monotonic() - began > self.timeout_s:
                raise SluiceError(f"schema registry did not answer for schema id {schema_id} within "
                                  f"{self.timeout_s:.0f}s: {problem}") from None
            log.warning("schema registry: %s; waiting for it, asking again in %.1fs", problem, wait)
            self.sleep(wait)  # stop.wait in a task: returns at once when the task is asked to stop
            if self.stop is not None and self.stop.is_set():
                raise SluiceError(f"stopped while waiting for the schema registry (schema id {schema_id}): nothing "
                                  f"at or after the value was committed; {problem}") from None
            wait = min(wait * 2, 10.0)
        if schema.schema_type not in (None, "AVRO"):
            self.unknown[schema_id] = f"schema id {schema_id} is {schema.schema_type}, not AVRO"
            return None
        try:
            document = json.loads(schema.schema_str)
            parsed = _parse(document)
            self.documents[schema_id] = document
            # The reader's own schema needs no resolution (a third of the read's time): read with it alone.
            self.writers[schema_id] = self.reader if parsed == self.reader else parsed
        except Exception as exc:  # a registered schema fastavro cannot read: its values cannot be read either
            self.unknown[schema_id] = f"schema id {schema_id} cannot be parsed: {exc}"
            return None
        dropped = sorted(_field_names(self.writers[schema_id]) - _field_names(self.reader))
        if dropped and not self.follows and self.reader is not None:
            log.warning("schema id %d has fields the sink's reader schema lacks, which are not written: %s; add them "
                        "(with defaults) to sluice.schema.file to keep them", schema_id, ", ".join(dropped))
        return self.writers[schema_id]


def _parse(document: dict):
    """fastavro's parsed schema, uuid strings read as the strings they are: the same JSON text as a uuid.UUID would
    give, without making and printing one per value (a fifth of the read's time); the decoder checks the uuid."""
    def plain(node):
        if isinstance(node, list):
            return [plain(n) for n in node]
        if not isinstance(node, dict):
            return node
        node = {k: plain(v) for k, v in node.items()}
        uuid_type = node.get("type") == "string" and node.get("logicalType") == "uuid" and "name" not in node
        return "string" if uuid_type else node

    return fastavro.parse_schema(plain(document))


def _schema_ids(values: list[bytes | None]) -> list[int | None]:
    """Each value's schema id; None for a value that is not in the wire format."""
    return [int.from_bytes(v[1:5], "big") if v is not None and len(v) >= 5 and v[0] == MAGIC else None
            for v in values]


def _field_names(parsed) -> set[str]:
    return {f["name"] for f in parsed.get("fields", ())} if isinstance(parsed, dict) else set()
