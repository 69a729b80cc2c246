"""Reading the curated zone (what the dbt models wrote) and counting each stage of a window, with DuckDB."""

from __future__ import annotations

import datetime as dt
import uuid

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


def model_rows(con, bucket: str, model: str, hours: list[dt.datetime], curated_dir: str = CURATED_DIR) -> int:
    """How many rows the model holds for the hours (counted from the files' Parquet footers)."""
    files = [s3_url(bucket, curated_key(curated_dir, model, h)) for h in hours]
    return con.sql(f"select count(*) from read_parquet([{_listing(files)}])").fetchone()[0]


def stage_ids(con, bucket: str, topic: str, hour: dt.datetime, landed_dir: str = LANDED_DIR,
              curated_dir: str = CURATED_DIR) -> dict[str, set[str]]:
    """The hour's event ids at each stage in the lake, each read from its own file with no filter of its own:
    landed (the distinct valid events of the raw zone), staged (stg_events), mart (events_by_time)."""

    def ids(key: str) -> set[str]:
        rows = con.sql(f"select distinct cast(event_id as varchar) from read_parquet('{s3_url(bucket, key)}')")
        return {str(uuid.UUID(r[0])) for r in rows.fetchall()}

    return {"raw_valid": ids(landed_key(landed_dir, topic, hour)),
            "staged": ids(curated_key(curated_dir, "stg_events", hour)),
            "mart": ids(curated_key(curated_dir, "events_by_time", hour))}
