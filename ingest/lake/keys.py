"""Object keys of the lake, built in one place: the raw zone (the sink's layout), landed hours, curated models,
the sink's watermarks. Hours are UTC, the sink's `path.format` grain: `year=YYYY/month=MM/day=dd/hour=HH`."""

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


def watermark_prefix(connector: str, topic: str) -> str:
    return f"_sluice/{connector}/watermarks/{topic}/"


def watermark_key(connector: str, topic: str, partition: int) -> str:
    return f"{watermark_prefix(connector, topic)}{partition}.json"


def schema_key(connector: str, topic: str) -> str:
    """The schema the sink validates a topic's records with, as a JSON Schema (the DLQ job validates with it too)."""
    return f"_sluice/{connector}/schemas/{topic}.json"


def s3_url(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def ledger_prefix(connector: str, topic: str, partition: int | None = None) -> str:
    """The sink's commit ledger of a topic, or of one Kafka partition of it."""
    base = f"_sluice/{connector}/ledger/{topic}/"
    return base if partition is None else f"{base}{partition:05d}/"


def manifest_key(connector: str, topic: str, partition: int, start_offset: int) -> str:
    """One manifest per committed round, fixed by where the round starts (a replay overwrites it); 20 digits keep
    the lexical order of keys the numeric order of offsets, so `StartAfter=<last key read>` lists what is new."""
    return f"{ledger_prefix(connector, topic, partition)}{start_offset:020d}.json"


def hour_index_prefix(connector: str, topic: str, hour: dt.datetime) -> str:
    """The ledger's index by UTC event hour: one entry per committed round with rows of the hour."""
    return f"_sluice/{connector}/hours/{topic}/{hour.astimezone(dt.UTC):%Y-%m-%dT%H}/"


def hour_index_key(connector: str, topic: str, hour: dt.datetime, partition: int, start_offset: int) -> str:
    """Points at the manifest of (partition, start offset): a replay of the round overwrites both."""
    return f"{hour_index_prefix(connector, topic, hour)}{partition:05d}+{start_offset:020d}.json"


def parse_hour_index_key(key: str) -> tuple[int, int]:
    """(Kafka partition, start offset) of an hour index entry."""
    partition, start = key.rsplit("/", 1)[1].removesuffix(".json").split("+")
    return int(partition), int(start)
