"""The commit ledger's manifests as the sink writes them: one JSON document per committed round.

A round's manifest is uploaded after its files and before its offsets are committed, under
`_sluice/<connector>/ledger/<topic>/<partition:05d>/<start_offset:020d>.json`. It tiles the partition's offsets:
`[start_offset, commit_offset)` holds exactly the offsets of its files' rows, of its dead letters, and of records
skipped on purpose (ignored nulls, transaction markers). Public format: see the README's "Commit ledger".
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from ingest.timefmt import iso_millis, parse_iso

HOUR = dt.timedelta(hours=1)

FORMAT = "sluice-ledger"
VERSION = 1


def file_entry(key: str, encoded: str, partition: int, table: pa.Table, size: int, time_field: str | None) -> dict:
    """A file of the round: where it is, which offsets and how many rows, and the span of its event times (UTC)."""
    offsets = pc.min_max(table["_kafka_offset"])
    entry = {"key": key, "encoded_partition": encoded, "kafka_partition": partition,
             "first_offset": offsets["min"].as_py(), "last_offset": offsets["max"].as_py(),
             "rows": table.num_rows, "size": size, "min_event_time": None, "max_event_time": None}
    if time_field is not None and time_field in table.column_names and table.num_rows:
        span = pc.min_max(table[time_field])
        if span["min"].is_valid:
            entry["min_event_time"] = iso_millis(span["min"].as_py())
            entry["max_event_time"] = iso_millis(span["max"].as_py())
    return entry


def manifest(connector: str, topic: str, partition: int, start_offset: int, commit_offset: int, files: list[dict],
             dlq_topic: str | None, dlq_offsets: list[int], writer: dict, now_ms: int) -> dict:
    """The document of one committed round. `commit_offset` is exclusive: the offset the group commits."""
    return {
        "format": FORMAT, "version": VERSION, "connector": connector, "topic": topic, "partition": partition,
        "start_offset": start_offset, "commit_offset": commit_offset,
        "records": sum(f["rows"] for f in files) + len(dlq_offsets),
        "files": files,
        "dlq": {"topic": dlq_topic, "offsets": sorted(dlq_offsets)},
        "writer": writer,
        "written_at": iso_millis(now_ms),
    }


def hours_spanned(files: list[dict] | tuple[dict, ...]) -> list[dt.datetime]:
    """The UTC hours from each file entry's min to its max event time (entries without event times add none)."""
    hours: set[dt.datetime] = set()
    for f in files:
        if f.get("min_event_time") and f.get("max_event_time"):
            hour = parse_iso(f["min_event_time"]).astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
            last = parse_iso(f["max_event_time"])
            while hour <= last:
                hours.add(hour)
                hour += HOUR
    return sorted(hours)
