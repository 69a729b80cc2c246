"""Reading the curated zone (what the dbt models wrote) and counting each stage of a window, with DuckDB."""

from __future__ import annotations

import datetime as dt

from ingest.lake.keys import curated_key, landed_key, s3_url
from ingest.lake.names import CURATED_DIR, LANDED_DIR

HIVE_TYPES = "{'event_date': 'date', 'event_hour': 'integer'}"


def _listing(urls: list[str]) -> str:
    return ", ".join(repr(u) for u in urls)


def mart_rows(con, bucket: str, model: str, columns: str, hours: list[dt.datetime],
              curated_dir: str = CURATED_DIR) -> list[tuple]:
    """The model's rows of the hours (each hour is one file the dbt run wrote)."""
    files = [s3_url(bucket, curated_key(curated_dir, model, h)) for h in hours]
    return con.sql(f"select {columns} from read_parquet([{_listing(files)}], hive_partitioning = true, "
                   f"hive_types = {HIVE_TYPES})").fetchall()


def stage_counts(con, bucket: str, topic: str, hours: list[dt.datetime], landed_dir: str = LANDED_DIR,
                 curated_dir: str = CURATED_DIR) -> dict[str, int]:
    """Distinct events of the hours at each stage in the lake: landed (raw, valid), staged, mart."""
    start, end = hours[0], hours[-1] + dt.timedelta(hours=1)
    window = (f"event_time >= '{start.isoformat()}'::timestamptz "
              f"and event_time < '{end.isoformat()}'::timestamptz")

    def count(files: list[str], what: str) -> int:
        return con.sql(f"select {what} from read_parquet([{_listing(files)}], union_by_name = true) "
                       f"where {window}").fetchone()[0]

    def curated(model: str) -> list[str]:
        return [s3_url(bucket, curated_key(curated_dir, model, h)) for h in hours]

    return {"raw_valid": count([s3_url(bucket, landed_key(landed_dir, topic, h)) for h in hours],
                               "count(distinct event_id)"),
            "staged": count(curated("stg_events"), "count(*)"),
            "mart": count(curated("events_by_time"), "count(*)")}
