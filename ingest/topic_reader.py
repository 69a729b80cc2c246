"""Read a topic to its end: each partition from its first kept offset (or a given start) up to the high watermark
it had when the read began.

The end is a snapshot, so a topic still being written cannot keep a read going. A partition is done when the
consumer's position reaches that high watermark, not when a record with offset high - 1 arrives: a transactional
writer's commit markers take offsets too (the sink's DLQ ends with one), and no record ever carries them. Reading
starts at the low watermark, not at 0: below it retention has deleted the records, and a consumer asked for a
deleted offset jumps to `auto.offset.reset` (by default the end, reading nothing).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from ingest.clients import kafka_config
from ingest.connections import Connections

ABSENT = {KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC}
POLL_S = 0.5  # one consume() call at most: the deadline is checked between calls


@contextlib.contextmanager
def _consumer(source: Consumer | Connections, isolation: str) -> Iterator[Consumer]:
    """The caller's consumer as it is, or one of our own (closed on exit) that commits nothing and no group cares
    about; `earliest`, so a start that retention overtakes mid-read moves to the first kept offset, not the end."""
    if not isinstance(source, Connections):
        yield source
        return
    consumer = Consumer(kafka_config(source, **{
        "group.id": f"sluice-read-{uuid.uuid4().hex}", "enable.auto.commit": False,
        "isolation.level": isolation, "auto.offset.reset": "earliest"}))
    try:
        yield consumer
    finally:
        consumer.close()


def _watermarks(consumer: Consumer, topic: str, timeout: float) -> dict[int, tuple[int, int]]:
    metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    if metadata is None or (metadata.error is not None and metadata.error.code() in ABSENT):
        return {}
    if metadata.error is not None:
        raise KafkaException(metadata.error)
    marks = {}
    for p in sorted(metadata.partitions):
        mark = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout, cached=False)
        if mark is None:
            raise TimeoutError(f"topic {topic}: no watermarks for partition {p} within {timeout:g} s")
        marks[p] = tuple(mark)
    return marks


def watermarks(source: Consumer | Connections, topic: str, timeout: float = 30.0) -> dict[int, tuple[int, int]]:
    """Each partition's (low, high) watermark, asked of the broker now; {} if the topic does not exist."""
    with _consumer(source, "read_committed") as consumer:
        return _watermarks(consumer, topic, timeout)


def read_to_end(source: Consumer | Connections, topic: str, *, start: Mapping[int, int] | None = None,
                isolation: str = "read_committed", timeout: float = 60.0, batch: int = 1000,
                progress: Callable[[int, int], None] | None = None) -> Iterator[list[Message]]:
    """Yield the error-free records of `topic` in batches (each a list, never empty), from `start[p]` (else the low
    watermark; never below it) up to the high watermarks snapshotted when iteration begins; records written after
    the snapshot are left out. `[m for b in read_to_end(...) for m in b]` is the whole read.

    `source`: a Consumer the caller owns (assigned here, replacing its assignment, and left open; its own
    `isolation.level` applies) or Connections (a consumer of our own with `isolation`, closed at the end).
    `timeout` counts from the first `next()`, time the caller spends between batches included; past it raises
    TimeoutError naming the topic and each unfinished partition's position. `progress(done, total)` is called as
    offsets pass: offsets (records and transaction markers) read of those to read. Under read_committed a
    transaction left open keeps its partition short of the high watermark until it ends or aborts.
    """
    deadline = time.monotonic() + timeout
    with _consumer(source, isolation) as consumer:
        marks = _watermarks(consumer, topic, timeout)
        ends = {p: high for p, (_, high) in marks.items()}
        begins = {p: max((start or {}).get(p, low), low) for p, (low, _) in marks.items()}
        pending = {p for p in marks if begins[p] < ends[p]}
        if not pending:
            return
        consumer.assign([TopicPartition(topic, p, begins[p]) for p in sorted(pending)])
        reached = {p: begins[p] for p in pending}
        total, done = sum(ends[p] - begins[p] for p in pending), 0
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                where = ", ".join(f"partition {p} at {reached[p]} of {ends[p]}" for p in sorted(pending))
                raise TimeoutError(f"topic {topic}: not read to its end within {timeout:g} s; left: {where}")
            records = []
            for m in consumer.consume(num_messages=batch, timeout=min(POLL_S, left)):
                if m.error() is None and m.partition() in reached and m.offset() < ends[m.partition()]:
                    records.append(m)
                    reached[m.partition()] = max(reached[m.partition()], m.offset() + 1)
            for tp in consumer.position([TopicPartition(topic, p) for p in sorted(pending)]):
                reached[tp.partition] = max(reached[tp.partition], tp.offset)  # negative until a fetch: no change
                if reached[tp.partition] >= ends[tp.partition]:
                    pending.discard(tp.partition)
            now = sum(min(reached[p], ends[p]) - begins[p] for p in reached)
            if progress is not None and now > done:
                progress(now, total)
            done = now
            if records:
                yield records
