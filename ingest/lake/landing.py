"""Landing one UTC hour of the raw zone: the sink's files with rows of the hour compacted into one Parquet file.

Which files: with the sink's commit ledger, those its hour index names for the hour (every committed round with
event times in it, whatever directory the sink's `path.format`, `timezone` or timestamp extractor put its files
in), keeping the rows whose event time falls in the hour (UTC). Without a ledger (a lake of Confluent's own
sink, a sample lake) the hour's directory `<topics.dir>/<topic>/year=/month=/day=/hour=/`.
They become `<landed>/<topic>/year=/month=/day=/hour=/part-0.parquet`: one file, each Kafka record once (a
record in two files, as a replay of uncommitted offsets leaves it, is kept once), ordered by partition and
offset, so a re-run writes the same file. The small-file problem stays in the raw zone.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from ingest.config import DEFAULT_SCHEMA
from ingest.lake.keys import hour_index_prefix, landed_key, manifest_key, parse_hour_index_key, raw_hour_prefix
from ingest.lake.ledger import ledger_partitions, parse_manifest
from ingest.lake.listing import list_keys
from ingest.schema import load_schema
from ingest.sink.ledger import hours_spanned
from ingest.timefmt import iso_seconds

EVENT_TIME = "event_time"  # the schema's event time (UTC), which hours are made of


@dataclass
class LandedHour:
    files: int
    raw_rows: int
    rows: int
    offsets: dict[int, tuple[int, int]] = field(default_factory=dict)  # kafka partition -> (first, last)
    key: str = ""

    @property
    def repeated(self) -> int:
        return self.raw_rows - self.rows


def ledger_files(client, bucket: str, connector: str, topic: str, hour: dt.datetime,
                 committed: dict[int, int | None]) -> list[str] | None:
    """The raw files with rows of the UTC hour by the ledger's hour index: of every committed round the index
    names (`commit_offset` at or below `committed`, the partitions' committed offsets), the files whose event
    times span the hour. None when the topic has no ledger."""
    entries = [k for k, _ in list_keys(client, bucket, hour_index_prefix(connector, topic, hour), suffix=".json")]
    if not entries and not ledger_partitions(client, bucket, connector, topic):
        return None
    files: set[str] = set()
    for entry in entries:
        partition, start = parse_hour_index_key(entry)
        key = manifest_key(connector, topic, partition, start)
        try:
            document = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except client.exceptions.NoSuchKey:  # the entry of a round a crash left before its manifest
            continue
        manifest = parse_manifest(key, document)
        if committed.get(partition) is None or manifest.commit_offset > committed[partition]:
            continue  # in flight, or left uncommitted by a crash: a replay rewrites it
        files.update(f["key"] for f in manifest.files if hour in hours_spanned([f]))
    return sorted(files)


def land_hour(con, client, bucket: str, topics_dir: str, landed_dir: str, topic: str, hour: dt.datetime,
              connector: str | None = None, committed: dict[int, int | None] | None = None) -> LandedHour:
    """Land the hour; with `connector` by its ledger if it has one (`committed`: its partitions' committed
    offsets), else by the hour's directory."""
    keys = ledger_files(client, bucket, connector, topic, hour, committed or {}) if connector else None
    in_hour = ""
    if keys is None:
        keys = [k for k, _ in list_keys(client, bucket, raw_hour_prefix(topics_dir, topic, hour))]
    else:
        end = hour + dt.timedelta(hours=1)
        in_hour = (f"where {EVENT_TIME} >= timestamptz '{iso_seconds(hour)}' "
                   f"and {EVENT_TIME} < timestamptz '{iso_seconds(end)}'")
    target = landed_key(landed_dir, topic, hour)
    if not keys:  # an empty hour lands as an empty file, so re-landing replaces whatever was there
        sink = io.BytesIO()
        pq.write_table(load_schema(DEFAULT_SCHEMA).arrow_schema().empty_table(), sink)
        client.put_object(Bucket=bucket, Key=target, Body=sink.getvalue())
        return LandedHour(0, 0, 0, key=target)
    files = ", ".join(f"'s3://{bucket}/{k}'" for k in keys)
    con.execute(f"""
        create or replace temp table landing as
        select * from read_parquet([{files}], union_by_name = true) {in_hour}""")
    raw_rows = con.sql("select count(*) from landing").fetchone()[0]
    con.execute(f"""
        copy (
            select * from landing
            qualify row_number() over (partition by _kafka_topic, _kafka_partition, _kafka_offset) = 1
            order by _kafka_topic, _kafka_partition, _kafka_offset
        ) to 's3://{bucket}/{target}' (format parquet, compression zstd)""")
    per_partition = con.sql("""
        select _kafka_partition, min(_kafka_offset), max(_kafka_offset), count(distinct _kafka_offset)
        from landing group by all order by 1""").fetchall()
    con.execute("drop table landing")
    rows = sum(n for *_, n in per_partition)
    return LandedHour(len(keys), raw_rows, rows, {p: (lo, hi) for p, lo, hi, _ in per_partition}, target)


@dataclass
class LandedWindow:
    """The hours of a run, landed: totals, per-partition offset ranges, and rows repeated in the landed files."""

    hours: list[dt.datetime]
    landed: list[LandedHour]
    repeated_after_landing: int  # Kafka records found twice in the landed files: must be 0

    @property
    def rows(self) -> int:
        return sum(h.rows for h in self.landed)

    @property
    def files(self) -> int:
        return sum(h.files for h in self.landed)

    @property
    def repeated(self) -> int:
        return sum(h.repeated for h in self.landed)

    @property
    def offsets(self) -> dict[int, tuple[int, int]]:
        merged: dict[int, tuple[int, int]] = {}
        for hour in self.landed:
            for p, (lo, hi) in hour.offsets.items():
                old = merged.get(p, (lo, hi))
                merged[p] = (min(old[0], lo), max(old[1], hi))
        return dict(sorted(merged.items()))


def land_window(con, client, bucket: str, topics_dir: str, landed_dir: str, topic: str,
                hours: list[dt.datetime], connector: str | None = None,
                committed: dict[int, int | None] | None = None) -> LandedWindow:
    """Land every hour (see land_hour), then count Kafka records that appear more than once across the landed
    files."""
    landed = [land_hour(con, client, bucket, topics_dir, landed_dir, topic, hour, connector, committed)
              for hour in hours]
    files = ", ".join(repr(f"s3://{bucket}/{h.key}") for h in landed)
    repeated = con.sql("select count(*) - count(distinct (_kafka_topic, _kafka_partition, _kafka_offset)) "
                       f"from read_parquet([{files}])").fetchone()[0]
    return LandedWindow(hours, landed, repeated)
