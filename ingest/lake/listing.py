"""Listings of the lake: keys under a prefix, the sink's watermark documents."""

from __future__ import annotations

import datetime as dt
import json

from ingest.lake.keys import watermark_prefix
from ingest.timefmt import utc


def list_keys(client, bucket: str, prefix: str, suffix: str = ".parquet") -> list[tuple[str, str]]:
    """(key, etag) of the objects under `prefix`, sorted."""
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [(o["Key"], o["ETag"]) for o in page.get("Contents", []) if o["Key"].endswith(suffix)]
    return sorted(found)


def watermarks(client, bucket: str, connector: str, topic: str) -> list[dict]:
    """The sink's watermark documents of the topic, one per Kafka partition (`_sluice/<connector>/watermarks/`)."""
    return [json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
            for key, _ in list_keys(client, bucket, watermark_prefix(connector, topic), suffix=".json")]


def committed_offsets(documents: list[dict]) -> dict[int, int | None]:
    """Each Kafka partition's committed offset, from its watermark document."""
    return {int(d["partition"]): d.get("committed_offset") for d in documents}


def least_complete(documents: list[dict]) -> dt.datetime | None:
    """The completeness watermark over watermark documents: the least advanced partition's, if every one has one."""
    values = [document.get("complete_until_ms") for document in documents]
    if not values or any(v is None for v in values):
        return None
    return utc(min(values))


def complete_until(client, bucket: str, connector: str, topic: str) -> dt.datetime | None:
    """The sink's completeness watermark over all partitions of the topic (the least advanced), if any."""
    return least_complete(watermarks(client, bucket, connector, topic))
