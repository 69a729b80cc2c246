"""One sink task: a consumer in the connector's group, writing its partitions' records to S3.

The order that makes it exactly-once, for the rounds of files closed by a batch of records (see commit.py): check
the task still owns the partitions, upload the files, upload each partition's manifest to the commit ledger, then
commit the offsets — in one Kafka transaction with the dead letters when there is a DLQ — then write the
watermarks. A round's files upload in a thread of its own while the task consumes and decodes the next batch (the
rest of the commit, every Kafka call in it, stays in the task's thread); rounds commit one at a time, in order.
A crash anywhere in between replays from the last commit and rewrites the same keys; an aborted transaction's dead
letters are never seen by `read_committed` readers. A commit that fails (the broker away, the group moved on) is
not the task's end: it drops what it holds, rewinds to the committed offsets and goes on. Revoked partitions hand
over cleanly (upload and commit); lost ones drop their open files, and the new owner reads them again from the
committed offset.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from ingest.clients import kafka_config
from ingest.config import SinkConfig
from ingest.errors import CommitFailed, SinkStopped
from ingest.schema import EventSchema
from ingest.sink.commit import Pending, Round, RoundCommitter, pend
from ingest.sink.consumer_settings import consumer_settings
from ingest.sink.dlq import DeadLetter, DeadLetterQueue
from ingest.sink.partition_writer import ClosedRound, PartitionWriter
from ingest.sink.reader_schema import event_schema
from ingest.sink.records import PartitionBatch, RecordConverter
from ingest.sink.stats import TaskStats, lags
from ingest.sink.storage import Storage
from ingest.sink.watermark import Watermarks

log = logging.getLogger("sluice.sink")
MAX_FAILED_COMMITS = 8  # in a row, each after a rewind: then the task stops with the error
S3_TIMEOUT_S = 20.0  # per connect and read: a frozen S3 shows as a timeout, then Storage retries with backoff


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class SinkTask:
    def __init__(self, config: SinkConfig, task_id: int, stop: threading.Event, instance_id: str | None = None,
                 clock_ms=wall_ms, batch_size: int = 10_000, on_topics: Callable[[set[str]], None] = lambda _: None,
                 on_schema: Callable[[EventSchema], None] = lambda _: None):
        self.config, self.task_id, self.stop, self.clock_ms = config, task_id, stop, clock_ms
        self.on_topics = on_topics  # called with the topics of each assignment (the runner records their schema)
        self.on_schema = on_schema  # called when another registered schema becomes the rows' (recorded again)
        self.batch_size = min(batch_size, max(config.flush_size, 500))
        self.stats = TaskStats()
        self._waiting_for_topic = False  # logged once: a topic subscribed to does not exist (yet)
        self.converter = RecordConverter(config, event_schema(config), clock_ms, stop)
        self.storage = Storage(config.connections, config.bucket, config.s3_retry_backoff_ms,
                               config.s3_retry_timeout_ms, timeout=S3_TIMEOUT_S)
        # Unique per process unless the instance id makes it stable: a restart then fences its predecessor at once.
        self.transactional_id = f"{config.name}-{instance_id or uuid.uuid4().hex[:12]}-{task_id}"
        self.dlq = None
        if config.errors_tolerance == "all" and config.dlq_topic:
            self.dlq = DeadLetterQueue(config.connections, config.dlq_topic, config.dlq_context_headers,
                                       config.name, task_id, self.transactional_id)
        self.writers: dict[tuple[str, int], PartitionWriter] = {}
        self.dead_letters: dict[tuple[str, int], list[DeadLetter]] = defaultdict(list)  # not yet committed
        self.rewind_needed = False
        self.failed_commits = 0  # in a row: reset by every commit that succeeds
        self.failed = False  # an error ends the task: nothing it holds may be committed on the way out
        self._consumer_errors: dict[int, float] = {}  # error code -> monotonic time last logged
        self.watermarks = Watermarks(self.storage, config.name, config.watermark_lateness_ms,
                                     config.watermark_interval_ms, clock_ms)
        self.consumer = Consumer(kafka_config(config.connections, **consumer_settings(config, task_id, instance_id)))
        self.committer = RoundCommitter(config, self.converter.schema, self.consumer, self.storage, self.dlq,
                                        self.watermarks, self.stats, task_id, self.transactional_id, clock_ms)

    # -- group membership ------------------------------------------------------------------------------
    def _on_assign(self, consumer, partitions: list[TopicPartition]) -> None:
        self._settle_or_drop()  # (an eager rebalance revoked first: nothing is in flight any more)
        # The group's committed offsets: where this task resumes, and what counts as unconsumed before a fetch.
        committed = consumer.committed(partitions, timeout=30) if partitions else []
        self.on_topics({tp.topic for tp in partitions})  # before their first commit; raising ends the task
        for tp in committed:
            self._new_writer(tp)
        self.stats.assigned_at = time.monotonic()
        log.info("task %d assigned %s; holds %s", self.task_id, sorted(f"{t.topic}[{t.partition}]" for t in partitions),
                 self._held())

    def _new_writer(self, tp: TopicPartition) -> PartitionWriter:
        writer = PartitionWriter(tp.topic, tp.partition, self.config.flush_size, self.config.rotate_interval_ms,
                                 self.config.rotate_schedule_interval_ms, self.config.rotation == "confluent")
        writer.committed = tp.offset if tp.offset >= 0 else None
        self.writers[(tp.topic, tp.partition)] = writer
        self.dead_letters.pop((tp.topic, tp.partition), None)
        return writer

    def _on_revoke(self, _consumer, partitions: list[TopicPartition]) -> None:
        """A clean hand-over: upload and commit what is open, so the next owner starts where this one ended
        (unless the task is failing: then nothing it holds is committed)."""
        self._settle_or_drop()
        pending: Pending = {}
        for tp in partitions:
            writer = self.writers.pop((tp.topic, tp.partition), None)
            closed = writer.close_now("revoke") if writer is not None and not self.failed else None
            if closed is not None:
                pending[(tp.topic, tp.partition)] = (writer, closed)
        try:
            self._commit(pending)
            self._settle()
        except CommitFailed as exc:  # the next owner reads the rounds again from the committed offsets
            log.warning("task %d: hand-over of %s not committed: %s", self.task_id,
                        sorted(f"{t}[{p}]" for t, p in pending), exc)
        for tp in partitions:
            self.dead_letters.pop((tp.topic, tp.partition), None)
        if not self.failed:
            self.watermarks.flush(force=True)
        log.info("task %d revoked %s; holds %s", self.task_id, sorted(f"{t.topic}[{t.partition}]" for t in partitions),
                 self._held())

    def _held(self) -> list[str]:
        """The partitions the task holds now (an incremental rebalance, as KIP-848's, adds and takes a few)."""
        return sorted(f"{t}[{p}]" for t, p in self.writers)

    def _on_lost(self, _consumer, partitions: list[TopicPartition]) -> None:
        """Lost (not handed over): the group moved on, commits would fail; the new owner reads them again."""
        self._settle_or_drop()
        for tp in partitions:
            writer = self.writers.pop((tp.topic, tp.partition), None)
            self.watermarks.forget((tp.topic, tp.partition))
            self.dead_letters.pop((tp.topic, tp.partition), None)
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
                if self.rewind_needed:
                    self._rewind()
                messages = self.consumer.consume(num_messages=self.batch_size, timeout=0.2)
                if self.rewind_needed:
                    continue  # fetched before the rewind: read again from the committed offsets
                if messages:
                    self.stats.last_message = time.monotonic()
                self._guarded(self._handle, messages)
                self._guarded(self._rotate_scheduled)
                if self.committer.settle_due():
                    self._guarded(self._settle)
                self.watermarks.flush()
                self.stats.lag, self.stats.fetch_lag = lags(self.consumer, self.writers)
            self._guarded(self._close_all, "shutdown")
            self._guarded(self._settle)
            self.watermarks.flush(force=True)
        except BaseException:
            self.failed = True
            raise
        finally:
            self.committer.drain()  # a commit sent before a failure completes: its rounds are whole
            self.consumer.close()
            self.committer.close()
            if self.dlq is not None:
                self.dlq.close()

    def _guarded(self, step, *args) -> None:
        """Run a step that may commit; a failed commit drops what the task holds and rewinds (with a growing
        pause). A commit failing again and again after successful rewinds is not passing trouble: it ends the task."""
        try:
            step(*args)
        except CommitFailed as exc:
            self.failed_commits += 1
            if self.failed_commits >= MAX_FAILED_COMMITS:
                raise
            self._drop(exc)
            time.sleep(min(0.5 * 2 ** (self.failed_commits - 1), 10))

    def _drop(self, exc: CommitFailed) -> None:
        """After a failed commit: what the task holds is dropped, and it reads again from the committed offsets."""
        log.warning("task %d: %s; resuming from the committed offsets", self.task_id, exc)
        self.stats.rewinds += 1
        self.writers.clear()
        self.dead_letters.clear()
        self.rewind_needed = True

    def _rewind(self) -> None:
        """Start over from the group's committed offsets with empty writers (the broker may still be away:
        then try again on the next pass)."""
        try:
            assignment = self.consumer.assignment()
            committed = self.consumer.committed(assignment, timeout=10) if assignment else []
            for tp in committed:
                self._new_writer(tp)
                self.consumer.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0
                                                  else OFFSET_BEGINNING))
        except KafkaException as exc:
            if exc.args[0].fatal():
                raise
            self.writers.clear()
            self._log_consumer_error(exc.args[0])
            time.sleep(1)
            return
        self.rewind_needed = False
        log.info("task %d: rewound to the committed offsets %s", self.task_id,
                 sorted(f"{tp.topic}[{tp.partition}]@{tp.offset}" for tp in committed))

    def _log_consumer_error(self, error: KafkaError) -> None:
        """Broker-side trouble is logged (once per code and 30 s), never the task's end."""
        now = time.monotonic()
        if now - self._consumer_errors.get(error.code(), -1e9) >= 30:
            self._consumer_errors[error.code()] = now
            log.warning("task %d: %s (the client retries)", self.task_id, error.str())

    def _handle(self, messages: list) -> None:
        records = []
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
                if error.fatal():
                    raise KafkaException(error)
                self._log_consumer_error(error)
                continue
            records.append(message)
        if records and self._waiting_for_topic:
            log.info("task %d: records arrive: the topic is there", self.task_id)
            self._waiting_for_topic = False
        pending: Pending = {}
        stopped = None
        for run in self.converter.runs(records):
            by_partition: dict[tuple[str, int], list] = defaultdict(list)
            for message in run:  # a partition without a writer was revoked while its records were in flight
                if (message.topic(), message.partition()) in self.writers:
                    by_partition[(message.topic(), message.partition())].append(message)
            batches = self.converter.convert_many(by_partition) if by_partition else {}
            if self.converter.schema_changed:  # another registered schema: its rows never join a file of the last
                self._close_for_schema(pending)
            for key, batch in batches.items():
                stopped = self._process(self.writers[key], batch, pending)
                if stopped is not None:
                    break
            if stopped is not None:
                break
        self._commit(pending)
        if stopped is not None:  # the good records before the bad one are committed; nothing at or after it
            self._settle()
            raise stopped

    def _close_for_schema(self, pending: Pending) -> None:
        self.converter.schema_changed = False
        self.committer.schema = self.converter.schema
        self.on_schema(self.converter.schema)  # before anything of it is committed; raising ends the task
        for writer in self.writers.values():
            closed = writer.close_now("schema")
            if closed is not None:
                pend(pending, writer, closed)

    def _process(self, writer: PartitionWriter, batch: PartitionBatch, pending: Pending) -> SinkStopped | None:
        """Add a partition's batch to its writer; the rounds that close join `pending`. With errors.tolerance=none
        a bad record closes the round before it and is returned as the reason to stop."""
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
                if self.dlq is not None:  # sent with the commit that passes it
                    self.dead_letters[(batch.topic, batch.partition)].append(
                        self.dlq.letter(bad.message, bad.reason, bad.exception_class, bad.stage))
                    self.stats.dead_lettered += 1
                else:
                    self.stats.dropped += 1
                    log.warning("dropped %s[%d]@%d: %s", batch.topic, batch.partition, bad.message.offset(),
                                bad.reason)
        self.stats.good += batch.rows.num_rows
        key = (writer.topic, writer.partition)
        for closed in writer.add(batch.rows, batch.offsets, batch.times_ms, batch.codes, batch.encodings,
                                 batch.end_offset, self.clock_ms()):
            pend(pending, writer, closed)
        to_commit = pending[key][1].commit_offset if key in pending else writer.committed
        if not writer.has_open_files and writer.next_offset != to_commit:  # dead letters only
            pend(pending, writer, ClosedRound([], writer.next_offset, None, "no rows"))
        if stop_at is None:
            return None
        closed = writer.close_now("stop")
        if closed is not None:
            pend(pending, writer, closed)
        return SinkStopped(batch.topic, batch.partition, stop_at, batch.bad[0].reason)

    def _rotate_scheduled(self) -> None:
        now = self.clock_ms()
        closing = {key: (writer, writer.close_now("schedule")) for key, writer in list(self.writers.items())
                   if writer.scheduled_due(now)}
        self._commit({key: pair for key, pair in closing.items() if pair[1] is not None})

    def _close_all(self, reason: str) -> None:
        closing = {key: (writer, writer.close_now(reason)) for key, writer in list(self.writers.items())}
        self._commit({key: pair for key, pair in closing.items() if pair[1] is not None})

    # -- upload, then commit ---------------------------------------------------------------------------
    def _commit(self, pending: Pending) -> None:
        """Commit every partition's pending round at once, each with the dead letters below its offset, once the
        commit before it is settled: the files upload while the task goes on; `_settle` finishes the commit."""
        if not pending:
            return
        self._settle()
        rounds = [
            Round(writer, closed, [d for d in self.dead_letters.get(key, []) if d.offset < closed.commit_offset])
            for key, (writer, closed) in pending.items()]
        for key, (_, closed) in pending.items():
            self.dead_letters[key] = [d for d in self.dead_letters.get(key, []) if d.offset >= closed.commit_offset]
        self.committer.send(rounds)

    def _settle(self) -> None:
        if self.committer.settle():
            self.failed_commits = 0

    def _settle_or_drop(self) -> None:
        """In a rebalance callback: settle the commit in flight; if it failed, drop everything and rewind."""
        try:
            self._settle()
        except CommitFailed as exc:
            self._drop(exc)
