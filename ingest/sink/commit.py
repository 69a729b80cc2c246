"""The commit protocol, for every partition with rounds closed since the last commit, all at once: prove
ownership, upload the files (in parallel), prove ownership again, upload the ledger's hour index entries (one per
UTC event hour a round's files span) and one manifest per partition, then commit
every partition's offset in one request — in one Kafka transaction with the dead letters when there is a DLQ —
and advance the watermarks. Files and manifests are created only where their key is free; a taken key is
replaced only once ownership is proven again (fencing.py): a member thawed between a check and its PUTs must not
overwrite the new owner's objects.

A partition's rounds closed in a row merge into one committed round (one manifest), so the cost of a commit is
paid per batch of records, not per file. One commit is in flight at a time: `send` proves ownership and uploads
the files in a thread while the task takes its next batch; `settle`, in the task's thread, does the rest (a Kafka
call from another thread blocks while the task is in a rebalance callback, which may be waiting for the upload).
Any failure to commit is a CommitFailed: the task drops what it holds and rewinds to the committed offsets.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from confluent_kafka import KafkaException, TopicPartition

from ingest.config import SinkConfig
from ingest.errors import CommitFailed
from ingest.ledger.manifest import FileEntry, Manifest, Writer, time_field
from ingest.sink.dlq import DeadLetter
from ingest.sink.fencing import Taken, leftover, put_file, replace_file, replace_manifest
from ingest.sink.partition_writer import ClosedRound, PartitionWriter
from ingest.sink.writer import file_bytes, object_key

UPLOADERS = 8  # PUTs in flight at once: S3 latency, not bandwidth, bounds many small files


def merged(earlier: ClosedRound | None, later: ClosedRound) -> ClosedRound:
    """Two rounds of one partition in a row as one: every file, the later commit offset."""
    if earlier is None:
        return later
    times = [t for t in (earlier.max_record_ms, later.max_record_ms) if t is not None]
    return ClosedRound(earlier.files + later.files, later.commit_offset, max(times) if times else None,
                       later.reason)


Pending = dict[tuple[str, int], tuple[PartitionWriter, ClosedRound]]  # per partition: its rounds not yet committed


def pend(pending: Pending, writer: PartitionWriter, closed: ClosedRound) -> None:
    """Add a closed round to what the next commit carries: rounds of one partition in a row merge into one."""
    key = (writer.topic, writer.partition)
    pending[key] = (writer, merged(pending[key][1] if key in pending else None, closed))


@dataclass
class Round:
    """What one commit carries for one partition: its closed files up to commit_offset and its dead letters."""

    writer: PartitionWriter
    closed: ClosedRound
    letters: list[DeadLetter]

    @property
    def start(self) -> int:
        """Where the round starts: the committed offset, or for a partition's first round its first record."""
        if self.writer.committed is not None:
            return self.writer.committed
        firsts = [f.start_offset for f in self.closed.files] + [d.offset for d in self.letters]
        return min(firsts, default=self.closed.commit_offset)


@dataclass
class Uploaded:
    """What `upload_files` did: each round's ledger entries (by id), and the files whose key was taken, with their
    bytes, for `finish` to replace once ownership is proven."""

    entries: dict[int, list[FileEntry]]
    taken: list[tuple[Taken, bytes]] = field(default_factory=list)


class RoundCommitter:
    """Commits a task's rounds with the task's clients (consumer, storage, DLQ), watermarks and counters."""

    def __init__(self, config: SinkConfig, schema, consumer, storage, dlq, watermarks, stats, task_id: int,
                 transactional_id: str, clock_ms, owns: Callable[[PartitionWriter], bool]):
        self.config, self.schema, self.consumer, self.storage, self.dlq = config, schema, consumer, storage, dlq
        self.owns = owns  # whether a writer is still the task's: a lost partition's round is never finished
        self.watermarks, self.stats, self.task_id = watermarks, stats, task_id
        self.transactional_id, self.clock_ms = transactional_id, clock_ms
        self.time_field = time_field(config, schema)
        self.pool = ThreadPoolExecutor(UPLOADERS, thread_name_prefix=f"sink-{task_id}-put")
        self.sender = ThreadPoolExecutor(1, thread_name_prefix=f"sink-{task_id}-commit")
        self.in_flight: tuple[Future, list[Round]] | None = None  # rounds whose files are uploading

    def send(self, rounds: list[Round]) -> None:
        """Start a commit once the one before it is settled: prove ownership, then upload the files in a thread
        while the task goes on; `settle` finishes it."""
        self.settle()
        self.check_owner(rounds)
        self.in_flight = (self.sender.submit(self.upload_files, rounds), rounds)

    def settle(self) -> bool:
        """Wait for the files in flight, then finish their commit and apply it; False if nothing was in flight.
        Raises what the commit failed with (CommitFailed: the task drops what it holds and rewinds)."""
        if self.in_flight is None:
            return False
        uploading, rounds = self.in_flight
        self.in_flight = None
        self.finish(rounds, uploading.result())
        self.applied(rounds)
        return True

    def settle_due(self) -> bool:
        return self.in_flight is not None and self.in_flight[0].done()

    def upload_files(self, rounds: list[Round]) -> Uploaded:
        """The rounds' files, uploaded in parallel once `check_owner` passed: the heavy part of a commit, which
        the task runs beside its next batch. No Kafka call here: one from another thread blocks while the task
        is in a rebalance callback, which may be waiting for this. A file whose key is taken is left to `finish`."""
        uploads = [(r, f) for r in rounds for f in r.closed.files]
        uploaded = Uploaded({id(r): [] for r in rounds})
        for (r, _), (entry, taken) in zip(uploads, self.pool.map(self._upload, uploads), strict=True):
            uploaded.entries[id(r)].append(entry)
            if taken is not None:
                uploaded.taken.append(taken)
            self.stats.files += 1
            self.stats.written += entry.rows
            self.stats.bytes += entry.size
        return uploaded

    def finish(self, rounds: list[Round], uploaded: Uploaded) -> None:
        """After the files, in the task's thread: refuse the rounds of partitions lost meanwhile, prove ownership
        again, replace the files whose key was taken, upload the hour index entries and the manifests, then commit
        the offsets with the dead letters."""
        lost = [r.writer for r in rounds if not self.owns(r.writer)]
        if lost:
            raise CommitFailed(", ".join(f"{w.topic}[{w.partition}]" for w in lost), "lost before its round's manifest")
        self.check_owner(rounds)
        list(self.pool.map(lambda item: replace_file(self.storage, *item), uploaded.taken))
        manifests = [self._manifest(r, uploaded.entries[id(r)]) for r in rounds]
        index = [entry for m in manifests for entry in m.hour_index()]
        # the hour index before the manifests: no committed round is missing from it (readers skip an entry whose
        # manifest a crash left unwritten)
        list(self.pool.map(lambda entry: self.storage.put_json(entry.key, entry.to_json()), index))
        created = list(self.pool.map(lambda m: self.storage.put_json_new(m.key, m.to_json()), manifests))
        self._replace_leftovers([m for m, new in zip(manifests, created, strict=True) if not new], rounds)
        offsets = [TopicPartition(r.writer.topic, r.writer.partition, r.closed.commit_offset) for r in rounds]
        if self.dlq is not None:
            self.dlq.commit([d for r in rounds for d in r.letters], offsets, self.consumer.consumer_group_metadata())
        else:
            self.consumer_commit(offsets)

    def applied(self, rounds: list[Round]) -> None:
        """After `finish`: the writers' committed offsets, counters and watermarks."""
        for r in rounds:
            tp = TopicPartition(r.writer.topic, r.writer.partition, r.closed.commit_offset)
            r.writer.committed = tp.offset
            self.stats.commits += 1
            high = self.consumer.get_watermark_offsets(tp, cached=True)[1]
            self.watermarks.advance((tp.topic, tp.partition), tp.offset, high if high >= 0 else None,
                                    r.closed.max_record_ms)

    def _upload(self, item) -> tuple[FileEntry, tuple[Taken, bytes] | None]:
        r, f = item
        cfg, writer = self.config, r.writer
        name = object_key(cfg.topics_dir, writer.topic, f.encoded, writer.partition, f.start_offset, cfg.extension)
        body = file_bytes(f.table, cfg.format, cfg.parquet_codec, self.schema)
        taken = put_file(self.storage, name, body)
        entry = FileEntry.of_table(name, f.encoded, writer.partition, f.table, len(body), self.time_field)
        return entry, None if taken is None else (taken, body)

    def _replace_leftovers(self, refused: list[Manifest], rounds: list[Round]) -> None:
        """Manifests whose key was taken: a retried PUT of ours stays, a committed round of the group is not ours
        to overwrite (CommitFailed), an uncommitted leftover is replaced once ownership is proven again (the
        leftover may be the round in flight of a new owner)."""
        leftovers = []
        for m in refused:
            taken = leftover(self.storage, m, lambda m=m: self.group_offset(m.topic, m.partition))
            if taken is not None:
                leftovers.append((m, taken))
        if leftovers:
            self.check_owner(rounds)
        for m, taken in leftovers:
            replace_manifest(self.storage, taken, m)

    def _manifest(self, r: Round, files: list[FileEntry]) -> Manifest:
        cfg, writer = self.config, r.writer
        return Manifest.of_round(
            cfg.name, writer.topic, writer.partition, r.start, r.closed.commit_offset, files,
            cfg.dlq_topic if self.dlq is not None else None, [d.offset for d in r.letters],
            Writer(self.task_id, self.transactional_id if self.dlq is not None else None), self.clock_ms())

    def consumer_commit(self, offsets: list[TopicPartition]) -> None:
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].fatal():
                raise
            shown = ", ".join(f"{tp.topic}[{tp.partition}]@{tp.offset}" for tp in offsets)
            raise CommitFailed(f"offsets {shown}", exc.args[0].str()) from None

    def group_offset(self, topic: str, partition: int) -> int | None:
        """The group's committed offset of a partition (None: none yet), asked in the task's thread."""
        try:
            [tp] = self.consumer.committed([TopicPartition(topic, partition)], timeout=10)
        except KafkaException as exc:
            if exc.args[0].fatal():
                raise
            raise CommitFailed(f"committed offset of {topic}[{partition}]", exc.args[0].str()) from None
        return tp.offset if tp.offset >= 0 else None

    def check_owner(self, rounds: list[Round]) -> None:
        """Before uploading, prove the task still owns the partitions: a member that was paused (SIGSTOP, GC, a
        slow S3) and lost them must not overwrite the new owner's files. Re-committing where the rounds start
        fails for a member the group has moved on from: the committed offset, or for a partition's first round
        the offset its manifest starts at (where the group would resume anyway)."""
        self.consumer_commit([TopicPartition(r.writer.topic, r.writer.partition, r.start) for r in rounds])

    def drain(self) -> None:
        """Let the upload in flight end (its rounds stay whole); before the consumer closes."""
        self.sender.shutdown(wait=True)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)  # queued uploads of a failed commit never start
