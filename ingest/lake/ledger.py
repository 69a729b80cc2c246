"""Reading the sink's commit ledger: manifests per Kafka partition, from a cursor, checked for gaps and overlaps.

Readers list one partition's prefix with `StartAfter=<the last key they accepted>`, so a read costs what is new.
A manifest counts once its round is committed (`commit_offset` at or below the group's committed offset); one
above it belongs to a round still in flight (or one a crash left before its commit, which a replay overwrites).
"""

from __future__ import annotations

import datetime as dt
import json

from ingest.lake.listing import list_keys
from ingest.ledger.hour_index import HourIndexEntry
from ingest.ledger.keys import hour_index_prefix, ledger_prefix
from ingest.ledger.manifest import Manifest


def ledger_partitions(client, bucket: str, connector: str, topic: str) -> list[int]:
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=ledger_prefix(connector, topic), Delimiter="/")
    return sorted(int(p["Prefix"].rstrip("/").rsplit("/", 1)[1]) for page in pages
                  for p in page.get("CommonPrefixes", []))


def read_ledger(client, bucket: str, connector: str, topic: str, partition: int,
                start_after: str | None = None, limit: int | None = None) -> list[Manifest]:
    """The partition's manifests after `start_after` (a key), in offset order; at most `limit` of them."""
    args = {"Bucket": bucket, "Prefix": ledger_prefix(connector, topic, partition)}
    if start_after:
        args["StartAfter"] = start_after
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(**args):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".json")]
        if limit is not None and len(keys) >= limit:
            keys = keys[:limit]
            break
    return [Manifest.from_json(k, json.loads(client.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in keys]


def hour_rounds(client, bucket: str, connector: str, topic: str, hour: dt.datetime,
                committed: dict[int, int | None]) -> list[Manifest] | None:
    """The committed rounds with event times in the UTC hour, by the ledger's hour index (`committed`: the
    partitions' committed offsets; a round above it is in flight or was left by a crash). None: no ledger."""
    listed = list_keys(client, bucket, hour_index_prefix(connector, topic, hour), suffix=".json")
    if not listed and not ledger_partitions(client, bucket, connector, topic):
        return None
    rounds = []
    for key, _ in listed:
        entry = HourIndexEntry.listed(connector, topic, key)
        partition = entry.partition
        try:
            document = json.loads(client.get_object(Bucket=bucket, Key=entry.manifest)["Body"].read())
        except client.exceptions.NoSuchKey:  # the entry of a round a crash left before its manifest
            continue
        manifest = Manifest.from_json(entry.manifest, document)
        if committed.get(partition) is not None and manifest.commit_offset <= committed[partition]:
            rounds.append(manifest)
    return rounds


def committed_rounds(manifests: list[Manifest], committed: int | None) -> list[Manifest]:
    """The manifests of rounds the group has committed: `commit_offset <= committed`."""
    return [m for m in manifests if committed is not None and m.commit_offset <= committed]


def tiling_problems(manifests: list[Manifest]) -> list[str]:
    """Gaps or overlaps between consecutive committed rounds of one partition, and rows outside their round."""
    problems = []
    for before, after in zip(manifests, manifests[1:], strict=False):
        if after.start_offset != before.commit_offset:
            kind = "gap" if after.start_offset > before.commit_offset else "overlap"
            problems.append(f"{kind}: {before.key} ends at {before.commit_offset}, {after.key} starts at "
                            f"{after.start_offset}")
    for m in manifests:
        for f in m.files:
            if not m.start_offset <= f.first_offset <= f.last_offset < m.commit_offset:
                problems.append(f"{m.key}: file {f.key} holds offsets outside [{m.start_offset}, "
                                f"{m.commit_offset})")
        if any(not m.start_offset <= o < m.commit_offset for o in m.dlq_offsets):
            problems.append(f"{m.key}: dead letters outside [{m.start_offset}, {m.commit_offset})")
    return problems
