"""The commit ledger's manifest: one JSON document per committed round, typed.

A round's manifest is uploaded after its files and before its offsets are committed, under
`_sluice/<connector>/ledger/<topic>/<partition:05d>/<start_offset:020d>.json`. It tiles the partition's offsets:
`[start_offset, commit_offset)` holds exactly the offsets of its files' rows, of its dead letters, and of records
skipped on purpose (ignored nulls, transaction markers). Public format: see the README's "Commit ledger".
Readers refuse another format or version and ignore fields they do not know.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow.compute as pc

from ingest.ledger.errors import LedgerError, required
from ingest.ledger.hour_index import HourIndexEntry
from ingest.ledger.keys import manifest_key
from ingest.timefmt import iso_millis, parse_iso

if TYPE_CHECKING:
    import pyarrow as pa

    from ingest.config import SinkConfig
    from ingest.schema import EventSchema

FORMAT = "sluice-ledger"
VERSION = 1
HOUR = dt.timedelta(hours=1)


def time_field(config: SinkConfig, schema: EventSchema) -> str | None:
    """The event-time column the ledger reports spans of: the extractor's field, else the schema's first time."""
    if config.timestamp_extractor == "RecordField" and schema.field(config.timestamp_field) is not None:
        return config.timestamp_field
    return next((f.name for f in schema.fields if f.kind == "timestamp"), None)


@dataclass(frozen=True)
class FileEntry:
    """A file of a round: where it is, which offsets and how many rows, and the span of its event times. The
    times stay the ISO 8601 text the sink wrote (UTC, milliseconds), so a document reads back to the same bytes."""

    key: str
    encoded_partition: str
    kafka_partition: int
    first_offset: int
    last_offset: int
    rows: int
    size: int
    min_event_time: str | None = None
    max_event_time: str | None = None

    @classmethod
    def of_table(cls, key: str, encoded: str, partition: int, table: pa.Table, size: int,
                 time_field: str | None) -> FileEntry:
        """The entry of a file holding `table` (with `_kafka_offset`), `size` bytes once encoded."""
        offsets = pc.min_max(table["_kafka_offset"])
        first = last = None
        if time_field is not None and time_field in table.column_names and table.num_rows:
            span = pc.min_max(table[time_field])
            if span["min"].is_valid:
                first, last = iso_millis(span["min"].as_py()), iso_millis(span["max"].as_py())
        return cls(key, encoded, partition, offsets["min"].as_py(), offsets["max"].as_py(), table.num_rows, size,
                   first, last)

    def hours(self) -> list[dt.datetime]:
        """The UTC hours from the min to the max event time (none without event times)."""
        if not (self.min_event_time and self.max_event_time):
            return []
        hour = parse_iso(self.min_event_time).astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        last = parse_iso(self.max_event_time)
        hours = []
        while hour <= last:
            hours.append(hour)
            hour += HOUR
        return hours

    def to_json(self) -> dict:
        return {"key": self.key, "encoded_partition": self.encoded_partition, "kafka_partition": self.kafka_partition,
                "first_offset": self.first_offset, "last_offset": self.last_offset, "rows": self.rows,
                "size": self.size, "min_event_time": self.min_event_time, "max_event_time": self.max_event_time}

    @classmethod
    def from_json(cls, manifest: str, document: dict) -> FileEntry:
        """`manifest`: the key of the manifest listing the file, named when a field is missing."""
        values = [required(document, name, manifest) for name in
                  ("key", "encoded_partition", "kafka_partition", "first_offset", "last_offset", "rows", "size")]
        return cls(*values, document.get("min_event_time"), document.get("max_event_time"))


def hours_spanned(files: Iterable[FileEntry]) -> list[dt.datetime]:
    """The UTC hours from each file's min to its max event time, sorted (files without event times add none)."""
    return sorted({hour for f in files for hour in f.hours()})


@dataclass(frozen=True)
class Writer:
    """The sink task that committed a round, and its transactional.id when the round's commit was a transaction."""

    task: int | None
    transactional_id: str | None = None

    def to_json(self) -> dict:
        return {"task": self.task, "transactional_id": self.transactional_id}


@dataclass(frozen=True)
class Manifest:
    """One committed round of one Kafka partition; `key` is where it is stored (not part of the document).
    `commit_offset` is exclusive: the offset the group commits."""

    key: str
    connector: str
    topic: str
    partition: int
    start_offset: int
    commit_offset: int
    records: int  # rows of the files + dead letters
    files: tuple[FileEntry, ...] = ()
    dlq_topic: str | None = None
    dlq_offsets: tuple[int, ...] = ()
    writer: Writer | None = None
    written_at: str | None = None
    format: str = FORMAT
    version: int = VERSION

    @classmethod
    def of_round(cls, connector: str, topic: str, partition: int, start_offset: int, commit_offset: int,
                 files: Iterable[FileEntry], dlq_topic: str | None, dlq_offsets: Iterable[int], writer: Writer,
                 now_ms: int) -> Manifest:
        """The manifest the sink writes for a round it commits at `now_ms`."""
        files, dlq_offsets = tuple(files), tuple(sorted(dlq_offsets))
        return cls(manifest_key(connector, topic, partition, start_offset), connector, topic, partition,
                   start_offset, commit_offset, sum(f.rows for f in files) + len(dlq_offsets), files, dlq_topic,
                   dlq_offsets, writer, iso_millis(now_ms))

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def hours(self) -> list[dt.datetime]:
        """The UTC hours the round's files' event times span."""
        return hours_spanned(self.files)

    def hour_index(self) -> list[HourIndexEntry]:
        """The ledger's hour index entries of the round: one per UTC hour its files span, pointing at it."""
        return [HourIndexEntry.of_round(self.connector, self.topic, hour, self.partition, self.start_offset)
                for hour in self.hours]

    def to_json(self) -> dict:
        return {
            "format": self.format, "version": self.version, "connector": self.connector, "topic": self.topic,
            "partition": self.partition, "start_offset": self.start_offset, "commit_offset": self.commit_offset,
            "records": self.records,
            "files": [f.to_json() for f in self.files],
            "dlq": {"topic": self.dlq_topic, "offsets": list(self.dlq_offsets)},
            "writer": None if self.writer is None else self.writer.to_json(),
            "written_at": self.written_at,
        }

    @classmethod
    def from_json(cls, key: str, document: dict) -> Manifest:
        """The manifest stored at `key`. Unknown fields are ignored; another format or a version other than 1 is
        refused with a LedgerError naming the key."""
        found = document.get("format") if isinstance(document, dict) else None
        if found != FORMAT:
            raise LedgerError(key, f"format {found!r}, expected {FORMAT!r}")
        if document.get("version") != VERSION:
            raise LedgerError(key, f"version {document.get('version')!r}: this reader knows version {VERSION}")
        files = tuple(FileEntry.from_json(key, f) for f in document.get("files") or ())
        dlq = document.get("dlq") or {}
        offsets = tuple(int(o) for o in dlq.get("offsets") or ())
        writer = document.get("writer")
        return cls(key, required(document, "connector", key), required(document, "topic", key),
                   int(required(document, "partition", key)), int(required(document, "start_offset", key)),
                   int(required(document, "commit_offset", key)),
                   int(document.get("records", sum(f.rows for f in files) + len(offsets))), files, dlq.get("topic"),
                   offsets, None if writer is None else Writer(writer.get("task"), writer.get("transactional_id")),
                   document.get("written_at"))
