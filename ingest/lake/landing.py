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
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from ingest.config import DEFAULT_SCHEMA
from ingest.lake.keys import landed_key, raw_hour_prefix
from ingest.lake.listing import list_keys
from ingest.ledger.manifest import Manifest
from ingest.schema import load_schema
from ingest.timefmt import iso_seconds

EVENT_TIME = "event_time"  # the schema's event time (UTC), which hours are made of


@dataclass
class LandedHour:
    files: int
    raw_rows: int
    rows: int
    offsets: dict[int, tuple[int, int]] = field(default_factory=dict)  # kafka partition -> (first, last)
    key: str = ""
    missing_files: list[str] = field(default_factory=list)  # listed by the ledger, absent from the bucket
    sources: list[str] = field(default_factory=list, compare=False)  # the raw files it was landed from

    @property
    def repeated(self) -> int:
        return self.raw_rows - self.rows


def hour_files(client, bucket: str, rounds: list[Manifest], hour: dt.datetime) -> tuple[list[str], list[str]]:
    """The rounds' files whose event times span the hour: (those in the bucket, those missing from it)."""
    keys = sorted({f.key for m in rounds for f in m.files if hour in f.hours()})
    present, missing = [], []
    for key in keys:
        try:
            client.head_object(Bucket=bucket, Key=key)
            present.append(key)
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            missing.append(key)
    return present, missing


def land_hour(con, client, bucket: str, topics_dir: str, landed_dir: str, topic: str, hour: dt.datetime,
              rounds: list[Manifest] | None = None) -> LandedHour:
    """Land the hour: by the ledger's committed `rounds` of the hour (ledger.hour_rounds) when the lake has a
    ledger, else (None) by the hour's directory. A file a round lists but the bucket lacks is left out and named in
    `missing_files` (the offset check fails on it)."""
    in_hour, missing = "", []
    if rounds is None:
        keys = [k for k, _ in list_keys(client, bucket, raw_hour_prefix(topics_dir, topic, hour))]
    else:
        keys, missing = hour_files(client, bucket, rounds, hour)
        end = hour + dt.timedelta(hours=1)
        in_hour = (f"where {EVENT_TIME} >= timestamptz '{iso_seconds(hour)}' "
                   f"and {EVENT_TIME} < timestamptz '{iso_seconds(end)}'")
    target = landed_key(landed_dir, topic, hour)
    if not keys:  # an empty hour lands as an empty file, so re-landing replaces whatever was there
        sink = io.BytesIO()
        pq.write_table(load_schema(DEFAULT_SCHEMA).arrow_schema().empty_table(), sink)
        client.put_object(Bucket=bucket, Key=target, Body=sink.getvalue())
        return LandedHour(0, 0, 0, key=target, missing_files=missing)
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
    return LandedHour(len(keys), raw_rows, rows, {p: (lo, hi) for p, lo, hi, _ in per_partition}, target, missing,
                      keys)


@dataclass
class LandedWindow:
    """The hours of a run, landed: totals, per-partition offset ranges, and per hour the rows repeated in its
    landed file (a Kafka record found twice: must be 0)."""

    hours: list[dt.datetime]
    landed: list[LandedHour]
    repeated_after_landing: list[int]

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
                hours: list[dt.datetime], rounds: dict[dt.datetime, list[Manifest]] | None = None) -> LandedWindow:
    """Land every hour (see land_hour; `rounds`: each hour's committed rounds, None without a ledger), then count
    per landed file the Kafka records it holds more than once."""
    landed = [land_hour(con, client, bucket, topics_dir, landed_dir, topic, hour,
                        None if rounds is None else rounds[hour]) for hour in hours]
    files = ", ".join(repr(f"s3://{bucket}/{h.key}") for h in landed)
    repeated = dict(con.sql("select filename, count(*) - count(distinct (_kafka_topic, _kafka_partition, "
                            f"_kafka_offset)) from read_parquet([{files}], filename = true) group by all").fetchall())
    return LandedWindow(hours, landed, [repeated.get(f"s3://{bucket}/{h.key}", 0) for h in landed])
