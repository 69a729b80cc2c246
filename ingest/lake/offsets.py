"""Gaps and repeats in the Kafka offsets the raw zone holds, against what the sink committed.

Every offset of a partition below the sink's committed offset is either a row of the raw zone or a record
the sink dead-lettered. Offsets are counted, not listed: the raw zone is read for two integer columns only,
and the DLQ is read once from its start (dead letters name their source with Kafka Connect's context headers;
without them, all of the DLQ's records count against the topic as a whole). Records dropped under
`behavior.on.null.values=ignore` would show as gaps.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from ingest.clients import kafka_config
from ingest.connections import Connections
from ingest.lake.keys import raw_glob, topic_prefix


@dataclass
class OffsetAudit:
    committed: dict[int, int]  # kafka partition -> the sink's committed offset
    held: dict[int, int]  # distinct offsets below it in the raw zone
    repeated: int  # rows beyond the first of each (partition, offset)
    dead_lettered: dict[int, int]  # per partition; key -1: DLQ records without context headers
    gaps: int  # offsets neither in the raw zone nor in the DLQ

    @property
    def ok(self) -> bool:
        return self.gaps == 0


def low_offsets(connections: Connections, topic: str, partitions: list[int]) -> dict[int, int]:
    """The first offset Kafka still holds per partition: retention may have deleted what came before."""
    consumer = Consumer(kafka_config(connections, **{"group.id": "sluice-offset-audit"}))
    try:
        return {p: max(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[0], 0)
                for p in partitions}
    finally:
        consumer.close()


def dead_letters(connections: Connections, dlq_topic: str, topic: str) -> Counter:
    """Dead letters of `topic` per source partition (-1: without context headers), read up to the DLQ's end."""
    counts: Counter = Counter()
    consumer = Consumer(kafka_config(connections, **{"group.id": "sluice-offset-audit", "enable.auto.commit": False}))
    try:
        metadata = consumer.list_topics(dlq_topic, timeout=10).topics.get(dlq_topic)
        if metadata is None or metadata.error is not None:
            return counts
        starts, ends = {}, {}
        for p in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(dlq_topic, p), timeout=10)
            if high > low:
                starts[p], ends[p] = low, high  # from the first offset retention (or delete-records) kept
        consumer.assign([TopicPartition(dlq_topic, p, starts[p]) for p in ends])
        deadline = time.monotonic() + 300
        while ends and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=1.0):
                if message.error() is not None:
                    continue
                headers = {k: v.decode(errors="replace") for k, v in (message.headers() or []) if v is not None}
                if headers.get("__connect.errors.topic", topic) == topic:
                    partition = headers.get("__connect.errors.partition", "-1")
                    counts[int(partition) if partition.lstrip("-").isdigit() else -1] += 1
            # by position, not by the last record: the sink's transaction markers take offsets too
            for tp in consumer.position([TopicPartition(dlq_topic, p) for p in list(ends)]):
                if tp.offset >= ends[tp.partition]:
                    ends.pop(tp.partition, None)
    finally:
        consumer.close()
    return counts


def audit_offsets(con, client, connections: Connections, bucket: str, topics_dir: str, topic: str,
                  committed: dict[int, int | None], dlq_topic: str | None) -> OffsetAudit | None:
    """`committed`: the sink's committed offset per partition (listing.committed_offsets of its watermarks).
    None when the sink has not committed anything yet (no watermarks)."""
    committed = {p: int(o) for p, o in committed.items() if o is not None}
    if not committed:
        return None
    low = low_offsets(connections, topic, list(committed))
    held, repeated = {}, 0
    prefix = topic_prefix(topics_dir, topic)
    has_files = client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0)
    rows = con.sql(f"""
        select _kafka_partition, _kafka_offset, count(*) as n
        from read_parquet('{raw_glob(bucket, topics_dir, topic)}')
        group by all""").fetchall() if has_files else []  # every record so far dead-lettered: no file yet
    for partition, offset, n in rows:
        repeated += n - 1
        if low.get(partition, 0) <= offset < committed.get(partition, 0):
            held[partition] = held.get(partition, 0) + 1
    dead = dead_letters(connections, dlq_topic, topic) if dlq_topic else Counter()
    expected = sum(c - low.get(p, 0) for p, c in committed.items())
    missing = expected - sum(held.values()) - sum(dead.values())
    return OffsetAudit(committed, held, repeated, dict(dead), max(missing, 0))
