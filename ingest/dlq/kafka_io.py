"""Kafka plumbing of DLQ reprocessing: reading the DLQ until caught up, and producing with delivery reports.

Kept apart from the routing logic so each stays small: the reader knows offsets and commits, the outbox knows
deliveries; neither knows what a good event is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from ingest.clients import kafka_config
from ingest.connections import Connections
from ingest.dlq.repairs import Origin
from ingest.errors import SluiceError
from ingest.sink.dlq import HEADER_PREFIX

log = logging.getLogger(__name__)
Headers = list[tuple[str, bytes | None]]
HOPS = "sluice.dlq.hops"  # how often the record was replayed from a DLQ: a record failing again is parked at last


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class DlqRecord:
    """One DLQ record as the DLQ job reads it back, and the source coordinates its Kafka Connect error headers give
    (the sink's `ingest.sink.dlq.DeadLetter` is what it writes there)."""

    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None
    headers: Headers
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None

    @classmethod
    def of(cls, m: Message) -> DlqRecord:
        headers = list(m.headers() or [])
        text = {k: v.decode("utf-8", "replace") for k, v in headers if v is not None}
        kind, ts = m.timestamp()
        return cls(m.topic(), m.partition(), m.offset(), m.key(), m.value(), ts if ts >= 0 else None, headers,
                   text.get(HEADER_PREFIX + "topic") or None, _int(text.get(HEADER_PREFIX + "partition")),
                   _int(text.get(HEADER_PREFIX + "offset")))

    @property
    def origin(self) -> Origin:
        """Source coordinates; the DLQ's own if the headers lack them (still stable across replays)."""
        if self.source_topic and self.source_partition is not None and self.source_offset is not None:
            return Origin(self.source_topic, self.source_partition, self.source_offset)
        return Origin(self.dlq_topic, self.dlq_partition, self.dlq_offset)

    def audit_row(self, run_id: str) -> dict:
        return {"run_id": run_id, "dlq_topic": self.dlq_topic, "dlq_partition": self.dlq_partition,
                "dlq_offset": self.dlq_offset, "source_topic": self.source_topic,
                "source_partition": self.source_partition, "source_offset": self.source_offset}

    @property
    def hops(self) -> int:
        """How often this record was replayed from a DLQ before (its HOPS header; 0 without one)."""
        value = next((v for k, v in reversed(self.headers) if k == HOPS and v is not None), b"0")
        return _int(value.decode("utf-8", "replace")) or 0

    def replay_headers(self, rule: str) -> Headers:
        """The original record's headers (Connect's error context and earlier sluice.* dropped) plus where from
        and the hop count."""
        kept = [(k, v) for k, v in self.headers if not k.startswith((HEADER_PREFIX, "sluice.dlq.", "sluice.parked."))]
        return kept + [("sluice.dlq.offset", str(self.dlq_offset).encode()),
                       ("sluice.dlq.partition", str(self.dlq_partition).encode()),
                       ("sluice.dlq.rule", rule.encode()), (HOPS, str(self.hops + 1).encode())]


class DlqReader:
    """Batches of a DLQ topic from its consumer group until every assigned partition reaches its high watermark.

    The high watermark of a partition is taken when it is first seen assigned, so a DLQ still being written
    cannot keep a run going forever. Offsets are committed only by `commit()`, for the records handed out.
    """

    def __init__(self, consumer: Consumer, topic: str, batch_size: int, max_records: int | None, deadline: float):
        self.consumer, self.topic, self.batch_size = consumer, topic, batch_size
        self.max_records, self.deadline = max_records, deadline
        self.start: dict[int, int] = {}  # partition -> first offset this run reads (committed, or low watermark)
        self.end: dict[int, int] = {}  # partition -> high watermark when first assigned
        self.consumed: dict[int, int] = {}  # partition -> offset after the last record handed out
        self.read = 0
        self.assigned = False
        self.caught_up = False
        consumer.subscribe([topic], on_assign=self._on_assign)

    def _on_assign(self, _consumer: Consumer, _partitions: list[TopicPartition]) -> None:
        self.assigned = True

    @property
    def total(self) -> int:
        """Records this run expects to read (for progress), as far as the assignment is known."""
        total = sum(self.end[p] - self.start[p] for p in self.end)
        return total if self.max_records is None else min(total, self.max_records)

    def _learn(self) -> list[int]:
        assignment = [tp.partition for tp in self.consumer.assignment()]
        new = [TopicPartition(self.topic, p) for p in assignment if p not in self.end]
        for tp in self.consumer.committed(new, timeout=30) if new else []:
            low, high = self.consumer.get_watermark_offsets(tp, timeout=30, cached=False)
            self.start[tp.partition] = max(tp.offset, low) if tp.offset >= 0 else low
            self.end[tp.partition] = high
        return assignment

    def _done(self, assignment: list[int]) -> bool:
        positions = {tp.partition: tp.offset for tp in
                     self.consumer.position([TopicPartition(self.topic, p) for p in assignment])}
        done = self.assigned and all(
            max(self.consumed.get(p, self.start[p]), positions.get(p, -1)) >= self.end[p] for p in assignment)
        if done:  # every record up to the end was handed out: commit past the sink's transaction markers too
            for p in assignment:
                if positions.get(p, -1) > self.consumed.get(p, self.start[p]):
                    self.consumed[p] = min(positions[p], self.end[p])
        return done

    def __iter__(self) -> Iterator[list[Message]]:
        while True:
            want = self.batch_size if self.max_records is None else min(self.batch_size, self.max_records - self.read)
            if self.assigned and self._done(self._learn()):
                self.caught_up = True
                return
            if want <= 0 or time.monotonic() > self.deadline:
                log.warning("DLQ %s: stopped after %d records before catching up", self.topic, self.read)
                return
            batch = []
            for m in self.consumer.consume(want, timeout=0.5):
                error = m.error()
                if error is not None and error.code() != KafkaError._PARTITION_EOF:
                    raise SluiceError(f"reading DLQ {self.topic}: {error}")
                if error is None:
                    batch.append(m)
                    self.consumed[m.partition()] = m.offset() + 1
            if self.assigned:
                self._learn()  # the ends of newly assigned partitions, for `total`
            if batch:
                self.read += len(batch)
                yield batch

    def commit(self) -> dict[tuple[str, int], int]:
        """Commit, synchronously, the offsets after the records handed out; (topic, partition) -> offset."""
        offsets = [TopicPartition(self.topic, p, o) for p, o in sorted(self.consumed.items())]
        try:
            done = self.consumer.commit(offsets=offsets, asynchronous=False) or []
        except KafkaException as exc:
            raise SluiceError(f"DLQ {self.topic}: records were delivered and audited, but committing offsets failed "
                              f"({exc}); the next run replays them") from None
        failed = [tp for tp in done if tp.error is not None]
        if failed:
            raise SluiceError(f"DLQ {self.topic}: committing offsets failed for {failed}; the next run replays them")
        return {(tp.topic, tp.partition): tp.offset for tp in offsets}


class Outbox:
    """An idempotent producer (acks=all) whose delivery reports fill in the audit rows' new coordinates."""

    def __init__(self, producer: Producer):
        self.producer = producer
        self.failures: list[str] = []

    def send(self, row: dict, topic: str, partition: int | None, key: bytes | None, value: bytes | None,
             timestamp_ms: int | None, headers: Headers) -> None:
        row["new_topic"] = topic

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self.failures.append(f"{topic}: {err}")
            else:
                row["new_partition"], row["new_offset"] = msg.partition(), msg.offset()

        extra: dict = {} if partition is None else {"partition": partition}
        while True:
            try:
                self.producer.produce(topic, key=key, value=value, headers=headers, timestamp=timestamp_ms or 0,
                                      on_delivery=delivered, **extra)
                break
            except BufferError:  # local queue full: let deliveries drain
                self.producer.poll(0.1)
        self.producer.poll(0)

    def flush(self, timeout_s: float) -> None:
        """Wait for every delivery; raise if any failed or is still pending (the DLQ offsets must not move then)."""
        remaining = self.producer.flush(timeout_s)
        if remaining or self.failures:
            raise SluiceError(f"{remaining} record(s) unsent, {len(self.failures)} failed: {self.failures[:3]}; "
                              "DLQ offsets not committed")


class Progress:
    """Calls `report(done, total_estimate)` each time another `every` records are done."""

    def __init__(self, report: Callable[[int, int], None] | None, every: int = 1000):
        self.report, self.every, self.reported = report, every, 0

    def update(self, done: int, total: int) -> None:
        if self.report is not None and done // self.every > self.reported // self.every:
            self.reported = done
            self.report(done, max(total, done))


def topic_depth(connections: Connections, topic: str) -> int | None:
    """Offsets a topic holds (sum of high watermarks minus low), or None if it does not exist. Transactional
    writers (the sink's DLQ) add a marker offset per transaction, so this is at least the number of records."""
    consumer = Consumer(kafka_config(connections, **{"group.id": "sluice-dlq-depth"}))
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return None
        depth = 0
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            depth += high - low
        return depth
    finally:
        consumer.close()
