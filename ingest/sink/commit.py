"""The commit protocol of one round: prove ownership, upload the files, upload the manifest, commit the offset
(in a transaction with the round's dead letters when there is a DLQ), advance the watermark.

Any failure to commit is a CommitFailed: the task drops what it holds and rewinds to the committed offsets.
"""

from __future__ import annotations

from confluent_kafka import KafkaException, TopicPartition

from ingest.config import SinkConfig
from ingest.errors import CommitFailed
from ingest.lake.keys import manifest_key
from ingest.sink.dlq import DeadLetter
from ingest.sink.ledger import file_entry, manifest
from ingest.sink.partition_writer import ClosedRound, PartitionWriter
from ingest.sink.writer import file_bytes, object_key


def time_field(config: SinkConfig, schema) -> str | None:
    """The event-time column the ledger reports spans of: the extractor's field, else the schema's first time."""
    if config.timestamp_extractor == "RecordField" and schema.field(config.timestamp_field) is not None:
        return config.timestamp_field
    return next((f.name for f in schema.fields if f.kind == "timestamp"), None)


def first_offset(closed: ClosedRound, letters: list[DeadLetter], commit_offset: int) -> int:
    """Where a partition's first round starts when the group has no committed offset yet: its first record."""
    firsts = [f.start_offset for f in closed.files] + [d.offset for d in letters]
    return min(firsts, default=commit_offset)


class RoundCommitter:
    """Commits a task's rounds with the task's clients (consumer, storage, DLQ), watermarks and counters."""

    def __init__(self, config: SinkConfig, schema, consumer, storage, dlq, watermarks, stats, task_id: int,
                 transactional_id: str, clock_ms):
        self.config, self.schema, self.consumer, self.storage, self.dlq = config, schema, consumer, storage, dlq
        self.watermarks, self.stats, self.task_id = watermarks, stats, task_id
        self.transactional_id, self.clock_ms = transactional_id, clock_ms
        self.time_field = time_field(config, schema)

    def commit(self, writer: PartitionWriter, closed: ClosedRound, letters: list[DeadLetter]) -> None:
        """Upload the round's files and manifest, then commit its offset with its dead letters."""
        cfg, key = self.config, (writer.topic, writer.partition)
        offset = closed.commit_offset
        start = writer.committed if writer.committed is not None else first_offset(closed, letters, offset)
        entries = []
        for f in closed.files:
            name = object_key(cfg.topics_dir, writer.topic, f.encoded, writer.partition, f.start_offset, cfg.extension)
            body = file_bytes(f.table, cfg.format, cfg.parquet_codec, self.schema)
            self.check_owner(writer)
            self.storage.put(name, body)
            entries.append(file_entry(name, f.encoded, writer.partition, f.table, len(body), self.time_field))
            self.stats.files += 1
            self.stats.written += f.table.num_rows
            self.stats.bytes += len(body)
        self.check_owner(writer)
        self.storage.put_json(manifest_key(cfg.name, *key, start), manifest(
            cfg.name, writer.topic, writer.partition, start, offset, entries,
            cfg.dlq_topic if self.dlq is not None else None, [d.offset for d in letters],
            {"task": self.task_id, "transactional_id": self.transactional_id if self.dlq is not None else None},
            self.clock_ms()))
        tp = TopicPartition(writer.topic, writer.partition, offset)
        if self.dlq is not None:
            self.dlq.commit(letters, [tp], self.consumer.consumer_group_metadata())
        else:
            self.consumer_commit(tp)
        writer.committed = offset
        self.stats.commits += 1
        high = self.consumer.get_watermark_offsets(tp, cached=True)[1]
        self.watermarks.advance(key, offset, high if high >= 0 else None, closed.max_record_ms)

    def consumer_commit(self, tp: TopicPartition) -> None:
        try:
            self.consumer.commit(offsets=[tp], asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].fatal():
                raise
            raise CommitFailed(f"offset {tp.topic}[{tp.partition}]@{tp.offset}", exc.args[0].str()) from None

    def check_owner(self, writer: PartitionWriter) -> None:
        """Before uploading, prove the task still owns the partition: a member that was paused (SIGSTOP, GC, a
        slow S3) and lost it must not overwrite the new owner's files. Re-committing the committed offset fails
        for a member the group has moved on from."""
        if writer.committed is not None:
            self.consumer_commit(TopicPartition(writer.topic, writer.partition, writer.committed))

