"""Keys of what the sink writes under `_sluice/<connector>/` for the lake's readers: the commit ledger, its hour
index, the watermarks, the recorded schemas. Public layout: see the README's "Commit ledger" and "Completeness
watermark"."""

from __future__ import annotations

import datetime as dt


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


def watermark_prefix(connector: str, topic: str) -> str:
    return f"_sluice/{connector}/watermarks/{topic}/"


def watermark_key(connector: str, topic: str, partition: int) -> str:
    return f"{watermark_prefix(connector, topic)}{partition}.json"


def schema_key(connector: str, topic: str) -> str:
    """The schema the sink validates a topic's records with, as a JSON Schema (the DLQ job validates with it too)."""
    return f"_sluice/{connector}/schemas/{topic}.json"
