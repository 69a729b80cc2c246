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
from ingest.schema import load_schema
from orchestration.partitions import hour_path


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


def list_keys(client, bucket: str, prefix: str, suffix: str = ".parquet") -> list[tuple[str, str]]:
    """(key, etag) of the objects under `prefix`."""
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [(o["Key"], o["ETag"]) for o in page.get("Contents", []) if o["Key"].endswith(suffix)]
    return sorted(found)


def raw_prefix(topics_dir: str, topic: str, hour: dt.datetime) -> str:
    return f"{topics_dir}/{topic}/{hour_path(hour)}/"


def land_hour(con, client, bucket: str, topics_dir: str, landed_dir: str, topic: str, hour: dt.datetime) -> LandedHour:
    keys = [k for k, _ in list_keys(client, bucket, raw_prefix(topics_dir, topic, hour))]
    target = f"{landed_dir}/{topic}/{hour_path(hour)}/part-0.parquet"
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
