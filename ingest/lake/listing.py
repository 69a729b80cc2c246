"""Listings of the lake: keys under a prefix, the sink's watermarks."""

from __future__ import annotations

import datetime as dt
import json

from ingest.ledger.keys import watermark_prefix
from ingest.ledger.watermark import Watermark
from ingest.timefmt import utc


def list_keys(client, bucket: str, prefix: str, suffix: str = ".parquet") -> list[tuple[str, str]]:
    """(key, etag) of the objects under `prefix`, sorted."""
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [(o["Key"], o["ETag"]) for o in page.get("Contents", []) if o["Key"].endswith(suffix)]
    return sorted(found)


def watermarks(client, bucket: str, connector: str, topic: str) -> list[Watermark]:
    """The sink's watermarks of the topic, one per Kafka partition (`_sluice/<connector>/watermarks/`)."""
    return [Watermark.from_json(key, json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read()))
            for key, _ in list_keys(client, bucket, watermark_prefix(connector, topic), suffix=".json")]


def committed_offsets(marks: list[Watermark]) -> dict[int, int | None]:
    """Each Kafka partition's committed offset, from its watermark."""
    return {m.partition: m.committed_offset for m in marks}


def least_complete(marks: list[Watermark]) -> dt.datetime | None:
    """The completeness watermark over the partitions' watermarks: the least advanced one, if every one has one."""
    values = [m.complete_until_ms for m in marks]
    if not values or any(v is None for v in values):
        return None
    return utc(min(values))
