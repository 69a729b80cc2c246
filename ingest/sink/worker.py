"""The Connect runtime's share of a sink task (Kafka Connect's WorkerSinkTask): the consumer's poll loop, the
group's rebalance callbacks, the consumer's errors, the rewind after a failed commit, the lags. The S3 sink task
(task.py) gets partitions to `open` and `close`, records to `put`, and is asked to `pre_commit`.

A commit that fails (the broker away, the group moved on) is not the task's end: the task drops what it holds,
the worker rewinds to the committed offsets and goes on, after a growing pause; only a commit failing again and
again ends it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from ingest.config import SinkConfig
from ingest.errors import CommitFailed
from ingest.schema import EventSchema
from ingest.sink.clients import ClientFactory, build_clients
from ingest.sink.reader_schema import event_schema
from ingest.sink.records import RecordConverter
from ingest.sink.stats import lags
from ingest.sink.task import SinkTask, shown, wall_ms

log = logging.getLogger("sluice.sink")
MAX_FAILED_COMMITS = 8  # in a row, each after a rewind: then the task stops with the error


class SinkWorker:
    def __init__(self, config: SinkConfig, task: SinkTask, consumer, stop: threading.Event,
                 on_topics: Callable[[set[str]], None] = lambda _: None, batch_size: int = 10_000,
                 sleep: Callable[[float], None] = time.sleep):
        self.config, self.task, self.consumer, self.stop, self.sleep = config, task, consumer, stop, sleep
        self.task_id, self.stats = task.task_id, task.stats
        self.on_topics = on_topics  # called with the topics of each assignment (the runner records their schema)
        self.batch_size = min(batch_size, max(config.flush_size, 500))
        self.rewind_needed = False
        self.failed_commits = 0  # in a row: restarts with every commit that goes through
        self._settled_seen = 0  # the task's commits_settled at the last failed commit
        self.failed = False  # an error ends the task: nothing it holds may be committed on the way out
        self.owned: set[tuple[str, int]] = set()
        self.assigned = False  # an assignment in place (an empty one counts): not between a revoke and an assign
        self._waiting_for_topic = False  # logged once: a topic subscribed to does not exist (yet)
        self._consumer_errors: dict[int, float] = {}  # error code -> monotonic time last logged

    # -- group membership ------------------------------------------------------------------------------
    def _on_assign(self, consumer, partitions: list[TopicPartition]) -> None:
        self.stats.caught_up = False
        self._settle_or_drop()  # (an eager rebalance revoked first: nothing is in flight any more)
        # The group's committed offsets: where this task resumes, and what counts as unconsumed before a fetch.
        committed = consumer.committed(partitions, timeout=30) if partitions else []
        self.on_topics({tp.topic for tp in partitions})  # before their first commit; raising ends the task
        self.task.open(committed)
        self.owned |= {(tp.topic, tp.partition) for tp in partitions}
        self.assigned = True
        self.stats.assigned_at = time.monotonic()
        log.info("task %d assigned %s; holds %s", self.task_id, shown((t.topic, t.partition) for t in partitions),
                 self.task.held())

    def _on_revoke(self, _consumer, partitions: list[TopicPartition]) -> None:
        """A clean hand-over (unless the task is failing: then nothing it holds is committed)."""
        self._unassign(partitions)
        self._settle_or_drop()
        self.task.close(partitions, hand_over=not self.failed)
        log.info("task %d revoked %s; holds %s", self.task_id, shown((t.topic, t.partition) for t in partitions),
                 self.task.held())

    def _on_lost(self, _consumer, partitions: list[TopicPartition]) -> None:
        """Not a hand-over: the group gave the partitions to another member. They go before the commit in flight is
        settled, so a round of theirs in it is dropped, never finished over the new owner's."""
        self._unassign(partitions)
        self.task.lose(partitions)
        self._settle_or_drop()

    def _unassign(self, partitions: list[TopicPartition]) -> None:
        # An eager rebalance takes every partition before it assigns again: not caught up in between.
        self.stats.caught_up = False
        self.owned -= {(tp.topic, tp.partition) for tp in partitions}
        self.assigned = bool(self.owned)

    # -- the loop --------------------------------------------------------------------------------------
    def subscribe(self) -> None:
        """Join the connector's group: its rebalances call back into the worker from inside `consume`."""
        topics = list(self.config.topics) or [f"^{self.config.topics_regex}"]
        self.consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_lost)

    def run(self) -> None:
        self.subscribe()
        try:
            while not self.stop.is_set():
                self.iteration()
            self._guarded(self.task.close_files, "shutdown")
            self._guarded(self.task.pre_commit)
            self.task.flush_watermarks(force=True)
        except BaseException:
            self.failed = True
            raise
        finally:
            self.task.drain()  # a commit sent before a failure completes: its rounds are whole
            self.consumer.close()
            self.task.stop()

    def iteration(self) -> None:
        """One pass: rewind if asked, poll, put, rotate, finish an uploaded commit, watermarks, lags."""
        if self.rewind_needed:
            self._rewind()
        messages = self.consumer.consume(num_messages=self.batch_size, timeout=0.2)
        if self.rewind_needed:
            return  # fetched before the rewind: read again from the committed offsets
        if messages:
            self.stats.last_message = time.monotonic()
        records = self._records(messages)
        self._guarded(self.task.put, records)
        self._guarded(self.task.rotate_scheduled)
        if self.task.commit_ready():
            self._guarded(self.task.pre_commit)
        self.task.flush_watermarks()
        self.stats.lag, self.stats.fetch_lag = lags(self.consumer, self.task.committed_offsets())
        self.stats.caught_up = self.assigned and not self.rewind_needed and self.stats.fetch_lag == 0

    def _records(self, messages: list) -> list:
        """The records of a poll; consumer errors in it are triaged: broker-side trouble is logged, a missing
        topic is waited for, a fatal error ends the task."""
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
        return records

    def _log_consumer_error(self, error: KafkaError) -> None:
        """Broker-side trouble is logged (once per code and 30 s), never the task's end."""
        now = time.monotonic()
        if now - self._consumer_errors.get(error.code(), -1e9) >= 30:
            self._consumer_errors[error.code()] = now
            log.warning("task %d: %s (the client retries)", self.task_id, error.str())

    # -- failed commits ----------------------------------------------------------------------------------
    def _guarded(self, step, *args) -> None:
        """Run a step that may commit; a failed commit drops what the task holds and rewinds (with a growing
        pause). A commit failing again and again after successful rewinds is not passing trouble: it ends the task."""
        try:
            step(*args)
        except CommitFailed as exc:
            if self.task.commits_settled != self._settled_seen:  # a commit went through since the last failure
                self.failed_commits, self._settled_seen = 0, self.task.commits_settled
            self.failed_commits += 1
            if self.failed_commits >= MAX_FAILED_COMMITS:
                raise
            self._drop(exc)
            self.sleep(min(0.5 * 2 ** (self.failed_commits - 1), 10))

    def _settle_or_drop(self) -> None:
        """In a rebalance callback: settle the commit in flight; if it failed, drop everything and rewind."""
        try:
            self.task.pre_commit()
        except CommitFailed as exc:
            self._drop(exc)

    def _drop(self, exc: CommitFailed) -> None:
        """After a failed commit: what the task holds is dropped, and it reads again from the committed offsets."""
        log.warning("task %d: %s; resuming from the committed offsets", self.task_id, exc)
        self.stats.rewinds += 1
        self.stats.caught_up = False
        self.task.discard()
        self.rewind_needed = True

    def _rewind(self) -> None:
        """Start over from the group's committed offsets with empty writers (the broker may still be away:
        then try again on the next pass)."""
        try:
            assignment = self.consumer.assignment()
            committed = self.consumer.committed(assignment, timeout=10) if assignment else []
            for tp in committed:
                self.consumer.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0
                                                  else OFFSET_BEGINNING))
        except KafkaException as exc:
            if exc.args[0].fatal():
                raise
            self.task.discard()
            self._log_consumer_error(exc.args[0])
            self.sleep(1)
            return
        self.task.open(committed)
        self.rewind_needed = False
        log.info("task %d: rewound to the committed offsets %s", self.task_id,
                 sorted(f"{tp.topic}[{tp.partition}]@{tp.offset}" for tp in committed))


def build_worker(config: SinkConfig, task_id: int, stop: threading.Event, instance_id: str | None = None,
                 clients: ClientFactory = build_clients, clock_ms: Callable[[], int] = wall_ms,
                 on_topics: Callable[[set[str]], None] = lambda _: None,
                 on_schema: Callable[[EventSchema], None] = lambda _: None) -> SinkWorker:
    """Task `task_id` of the connector with its clients: the converter first, so a config the schema cannot
    serve fails before any client talks to a broker."""
    converter = RecordConverter(config, event_schema(config), clock_ms, stop)
    made = clients(config, task_id, instance_id)
    task = SinkTask(config, task_id, made, converter, clock_ms, on_schema)
    return SinkWorker(config, task, made.consumer, stop, on_topics)
