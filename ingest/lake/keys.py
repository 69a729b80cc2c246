"""Object keys of the lake, built in one place: the raw zone (the sink's layout), landed hours, curated models,
the sink's recorded schemas. Hours are UTC, the sink's `path.format` grain: `year=YYYY/month=MM/day=dd/hour=HH`.
The keys of the commit ledger, its hour index and the watermarks are in `ingest.ledger.keys` (the sink writes
them too)."""

from __future__ import annotations

import datetime as dt


def hour_path(hour: dt.datetime) -> str:
    """The sink's encoded partition of an hour: year=YYYY/month=MM/day=dd/hour=HH."""
    t = hour.astimezone(dt.UTC)
    return f"year={t:%Y}/month={t:%m}/day={t:%d}/hour={t:%H}"


def topic_prefix(topics_dir: str, topic: str) -> str:
    return f"{topics_dir}/{topic}/"


def raw_hour_prefix(topics_dir: str, topic: str, hour: dt.datetime) -> str:
    """The folder of the sink's files of one hour."""
    return f"{topics_dir}/{topic}/{hour_path(hour)}/"


def raw_glob(bucket: str, topics_dir: str, topic: str) -> str:
    """Every raw file of the topic, for DuckDB's read_parquet."""
    return f"s3://{bucket}/{topics_dir}/{topic}/*/*/*/*/*.parquet"


def landed_key(landed_dir: str, topic: str, hour: dt.datetime) -> str:
    """The one compacted file of an hour."""
    return f"{landed_dir}/{topic}/{hour_path(hour)}/part-0.parquet"


def curated_key(curated_dir: str, model: str, hour: dt.datetime) -> str:
    """The file a dbt model writes for an hour (dbt_project/macros/lake_window.sql writes the same)."""
    t = hour.astimezone(dt.UTC)
    return f"{curated_dir}/{model}/event_date={t:%Y-%m-%d}/event_hour={t:%H}/part-0.parquet"


def s3_url(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"
