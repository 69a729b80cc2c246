"""The S3 sink task (Connect's S3SinkTask): `open` partitions, `put` records, `pre_commit` the rounds of files
they closed, `close` partitions on a revoke. The worker (worker.py) polls the consumer and calls these.

The order that makes it exactly-once, for the rounds of files closed by a batch of records (see commit.py): check
the task still owns the partitions, upload the files, upload each partition's manifest to the commit ledger, then
commit the offsets — in one Kafka transaction with the dead letters when there is a DLQ — then write the
watermarks. A round's files upload in a thread of its own while the task consumes and decodes the next batch (the
rest of the commit, every Kafka call in it, stays in the task's thread); rounds commit one at a time, in order.
A crash anywhere in between replays from the last commit and writes the same keys again (what the crash left there
is replaced once the task proved it owns the partition: fencing.py); an aborted transaction's dead letters are never
seen by `read_committed` readers. A commit that fails raises CommitFailed: the worker has the
task `discard` what it holds and rewinds to the committed offsets. Revoked partitions hand over cleanly (upload
and commit); lost ones drop their open files, and the new owner reads them again from the committed offset.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable

from confluent_kafka import TopicPartition

from ingest.config import SinkConfig
from ingest.errors import CommitFailed, SinkStopped
from ingest.schema import EventSchema
from ingest.sink.clients import SinkClients
from ingest.sink.commit import Pending, Round, RoundCommitter, pend
from ingest.sink.dlq import DeadLetter
from ingest.sink.partition_writer import ClosedRound, PartitionWriter
from ingest.sink.records import PartitionBatch, RecordConverter
from ingest.sink.stats import TaskStats
from ingest.sink.watermark import Watermarks

log = logging.getLogger("sluice.sink")


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def shown(partitions) -> list[str]:
    return sorted(f"{t}[{p}]" for t, p in partitions)


class SinkTask:
    def __init__(self, config: SinkConfig, task_id: int, clients: SinkClients, converter: RecordConverter,
                 clock_ms: Callable[[], int] = wall_ms, on_schema: Callable[[EventSchema], None] = lambda _: None):
        self.config, self.task_id, self.clock_ms = config, task_id, clock_ms
        self.on_schema = on_schema  # called when another registered schema becomes the rows' (recorded again)
        self.converter = converter
        self.consumer, self.storage, self.dlq = clients.consumer, clients.storage, clients.dlq
        self.stats = TaskStats()
        self.writers: dict[tuple[str, int], PartitionWriter] = {}
        self.dead_letters: dict[tuple[str, int], list[DeadLetter]] = defaultdict(list)  # not yet committed
        self.commits_settled = 0  # commits that went through: the worker's count of failures in a row restarts
        self.watermarks = Watermarks(self.storage, config.name, config.watermark_lateness_ms,
                                     config.watermark_interval_ms, clock_ms)
        self.committer = RoundCommitter(config, converter.schema, self.consumer, self.storage, self.dlq,
                                        self.watermarks, self.stats, task_id, clients.transactional_id, clock_ms,
                                        self.owns)

    # -- partitions ------------------------------------------------------------------------------------
    def open(self, partitions: list[TopicPartition]) -> None:
        """Writers for `partitions`, each at its committed offset (negative: none yet); what the task held of
        them before is gone."""
        for tp in partitions:
            writer = PartitionWriter(tp.topic, tp.partition, self.config.flush_size, self.config.rotate_interval_ms,
                                     self.config.rotate_schedule_interval_ms, self.config.rotation == "confluent")
            writer.committed = tp.offset if tp.offset >= 0 else None
            self.writers[(tp.topic, tp.partition)] = writer
            self.dead_letters.pop((tp.topic, tp.partition), None)

    def close(self, partitions: list[TopicPartition], hand_over: bool = True) -> None:
        """Revoked: a clean hand-over uploads and commits what is open, so the next owner starts where this one
        ended. A failing task hands nothing over (`hand_over=False`): nothing it holds may be committed. The
        writers go once their rounds are committed (a round whose writer is gone is a lost partition's)."""
        pending: Pending = {}
        for tp in partitions:
            writer = self.writers.get((tp.topic, tp.partition))
            closed = writer.close_now("revoke") if writer is not None and hand_over else None
            if closed is not None:
                pending[(tp.topic, tp.partition)] = (writer, closed)
        try:
            self._commit(pending)
            self.pre_commit()
        except CommitFailed as exc:  # the next owner reads the rounds again from the committed offsets
            log.warning("task %d: hand-over of %s not committed: %s", self.task_id, shown(pending), exc)
        for tp in partitions:
            self.writers.pop((tp.topic, tp.partition), None)
            self.dead_letters.pop((tp.topic, tp.partition), None)
        if hand_over:
            self.watermarks.flush(force=True)

    def lose(self, partitions: list[TopicPartition]) -> None:
        """Lost (not handed over): the group moved on, commits would fail; the new owner reads them again. A round
        of theirs in flight is never finished: its writer is gone (`owns`)."""
        for tp in partitions:
            writer = self.writers.pop((tp.topic, tp.partition), None)
            self.watermarks.forget((tp.topic, tp.partition))
            self.dead_letters.pop((tp.topic, tp.partition), None)
            if writer is not None and writer.has_open_files:
                log.warning("task %d: %s[%d] lost; %d unuploaded records will be read again by its next owner",
                            self.task_id, tp.topic, tp.partition, writer.state.count)

    def discard(self) -> None:
        """After a failed commit: drop every writer and dead letter; the worker rewinds, then `open`s again."""
        self.writers.clear()
        self.dead_letters.clear()

    def owns(self, writer: PartitionWriter) -> bool:
        """Whether `writer` is still the task's for its partition (not lost, revoked or dropped since)."""
        return self.writers.get((writer.topic, writer.partition)) is writer

    def held(self) -> list[str]:
        """The partitions the task holds now (an incremental rebalance, as KIP-848's, adds and takes a few)."""
        return shown(self.writers)

    def committed_offsets(self) -> dict[tuple[str, int], int | None]:
        """Each held partition's committed offset (None: none yet), for the lags."""
        return {key: writer.committed for key, writer in self.writers.items()}

    # -- records ---------------------------------------------------------------------------------------
    def put(self, records: list) -> None:
        """Convert a poll's records (in poll order) and add them to their partitions' writers; the rounds of files
        that close are committed (see `pre_commit`). With errors.tolerance=none a bad record raises SinkStopped,
        once the good records before it are committed and nothing at or after it."""
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
        if stopped is not None:
            self.pre_commit()
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

    def rotate_scheduled(self) -> None:
        """rotate.schedule.interval.ms: close and commit the open files whose wall-clock boundary has passed."""
        now = self.clock_ms()
        closing = {key: (writer, writer.close_now("schedule")) for key, writer in list(self.writers.items())
                   if writer.scheduled_due(now)}
        self._commit({key: pair for key, pair in closing.items() if pair[1] is not None})

    def close_files(self, reason: str) -> None:
        """Close every open file and commit it (on shutdown)."""
        closing = {key: (writer, writer.close_now(reason)) for key, writer in list(self.writers.items())}
        self._commit({key: pair for key, pair in closing.items() if pair[1] is not None})

    # -- upload, then commit ---------------------------------------------------------------------------
    def _commit(self, pending: Pending) -> None:
        """Commit every partition's pending round at once, each with the dead letters below its offset, once the
        commit before it is settled: the files upload while the task goes on; `pre_commit` finishes the commit."""
        if not pending:
            return
        self.pre_commit()
        rounds = [
            Round(writer, closed, [d for d in self.dead_letters.get(key, []) if d.offset < closed.commit_offset])
            for key, (writer, closed) in pending.items()]
        for key, (_, closed) in pending.items():
            self.dead_letters[key] = [d for d in self.dead_letters.get(key, []) if d.offset >= closed.commit_offset]
        self.committer.send(rounds)

    def commit_ready(self) -> bool:
        """The commit in flight has its files uploaded: `pre_commit` finishes it without waiting."""
        return self.committer.settle_due()

    def pre_commit(self) -> bool:
        """Finish the commit in flight (Connect's preCommit, except that the task commits its offsets itself: in
        the DLQ's transaction, after the manifests): wait for its files, then the manifests, the offsets and the
        watermarks. False if nothing was in flight; raises CommitFailed if the commit failed."""
        if not self.committer.settle():
            return False
        self.commits_settled += 1
        return True

    def flush_watermarks(self, force: bool = False) -> None:
        self.watermarks.flush(force=force)

    def drain(self) -> None:
        """Let the upload in flight end (its rounds stay whole); before the consumer closes."""
        self.committer.drain()

    def stop(self) -> None:
        """After the consumer closed: the upload threads and the DLQ producer."""
        self.committer.close()
        if self.dlq is not None:
            self.dlq.close()
