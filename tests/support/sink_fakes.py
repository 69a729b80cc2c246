"""Fakes of a sink task's clients (the consumer, S3, the DLQ) and of Kafka's messages, shared by the task's and
the worker's tests (no network).

Every side effect lands in one ordered event log, so each test pins what happened and in which order:
("put", key), ("commit", topic, partition, offset), ("dlq.letter", offset, stage),
("dlq.commit", dead letter offsets, offset), ("seek", partition, offset), ("get_json", key), ("put_json", key);
S3's conditional PUTs add ("exists", key) for an only-if-new PUT refused, ("head", key), ("put_over", key) for
an object replaced and ("changed", key) for a replacement refused (an only-if-new PUT that writes logs "put" or
"put_json", as a plain one does). A ("commit", ..., offset) of where a round starts, before an upload and again
before the manifests, is the ownership check.
"""

import json
import threading
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from ingest.config import parse_sink_config
from ingest.connections import REPO_ROOT, Connections
from ingest.sink.clients import SinkClients
from ingest.sink.dlq import DeadLetter
from ingest.sink.reader_schema import event_schema
from ingest.sink.records import RecordConverter
from ingest.sink.task import SinkTask

CONN = Connections.from_env({}, env_file=REPO_ROOT / "no-such-env-file")
TOPIC, PARTITION = "events", 2
HOUR = 1_705_312_800_000  # 2024-01-15T10:00:00Z
HOUR_PATH = "year=2024/month=01/day=15/hour=10"
WATERMARK = f"_sluice/s3-sink/watermarks/{TOPIC}/{PARTITION}.json"
WATERMARK_WRITE = [("get_json", WATERMARK), ("put_json", WATERMARK)]
OFFSET_INVALID = -1001  # what Kafka answers for a group without a committed offset
DLQ = {"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "events-dlq"}


def key(start_offset: int) -> str:
    return f"topics/{TOPIC}/{HOUR_PATH}/{TOPIC}+{PARTITION}+{start_offset:010d}.snappy.parquet"


def manifest(start_offset: int) -> str:
    return f"_sluice/s3-sink/ledger/{TOPIC}/{PARTITION:05d}/{start_offset:020d}.json"


def index(start_offset: int, partition: int = PARTITION) -> tuple:
    """The hour index entry of a round with rows of 10:00 UTC (every event here is)."""
    return ("put_json", f"_sluice/s3-sink/hours/{TOPIC}/2024-01-15T10/{partition:05d}+{start_offset:020d}.json")


def commit(offset: int) -> tuple:
    return ("commit", TOPIC, PARTITION, offset)


@dataclass(frozen=True)
class Message:
    """The confluent_kafka.Message methods the worker, task, converter and DLQ read."""

    _offset: int
    _value: bytes | None
    _partition: int = PARTITION
    _error: KafkaError | None = None

    def value(self):
        return self._value

    def offset(self):
        return self._offset

    def timestamp(self):
        return (1, HOUR)

    def key(self):
        return b"k"

    def topic(self):
        return TOPIC

    def partition(self):
        return self._partition

    def error(self):
        return self._error

    def headers(self):
        return None


def good(offset: int, partition: int = PARTITION) -> Message:
    """A valid event, `offset` seconds into the hour."""
    event = {"event_id": "0b6c8f43-2c8f-4f22-9f0a-2d1a0e5e1b11", "event_type": "click",
             "event_time": f"2024-01-15T10:00:{offset % 60:02d}Z", "payload": {}}
    return Message(offset, json.dumps(event).encode(), partition)


def bad(offset: int) -> Message:
    return Message(offset, b"{not json")


def failed(code: int, fatal: bool = False) -> Message:
    """What a poll returns for a consumer error."""
    return Message(-1, None, _error=KafkaError(code, fatal=fatal))


class FakeConsumer:
    """The consumer calls of the task and the worker. `polls` are what `consume` returns, one per call (a callable
    is called first: a rebalance inside a poll); once they are used up, `consume` sets `done` if given."""

    def __init__(self, events: list, committed: int = OFFSET_INVALID, high: int = 1_000):
        self.events, self.start, self.high = events, committed, high
        self.fail_commits = False
        self.polls: list = []
        self.done = None  # a threading.Event to set once the polls are used up
        self.callbacks: dict = {}

    def subscribe(self, topics, on_assign, on_revoke, on_lost):
        self.topics, self.callbacks = topics, {"assign": on_assign, "revoke": on_revoke, "lost": on_lost}

    def rebalance(self, kind: str, partitions: list[TopicPartition]) -> None:
        """As librdkafka inside a poll: the worker's callback for `kind` (assign, revoke, lost)."""
        self.callbacks[kind](self, partitions)

    def consume(self, num_messages, timeout):
        if not self.polls:
            if self.done is not None:
                self.done.set()
            return []
        poll = self.polls.pop(0)
        return poll() if callable(poll) else poll

    def close(self):
        if "revoke" in self.callbacks:  # closing leaves the group: the assignment is revoked
            self.rebalance("revoke", self.assignment())

    def consumer_group_metadata(self):
        return "group-metadata"

    def assignment(self):
        return [TopicPartition(TOPIC, PARTITION)]

    def seek(self, tp):
        self.events.append(("seek", tp.partition, tp.offset))

    def committed(self, partitions, timeout=None):
        return [TopicPartition(tp.topic, tp.partition, self.start) for tp in partitions]

    def commit(self, offsets, asynchronous=True):
        assert asynchronous is False, "offsets are committed synchronously"
        if self.fail_commits:
            raise KafkaException(KafkaError(KafkaError.UNKNOWN_MEMBER_ID))
        self.events += [("commit", tp.topic, tp.partition, tp.offset) for tp in offsets]

    def get_watermark_offsets(self, tp, cached=False):
        return (0, self.high)

    def position(self, partitions):
        return [TopicPartition(tp.topic, tp.partition, OFFSET_INVALID) for tp in partitions]


class FakeStorage:
    """A bucket in memory with S3's conditional PUTs (If-None-Match: *, If-Match); an ETag is a write's number."""

    def __init__(self, events: list):
        self.events, self.objects, self.documents, self.etags, self.writes = events, {}, {}, {}, 0

    def seed(self, key, value):
        """An object (bytes) or a document (dict) already in the bucket before the test (no event)."""
        self._write(key, value, self.objects if isinstance(value, bytes) else self.documents)

    def _write(self, key, value, where):
        where[key] = value
        self.writes += 1
        self.etags[key] = f'"{self.writes}"'

    def _stored(self, kind, key, value, where):
        self.events.append((kind, key))
        self._write(key, value, where)
        return True

    def _refused(self, kind, key):
        self.events.append((kind, key))
        return False

    def put(self, key, body):
        self._stored("put", key, body, self.objects)

    def put_new(self, key, body):
        return self._refused("exists", key) if key in self.etags else self._stored("put", key, body, self.objects)

    def put_over(self, key, body, etag):
        if self.etags.get(key) != etag:
            return self._refused("changed", key)
        return self._stored("put_over", key, body, self.objects)

    def etag(self, key):
        self.events.append(("head", key))
        return self.etags.get(key)

    def put_json(self, key, document):
        self._stored("put_json", key, document, self.documents)

    def put_json_new(self, key, document):
        if key in self.etags:
            return self._refused("exists", key)
        return self._stored("put_json", key, document, self.documents)

    def put_json_over(self, key, document, etag):
        if self.etags.get(key) != etag:
            return self._refused("changed", key)
        return self._stored("put_over", key, document, self.documents)

    def get_json(self, key):
        self.events.append(("get_json", key))
        return self.documents.get(key)

    def get_json_tagged(self, key):
        self.events.append(("get_json", key))
        return (self.documents[key], self.etags[key]) if key in self.documents else None


class FakeDLQ:
    def __init__(self, events: list):
        self.events = events

    def letter(self, message, reason, exception_class, stage):
        self.events.append(("dlq.letter", message.offset(), stage))
        return DeadLetter(message.offset(), message.key(), message.value(), [], HOUR)

    def commit(self, letters, offsets, group_metadata):
        assert group_metadata == "group-metadata"
        self.events += [("dlq.commit", [d.offset for d in letters], tp.offset) for tp in offsets]

    def close(self):
        pass


class Clock:
    def __init__(self, now: int):
        self.now = now

    def __call__(self) -> int:
        return self.now


def sink_config(**changes):
    return parse_sink_config({"name": "s3-sink", "config": {
        "topics": TOPIC, "s3.bucket.name": "data-lake", "flush.size": "3",
        "partitioner.class": "HourlyPartitioner", "timezone": "UTC", "locale": "en-US",
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "sluice.watermark.interval.ms": "0", **changes,
    }}, CONN)


def make_task(committed: int = OFFSET_INVALID, high: int = 1_000, opened: bool = True, **changes):
    """A task of one opened partition, its clients the fakes of Kafka, S3 and the DLQ; returns (task, events)."""
    config, events, clock = sink_config(**changes), [], Clock(HOUR + 30_000)
    consumer = FakeConsumer(events, committed, high)
    dlq = FakeDLQ(events) if config.errors_tolerance == "all" and config.dlq_topic else None
    task = SinkTask(config, 0, SinkClients(consumer, FakeStorage(events), dlq, "s3-sink-test-0"),
                    RecordConverter(config, event_schema(config), clock), clock)
    if opened:
        task.open(consumer.committed([TopicPartition(TOPIC, PARTITION)]))
    return task, events


def writer(task):
    return task.writers[(TOPIC, PARTITION)]


def gate_uploads(task) -> threading.Event:
    """Hold every PUT of a file until the returned event is set (a slow S3)."""
    release, put_new = threading.Event(), task.storage.put_new

    def held(key, body):
        assert release.wait(10), "the test never released the upload"
        return put_new(key, body)

    task.storage.put_new = held
    return release
