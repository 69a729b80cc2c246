"""Landing one hour of the raw zone: the sink's files of the hour compacted into one Parquet file.

`<topics.dir>/<topic>/year=/month=/day=/hour=/<topic>+<partition>+<offset>.snappy.parquet` (many small files)
becomes `<landed>/<topic>/year=/month=/day=/hour=/part-0.parquet`: one file, each Kafka record once (a record in
two files, as a replay of uncommitted offsets leaves it, is kept once), ordered by partition and offset, so a
re-run writes the same file. The small-file problem stays in the raw zone.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from ingest.config import DEFAULT_SCHEMA
from ingest.lake.keys import landed_key, raw_hour_prefix
from ingest.lake.listing import list_keys
from ingest.schema import load_schema


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


def land_hour(con, client, bucket: str, topics_dir: str, landed_dir: str, topic: str, hour: dt.datetime) -> LandedHour:
    keys = [k for k, _ in list_keys(client, bucket, raw_hour_prefix(topics_dir, topic, hour))]
    target = landed_key(landed_dir, topic, hour)
    if not keys:  # an empty hour lands as an empty file, so re-landing replaces whatever was there
        sink = io.BytesIO()
        pq.write_table(load_schema(DEFAULT_SCHEMA).arrow_schema().empty_table(), sink)
        client.put_object(Bucket=bucket, Key=target, Body=sink.getvalue())
        return LandedHour(0, 0, 0, key=target)
    files = ", ".join(f"'s3://{bucket}/{k}'" for k in keys)
    con.execute(f"""
        create or replace temp table landing as
        select * from read_parquet([{files}], union_by_name = true)""")
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
                hours: list[dt.datetime]) -> LandedWindow:
    """Land every hour, then count Kafka records that appear more than once across the landed files."""
    landed = [land_hour(con, client, bucket, topics_dir, landed_dir, topic, hour) for hour in hours]
    files = ", ".join(repr(f"s3://{bucket}/{h.key}") for h in landed)
    repeated = con.sql("select count(*) - count(distinct (_kafka_topic, _kafka_partition, _kafka_offset)) "
                       f"from read_parquet([{files}])").fetchone()[0]
    return LandedWindow(hours, landed, repeated)
