"""Listings of the lake: keys under a prefix, the raw zone's hours after a point and their digests, the sink's
watermark documents."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from ingest.lake.keys import watermark_prefix
from ingest.timefmt import utc


def list_keys(client, bucket: str, prefix: str, suffix: str = ".parquet") -> list[tuple[str, str]]:
    """(key, etag) of the objects under `prefix`, sorted."""
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [(o["Key"], o["ETag"]) for o in page.get("Contents", []) if o["Key"].endswith(suffix)]
    return sorted(found)


def _children(client, bucket: str, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
    return sorted(p["Prefix"] for page in pages for p in page.get("CommonPrefixes", []))


def hours_since(client, bucket: str, topic_prefix: str, since: dt.datetime) -> list[dt.datetime]:
    """Hours with a directory under `<topic_prefix>year=/month=/day=/hour=/` at or after `since`, walking the
    directory levels and skipping whole years, months and days before it (never a full listing)."""
    found = []
    for year in _children(client, bucket, topic_prefix):
        y = int(year.rstrip("/").rsplit("=", 1)[1])
        if y < since.year:
            continue
        for month in _children(client, bucket, year):
            m = int(month.rstrip("/").rsplit("=", 1)[1])
            if (y, m) < (since.year, since.month):
                continue
            for day in _children(client, bucket, month):
                d = int(day.rstrip("/").rsplit("=", 1)[1])
                if dt.date(y, m, d) < since.date():
                    continue
                for hour in _children(client, bucket, day):
                    moment = dt.datetime(y, m, d, int(hour.rstrip("/").rsplit("=", 1)[1]), tzinfo=dt.UTC)
                    if moment >= since:
                        found.append(moment)
    return found


def fingerprint(client, bucket: str, prefix: str) -> tuple[str, int]:
    """A digest of the hour's files (keys and ETags) and their count: it changes when a file arrives or changes."""
    keys = list_keys(client, bucket, prefix)
    return hashlib.sha1(json.dumps(keys).encode()).hexdigest()[:16], len(keys)


def watermarks(client, bucket: str, connector: str, topic: str) -> list[dict]:
    """The sink's watermark documents of the topic, one per Kafka partition (`_sluice/<connector>/watermarks/`)."""
    return [json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
            for key, _ in list_keys(client, bucket, watermark_prefix(connector, topic), suffix=".json")]


def complete_until(client, bucket: str, connector: str, topic: str) -> dt.datetime | None:
    """The sink's completeness watermark over all partitions of the topic (the least advanced), if any."""
    values = [document.get("complete_until_ms") for document in watermarks(client, bucket, connector, topic)]
    if not values or any(v is None for v in values):
        return None
    return utc(min(values))
