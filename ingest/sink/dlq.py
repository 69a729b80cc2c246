"""The dead-letter queue, exactly once: bad records go to a topic unchanged, with Kafka Connect's error context
headers, in the same Kafka transaction that commits the offsets passing them.

A task keeps a round's dead letters until the round commits; then one transaction produces them and sends the
round's offsets to the consumer group (`send_offsets_to_transaction`). A crash before the commit leaves an
aborted (invisible to `read_committed` readers) transaction and the old offsets: the replay dead-letters the same
records again, once. A letter larger than the topic allows is truncated, with a header saying how large it was.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

from ingest.clients import kafka_config, topic_config
from ingest.connections import Connections
from ingest.errors import CommitFailed

log = logging.getLogger("sluice.sink")
HEADER_PREFIX = "__connect.errors."
TRUNCATED_HEADER = "__sluice.errors.value.truncated"  # the original value's size in bytes, when cut to fit
EXECUTING_CLASS = {"VALUE_CONVERTER": "org.apache.kafka.connect.json.JsonConverter",
                   "TASK_PUT": "io.confluent.connect.s3.S3SinkTask"}
DLQ_MAX_MESSAGE_BYTES = 8 * 1024 * 1024  # a DLQ topic Sluice creates takes source records near Kafka's 1 MB limit
RECORD_OVERHEAD = 1024  # batch and record framing, generously
TRANSACTION_TIMEOUT_MS = 60_000
SEND_OFFSETS_GRACE_S = 5.0  # past the call's own timeout, before the producer is given up
FENCED = (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)


@dataclass(frozen=True)
class DeadLetter:
    offset: int  # in the source partition
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp_ms: int


def max_letter_bytes(connections: Connections, topic: str) -> int:
    """What one dead letter may take: the DLQ topic's max.message.bytes (Kafka's default if unreadable)."""
    value = topic_config(connections, topic, "max.message.bytes")
    return int(value) if value and value.isdigit() else 1_048_588


def fit(key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]], limit: int
        ) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """The value (cut if the letter would exceed `limit` bytes) and the headers (with TRUNCATED_HEADER if cut)."""
    size = len(key or b"") + len(value or b"") + sum(len(k) + len(v or b"") for k, v in headers) + RECORD_OVERHEAD
    if value is None or size <= limit:
        return value, headers
    headers = headers + [(TRUNCATED_HEADER, str(len(value)).encode())]
    room = max(limit - (size - len(value)) - len(TRUNCATED_HEADER) - 32, 0)
    return value[:room], headers


class DeadLetterQueue:
    def __init__(self, connections: Connections, topic: str, context_headers: bool, connector: str, task_id: int,
                 transactional_id: str, admin_connections: Connections | None = None):
        """`connections`: the producer's (producer.override.*), `admin_connections`: the topic lookup's
        (admin.override.*; default: the producer's)."""
        self.topic, self.context_headers = topic, context_headers
        self.connector, self.task_id = connector, task_id
        self.limit = max_letter_bytes(admin_connections or connections, topic)
        self._settings = kafka_config(connections, **{
            "transactional.id": transactional_id, "acks": "all", "linger.ms": 5,
            "message.max.bytes": max(self.limit + RECORD_OVERHEAD, 1_000_000),
            # the topic's limit holds for a whole batch: no batch may exceed it (a larger letter goes alone)
            "batch.size": max(self.limit - RECORD_OVERHEAD, RECORD_OVERHEAD),
            "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
        })
        self.producer: Producer | None = None
        self._ensure_producer()

    def _ensure_producer(self) -> Producer:
        if self.producer is None:
            producer = Producer(self._settings)
            # Fences an earlier producer with the same transactional.id and aborts what it left open.
            producer.init_transactions(60)
            self.producer = producer
        return self.producer

    def letter(self, message, reason: str, exception_class: str, stage: str) -> DeadLetter:
        headers = list(message.headers() or [])
        if self.context_headers:
            context = {
                "topic": message.topic(), "partition": str(message.partition()), "offset": str(message.offset()),
                "connector.name": self.connector, "task.id": str(self.task_id), "stage": stage,
                "class.name": EXECUTING_CLASS[stage], "exception.class.name": exception_class,
                "exception.message": reason,
                "exception.stacktrace": "".join(traceback.format_stack(limit=1)) + f"{exception_class}: {reason}",
            }
            headers += [(HEADER_PREFIX + k, v.encode()) for k, v in context.items()]
        value, headers = fit(message.key(), message.value(), headers, self.limit)
        return DeadLetter(message.offset(), message.key(), value, headers, message.timestamp()[1])

    def commit(self, letters: list[DeadLetter], offsets: list[TopicPartition], group_metadata,
               timeout: float = 30.0) -> None:
        """Produce the letters and commit the group's offsets in one transaction; CommitFailed if it aborted."""
        try:
            producer = self._ensure_producer()
            producer.begin_transaction()
            for letter in letters:
                self._produce(producer, letter)
            self._send_offsets(producer, offsets, group_metadata, timeout)
            self._commit_transaction(producer, timeout)
        except KafkaException as exc:
            error = exc.args[0]
            if error.fatal() and error.code() in FENCED:  # a newer producer has our id: this task is a zombie
                raise
            self._abort()
            raise CommitFailed(f"transaction of {len(letters)} dead letter(s) and offsets {_show(offsets)}",
                               str(error)) from None

    def _send_offsets(self, producer: Producer, offsets: list[TopicPartition], group_metadata,
                      timeout: float) -> None:
        """send_offsets_to_transaction, bounded by us: librdkafka may wait past its timeout for a group coordinator
        it cached before a broker restart (librdkafka#5456, #5511). Past the bound the producer is abandoned to its
        thread; the next one's init_transactions fences it and aborts the transaction it left open."""
        outcome: list[BaseException] = []

        def send() -> None:
            try:
                producer.send_offsets_to_transaction(offsets, group_metadata, timeout)
            except BaseException as exc:  # handed to the caller below
                outcome.append(exc)

        worker = threading.Thread(target=send, name="dlq-send-offsets", daemon=True)
        worker.start()
        worker.join(timeout + SEND_OFFSETS_GRACE_S)
        if worker.is_alive():
            self.producer = None
            log.warning("DLQ %s: send_offsets_to_transaction still waiting after %.0f s: a new producer takes over",
                        self.topic, timeout + SEND_OFFSETS_GRACE_S)
            raise CommitFailed(f"offsets {_show(offsets)} to the transaction", "timed out")
        if outcome:
            raise outcome[0]

    def _produce(self, producer: Producer, letter: DeadLetter) -> None:
        while True:
            try:
                producer.produce(self.topic, key=letter.key, value=letter.value, headers=letter.headers,
                                      timestamp=letter.timestamp_ms)
                return
            except BufferError:  # the local queue is full: let it drain
                producer.poll(0.1)

    def _commit_transaction(self, producer: Producer, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                producer.commit_transaction(timeout)
                return
            except KafkaException as exc:
                if not exc.args[0].retriable() or time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)

    def _abort(self) -> None:
        """Abort the open transaction; if that fails too, drop the producer: the next one's init_transactions
        aborts whatever this one left open."""
        if self.producer is None:
            return
        try:
            self.producer.abort_transaction(30)
        except KafkaException as exc:
            log.warning("DLQ %s: abort_transaction failed (%s): a new producer takes over", self.topic, exc)
            self.producer = None

    def close(self) -> None:
        if self.producer is not None:
            self.producer.flush(10)


def _show(offsets: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]@{tp.offset}" for tp in offsets)
