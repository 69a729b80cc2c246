"""One sink task: a consumer in the connector's group, writing its partitions' records to S3.

The order that makes it exactly-once: a round of files is uploaded, then the dead letters before its end
are acknowledged, then the offset is committed (synchronously), then the watermark is written. A crash
anywhere in between replays from the last commit and rewrites the same keys. Revoked partitions drop their
open (unuploaded) files; the new owner reads them again from the committed offset.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from ingest.clients import kafka_config
from ingest.config import SinkConfig
from ingest.errors import SinkStopped
from ingest.lake.keys import watermark_key
from ingest.schema import load_schema
from ingest.sink.dlq import DeadLetterQueue
from ingest.sink.partition_writer import ClosedRound, PartitionWriter
from ingest.sink.records import PartitionBatch, RecordConverter
from ingest.sink.storage import Storage
from ingest.sink.watermark import next_watermark, watermark_document
from ingest.sink.writer import file_bytes, object_key

log = logging.getLogger("sluice.sink")


@dataclass
class TaskStats:
    good: int = 0
    dead_lettered: int = 0
    dropped: int = 0  # bad records with errors.tolerance=all and no DLQ topic
    ignored: int = 0
    written: int = 0
    files: int = 0
    bytes: int = 0
    commits: int = 0
    lag: int = 0
    fetch_lag: int = 0
    last_message: float = 0.0
    assigned_at: float = 0.0  # monotonic time of the last assignment


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class SinkTask:
    def __init__(self, config: SinkConfig, task_id: int, stop: threading.Event, instance_id: str | None = None,
                 clock_ms=wall_ms, batch_size: int = 10_000):
        self.config, self.task_id, self.stop, self.clock_ms = config, task_id, stop, clock_ms
        self.batch_size = min(batch_size, max(config.flush_size, 500))
        self.stats = TaskStats()
        self._waiting_for_topic = False  # logged once: a topic subscribed to does not exist (yet)
        self.converter = RecordConverter(config, load_schema(config.schema_file), clock_ms)
        self.storage = Storage(config.connections, config.bucket)
        self.dlq = None
        if config.errors_tolerance == "all" and config.dlq_topic:
            self.dlq = DeadLetterQueue(config.connections, config.dlq_topic, config.dlq_context_headers,
                                       config.name, task_id)
        self.writers: dict[tuple[str, int], PartitionWriter] = {}
        self.watermarks: dict[tuple[str, int], int | None] = {}  # complete_until_ms per partition
        self.pending_watermarks: dict[tuple[str, int], dict] = {}  # committed, not yet written to S3
        self.watermark_written: dict[tuple[str, int], int] = {}  # wall ms of the last write
        settings = {
            "group.id": config.group_id, "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "enable.partition.eof": False, "session.timeout.ms": 10_000, "heartbeat.interval.ms": 2_000,
            "client.id": f"{config.name}-{task_id}", "fetch.max.bytes": 16 * 1024 * 1024,
            **config.consumer_overrides,
        }
        if instance_id:
            # Static membership: a restarted task takes its partitions back at once, without a rebalance,
            # and a second process with the same id is fenced instead of writing beside it.
            settings["group.instance.id"] = f"{instance_id}-{task_id}"
        self.consumer = Consumer(kafka_config(config.connections, **settings))

    # -- group membership ------------------------------------------------------------------------------
    def _on_assign(self, consumer, partitions: list[TopicPartition]) -> None:
        # The group's committed offsets: where this task resumes, and what counts as unconsumed before a fetch.
        committed = consumer.committed(partitions, timeout=30) if partitions else []
        for tp in committed:
            writer = PartitionWriter(tp.topic, tp.partition, self.config.flush_size, self.config.rotate_interval_ms,
                                     self.config.rotate_schedule_interval_ms)
            writer.committed = tp.offset if tp.offset >= 0 else None
            self.writers[(tp.topic, tp.partition)] = writer
        self.stats.assigned_at = time.monotonic()
        log.info("task %d assigned %s", self.task_id, sorted(f"{t.topic}[{t.partition}]" for t in partitions))

    def _on_revoke(self, _consumer, partitions: list[TopicPartition]) -> None:
        """A clean hand-over: upload and commit what is open, so the next owner starts where this one ended."""
        for tp in partitions:
            writer = self.writers.pop((tp.topic, tp.partition), None)
            closed = writer.close_now("revoke") if writer is not None else None
            if closed is not None:
                self._commit_round(writer, closed)
        self._flush_watermarks(force=True)
        log.info("task %d revoked %s", self.task_id, sorted(f"{t.topic}[{t.partition}]" for t in partitions))

    def _on_lost(self, _consumer, partitions: list[TopicPartition]) -> None:
        """Lost (not handed over): the group moved on, commits would fail; the new owner reads them again."""
        for tp in partitions:
            writer = self.writers.pop((tp.topic, tp.partition), None)
            self.pending_watermarks.pop((tp.topic, tp.partition), None)  # the new owner writes newer ones
            if writer is not None and writer.has_open_files:
                log.warning("task %d: %s[%d] lost; %d unuploaded records will be read again by its next owner",
                            self.task_id, tp.topic, tp.partition, writer.state.count)

    # -- the loop --------------------------------------------------------------------------------------
    def run(self) -> None:
        topics = list(self.config.topics) or [f"^{self.config.topics_regex}"]
        self.consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_lost)
        try:
            while not self.stop.is_set():
                messages = self.consumer.consume(num_messages=self.batch_size, timeout=0.2)
                if messages:
                    self.stats.last_message = time.monotonic()
                    self._handle(messages)
                self._rotate_scheduled()
                self._flush_watermarks()
                self.stats.lag, self.stats.fetch_lag = self._lags()
            self._close_all("shutdown")
            self._flush_watermarks(force=True)
        finally:
            self.consumer.close()
            if self.dlq is not None:
                self.dlq.flush()

    def _handle(self, messages: list) -> None:
        by_partition: dict[tuple[str, int], list] = defaultdict(list)
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:  # as Kafka Connect: wait for the topic
                    if not self._waiting_for_topic:
                        log.warning("task %d: %s; waiting for it to be created", self.task_id, error.str())
                    self._waiting_for_topic = True
                    continue
                raise KafkaException(error)
            by_partition[(message.topic(), message.partition())].append(message)
        if by_partition and self._waiting_for_topic:
            log.info("task %d: records arrive: the topic is there", self.task_id)
            self._waiting_for_topic = False
        for key, batch in by_partition.items():
            writer = self.writers.get(key)
            if writer is not None:  # else revoked while these were in flight: the next owner reads them
                self._process(writer, self.converter.convert(key[0], key[1], batch))

    def _process(self, writer: PartitionWriter, batch: PartitionBatch) -> None:
        self.stats.ignored += batch.ignored
        stop_at = None
        if batch.bad and self.config.errors_tolerance == "none":
            first = batch.bad[0].message
            stop_at = first.offset()
            keep = batch.offsets < stop_at
            batch.rows, batch.offsets = batch.rows.filter(keep), batch.offsets[keep]
            batch.times_ms, batch.codes, batch.end_offset = batch.times_ms[keep], batch.codes[keep], stop_at
        else:
            for bad in batch.bad:
                if self.dlq is not None:
                    self.dlq.send(bad.message, bad.reason, bad.exception_class, bad.stage)
                    self.stats.dead_lettered += 1
                else:
                    self.stats.dropped += 1
                    log.warning("dropped %s[%d]@%d: %s", batch.topic, batch.partition, bad.message.offset(),
                                bad.reason)
        self.stats.good += batch.rows.num_rows
        for closed in writer.add(batch.rows, batch.offsets, batch.times_ms, batch.codes, batch.encodings,
                                 batch.end_offset, self.clock_ms()):
            self._commit_round(writer, closed)
        if not writer.has_open_files and writer.next_offset != writer.committed:
            self._commit(writer, writer.next_offset, None)  # only dead letters or ignored records since
        if stop_at is not None:
            bad = batch.bad[0]
            raise SinkStopped(batch.topic, batch.partition, stop_at, bad.reason)

    def _rotate_scheduled(self) -> None:
        now = self.clock_ms()
        for writer in list(self.writers.values()):
            if writer.scheduled_due(now):
                self._commit_round(writer, writer.close_now("schedule"))

    def _close_all(self, reason: str) -> None:
        for writer in list(self.writers.values()):
            closed = writer.close_now(reason)
            if closed is not None:
                self._commit_round(writer, closed)

    # -- upload, then commit ---------------------------------------------------------------------------
    def _commit_round(self, writer: PartitionWriter, closed: ClosedRound) -> None:
        cfg = self.config
        for f in closed.files:
            key = object_key(cfg.topics_dir, writer.topic, f.encoded, writer.partition, f.start_offset, cfg.extension)
            body = file_bytes(f.table, cfg.format, cfg.parquet_codec, self.converter.schema)
            self.storage.put(key, body)
            self.stats.files += 1
            self.stats.written += f.table.num_rows
            self.stats.bytes += len(body)
        self._commit(writer, closed.commit_offset, closed.max_record_ms)

    def _commit(self, writer: PartitionWriter, offset: int, max_record_ms: int | None) -> None:
        if self.dlq is not None:
            self.dlq.flush()
        tp = TopicPartition(writer.topic, writer.partition, offset)
        self.consumer.commit(offsets=[tp], asynchronous=False)
        writer.committed = offset
        self.stats.commits += 1
        self._write_watermark(writer, offset, max_record_ms)

    def _write_watermark(self, writer: PartitionWriter, offset: int, max_record_ms: int | None) -> None:
        """Advance the partition's watermark; it reaches S3 at most once per interval (see _flush_watermarks)."""
        key = (writer.topic, writer.partition)
        if key not in self.watermarks:
            previous = self.storage.get_json(watermark_key(self.config.name, *key))
            self.watermarks[key] = (previous or {}).get("complete_until_ms")
        low, high = self.consumer.get_watermark_offsets(TopicPartition(*key), cached=True)
        end = high if high >= 0 else None
        now = self.clock_ms()
        complete = next_watermark(self.watermarks[key], max_record_ms, end is not None and offset >= end, now,
                                  self.config.watermark_lateness_ms)
        self.watermarks[key] = complete
        self.pending_watermarks[key] = watermark_document(self.config.name, *key, offset, end, max_record_ms,
                                                          complete, now)
        self._flush_watermarks(only=key)

    def _flush_watermarks(self, force: bool = False, only: tuple[str, int] | None = None) -> None:
        now = self.clock_ms()
        for key in [only] if only is not None else list(self.pending_watermarks):
            if key in self.pending_watermarks and (
                force or now - self.watermark_written.get(key, 0) >= self.config.watermark_interval_ms
            ):
                self.storage.put_json(watermark_key(self.config.name, *key), self.pending_watermarks.pop(key))
                self.watermark_written[key] = now

    def _lags(self) -> tuple[int, int]:
        """(records not yet committed, records not yet consumed) over the assigned partitions, from the last
        fetch's high watermarks; a partition whose high watermark is unknown yet counts one unconsumed record.

        Asked from the task's own thread: the consumer is not shared with other threads."""
        committed_lag = fetch_lag = 0
        for (topic, partition), writer in list(self.writers.items()):
            low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if high < 0:
                fetch_lag += 1
                continue
            position = self.consumer.position([TopicPartition(topic, partition)])[0].offset
            if position < 0:  # nothing fetched since the assignment: the task resumes at the committed offset
                position = writer.committed if writer.committed is not None else max(low, 0)
            fetch_lag += max(high - position, 0)
            if writer.committed is not None:
                committed_lag += max(high - writer.committed, 0)
        return committed_lag, fetch_lag
