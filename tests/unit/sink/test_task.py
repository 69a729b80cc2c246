"""SinkTask's rotation and commit decisions, against fakes of the consumer, S3 and the DLQ (no network).

Every side effect lands in one ordered event log, so each test pins what happened and in which order:
("put", key), ("commit", topic, partition, offset), ("dlq.letter", offset, stage),
("dlq.commit", dead letter offsets, offset), ("seek", partition, offset), ("get_json", key), ("put_json", key).
A ("commit", ..., offset) of the offset already committed, before an upload, is the ownership check.
"""

import io
import json
import threading
from dataclasses import dataclass

import pyarrow.parquet as pq
import pytest
from confluent_kafka import TopicPartition

import ingest.sink.task as task_module
from ingest.config import parse_sink_config
from ingest.connections import REPO_ROOT, Connections
from ingest.errors import CommitFailed, SinkStopped
from ingest.sink.dlq import DeadLetter
from ingest.sink.task import SinkTask

CONN = Connections.from_env({}, env_file=REPO_ROOT / "no-such-env-file")
TOPIC, PARTITION = "events", 2
HOUR = 1_705_312_800_000  # 2024-01-15T10:00:00Z
HOUR_PATH = "year=2024/month=01/day=15/hour=10"
WATERMARK = f"_sluice/s3-sink/watermarks/{TOPIC}/{PARTITION}.json"
WATERMARK_WRITE = [("get_json", WATERMARK), ("put_json", WATERMARK)]
OFFSET_INVALID = -1001  # what Kafka answers for a group without a committed offset


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
    """The confluent_kafka.Message methods the task, converter and DLQ read."""

    _offset: int
    _value: bytes | None
    _partition: int = PARTITION

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
        return None

    def headers(self):
        return None


def good(offset: int, partition: int = PARTITION) -> Message:
    """A valid event, `offset` seconds into the hour."""
    event = {"event_id": "0b6c8f43-2c8f-4f22-9f0a-2d1a0e5e1b11", "event_type": "click",
             "event_time": f"2024-01-15T10:00:{offset % 60:02d}Z", "payload": {}}
    return Message(offset, json.dumps(event).encode(), partition)


def bad(offset: int) -> Message:
    return Message(offset, b"{not json")


class FakeConsumer:
    def __init__(self, events: list, committed: int = OFFSET_INVALID, high: int = 1_000):
        self.events, self.start, self.high = events, committed, high
        self.fail_commits = False

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
            from confluent_kafka import KafkaError, KafkaException

            raise KafkaException(KafkaError(KafkaError.UNKNOWN_MEMBER_ID))
        self.events += [("commit", tp.topic, tp.partition, tp.offset) for tp in offsets]

    def get_watermark_offsets(self, tp, cached=False):
        return (0, self.high)

    def position(self, partitions):
        return [TopicPartition(tp.topic, tp.partition, OFFSET_INVALID) for tp in partitions]


class FakeStorage:
    def __init__(self, events: list):
        self.events, self.objects, self.documents = events, {}, {}

    def put(self, key, body):
        self.events.append(("put", key))
        self.objects[key] = body

    def put_json(self, key, document):
        self.events.append(("put_json", key))
        self.documents[key] = document

    def get_json(self, key):
        self.events.append(("get_json", key))
        return None


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


def make_task(monkeypatch, committed: int = OFFSET_INVALID, high: int = 1_000, **changes):
    """A task of one assigned partition, the fakes in place of Kafka, S3 and the DLQ; returns (task, events)."""
    document = {"name": "s3-sink", "config": {
        "topics": TOPIC, "s3.bucket.name": "data-lake", "flush.size": "3",
        "partitioner.class": "HourlyPartitioner", "timezone": "UTC", "locale": "en-US",
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "sluice.watermark.interval.ms": "0", **changes,
    }}
    events: list = []
    # The real clients are never built: a librdkafka consumer in a group and an idempotent producer
    # start talking to the brokers as soon as they exist.
    monkeypatch.setattr(task_module, "Consumer", lambda settings: FakeConsumer(events, committed, high))
    monkeypatch.setattr(task_module, "Storage", lambda *args, **kwargs: FakeStorage(events))
    monkeypatch.setattr(task_module, "DeadLetterQueue", lambda *args: FakeDLQ(events))
    task = SinkTask(parse_sink_config(document, CONN), 0, threading.Event(), clock_ms=Clock(HOUR + 30_000))
    task._on_assign(task.consumer, [TopicPartition(TOPIC, PARTITION)])
    return task, events


def writer(task):
    return task.writers[(TOPIC, PARTITION)]


def handle(task, messages) -> None:
    """One batch, then its commit settled (the task would settle it before its next commit)."""
    task._handle(messages)
    task._settle()


def handle_guarded(task, messages) -> None:
    """As the task's loop runs a batch: a failed commit, raised when it settles, drops and rewinds."""
    task._guarded(task._handle, messages)
    task._guarded(task._settle)


def rotate(task) -> None:
    task._rotate_scheduled()
    task._settle()


def test_flush_size_uploads_one_file_under_the_connectors_key_then_commits_the_next_offset(monkeypatch):
    task, events = make_task(monkeypatch, committed=40)
    handle(task, [good(40), good(41), good(42)])
    assert events == [commit(40), ("put", key(40)), commit(40), index(40), ("put_json", manifest(40)), commit(43),
                      *WATERMARK_WRITE]
    assert pq.read_table(io.BytesIO(task.storage.objects[key(40)]))["_kafka_offset"].to_pylist() == [40, 41, 42]
    assert (writer(task).committed, writer(task).has_open_files) == (43, False)


def test_watermark_after_a_commit_holds_the_committed_offset_and_newest_record_time(monkeypatch):
    task, _ = make_task(monkeypatch, committed=40, high=100)
    handle(task, [good(40), good(41), good(42)])
    assert task.storage.documents[WATERMARK] == {
        "connector": "s3-sink", "topic": TOPIC, "partition": PARTITION, "committed_offset": 43,
        "end_offset": 100, "lag": 57, "max_record_time": "2024-01-15T10:00:42.000Z",
        "complete_until": "2024-01-15T10:00:42.000Z", "complete_until_ms": HOUR + 42_000,
        "updated_at": "2024-01-15T10:00:30.000Z",
    }


def test_records_below_flush_size_are_neither_uploaded_nor_committed(monkeypatch):
    task, events = make_task(monkeypatch)
    handle(task, [good(0), good(1)])
    assert events == []
    assert (writer(task).committed, writer(task).next_offset, writer(task).state.count) == (None, 2, 2)


def test_flush_size_spans_batches_and_the_rest_stays_open(monkeypatch):
    task, events = make_task(monkeypatch)
    handle(task, [good(0), good(1)])
    handle(task, [good(2), good(3)])
    assert events[:4] == [("put", key(0)), index(0), ("put_json", manifest(0)), commit(3)]
    assert writer(task).state.count == 1


def test_bad_record_goes_to_the_dlq_which_is_flushed_before_the_commit_that_passes_it(monkeypatch):
    task, events = make_task(monkeypatch, **{"errors.tolerance": "all",
                                             "errors.deadletterqueue.topic.name": "events-dlq"})
    handle(task, [good(0), bad(1)])
    assert events == [("dlq.letter", 1, "VALUE_CONVERTER")]  # files still open: nothing to commit yet
    handle(task, [good(2), good(3)])
    assert events == [("dlq.letter", 1, "VALUE_CONVERTER"), ("put", key(0)), index(0), ("put_json", manifest(0)),
                      ("dlq.commit", [1], 4), *WATERMARK_WRITE]
    ledger = task.storage.documents[manifest(0)]
    assert (ledger["start_offset"], ledger["commit_offset"], ledger["records"]) == (0, 4, 4)
    assert ledger["dlq"] == {"topic": "events-dlq", "offsets": [1]}
    assert pq.read_table(io.BytesIO(task.storage.objects[key(0)]))["_kafka_offset"].to_pylist() == [0, 2, 3]
    assert (task.stats.dead_lettered, task.stats.good) == (1, 3)


def test_a_batch_of_only_dead_letters_is_committed_past(monkeypatch):
    task, events = make_task(monkeypatch, committed=5, **{"errors.tolerance": "all",
                                                          "errors.deadletterqueue.topic.name": "events-dlq"})
    handle(task, [bad(5), bad(6)])
    assert events == [("dlq.letter", 5, "VALUE_CONVERTER"), ("dlq.letter", 6, "VALUE_CONVERTER"), commit(5),
                      ("put_json", manifest(5)), ("dlq.commit", [5, 6], 7), *WATERMARK_WRITE]
    assert task.storage.documents[manifest(5)]["files"] == []
    assert task.storage.documents[WATERMARK]["max_record_time"] is None


def test_errors_tolerance_none_stops_at_the_bad_record_and_commits_nothing_at_or_after_it(monkeypatch):
    task, events = make_task(monkeypatch, **{"flush.size": "2"})
    with pytest.raises(SinkStopped) as stopped:
        handle(task, [good(0), good(1), bad(2), good(3)])
    assert (stopped.value.topic, stopped.value.partition, stopped.value.offset) == (TOPIC, PARTITION, 2)
    assert stopped.value.reason.startswith("value is not valid JSON")
    assert [e for e in events if e[0] in ("put", "commit")] == [("put", key(0)), commit(2)]
    assert pq.read_table(io.BytesIO(task.storage.objects[key(0)]))["_kafka_offset"].to_pylist() == [0, 1]


def test_errors_tolerance_none_commits_the_good_records_before_the_bad_one(monkeypatch):
    task, events = make_task(monkeypatch)
    with pytest.raises(SinkStopped) as stopped:
        handle(task, [good(0), bad(1), good(2)])
    assert stopped.value.offset == 1
    assert events == [("put", key(0)), index(0), ("put_json", manifest(0)), commit(1), *WATERMARK_WRITE]
    assert (writer(task).state.count, writer(task).committed) == (0, 1)


def test_scheduled_rotation_uploads_and_commits_once_the_wall_clock_passes_the_boundary(monkeypatch):
    task, events = make_task(monkeypatch, **{"rotate.schedule.interval.ms": "60000"})
    handle(task, [good(0), good(1)])  # opened at HOUR + 30 s: due at the next minute, HOUR + 60 s
    task.clock_ms.now = HOUR + 59_999
    rotate(task)
    assert events == []
    task.clock_ms.now = HOUR + 60_000
    rotate(task)
    assert events == [("put", key(0)), index(0), ("put_json", manifest(0)), commit(2), *WATERMARK_WRITE]
    rotate(task)
    assert len(events) == 6  # nothing open, nothing more


def test_revoke_uploads_and_commits_the_open_files(monkeypatch):
    task, events = make_task(monkeypatch)
    handle(task, [good(0), good(1)])
    task._on_revoke(task.consumer, [TopicPartition(TOPIC, PARTITION)])
    assert events == [("put", key(0)), index(0), ("put_json", manifest(0)), commit(2), *WATERMARK_WRITE]
    assert task.writers == {}


def test_lost_partition_uploads_nothing_and_commits_nothing(monkeypatch):
    task, events = make_task(monkeypatch)
    handle(task, [good(0), good(1)])
    task._on_lost(task.consumer, [TopicPartition(TOPIC, PARTITION)])
    assert events == []
    assert task.writers == {}
    handle(task, [good(2), good(3)])  # in flight when the partition was lost: left to its next owner
    assert events == []


def test_the_manifest_lists_each_file_with_its_offsets_rows_and_event_times(monkeypatch):
    task, _ = make_task(monkeypatch, committed=40)
    handle(task, [good(40), good(41), good(42)])
    document = task.storage.documents[manifest(40)]
    [entry] = document["files"]
    assert (document["format"], document["version"], document["start_offset"], document["commit_offset"]) == (
        "sluice-ledger", 1, 40, 43)
    assert {k: entry[k] for k in ("key", "encoded_partition", "first_offset", "last_offset", "rows",
                                  "min_event_time", "max_event_time")} == {
        "key": key(40), "encoded_partition": HOUR_PATH, "first_offset": 40, "last_offset": 42, "rows": 3,
        "min_event_time": "2024-01-15T10:00:40.000Z", "max_event_time": "2024-01-15T10:00:42.000Z"}
    assert entry["size"] == len(task.storage.objects[key(40)])


def test_a_member_that_lost_the_group_uploads_nothing_and_rewinds_to_the_committed_offset(monkeypatch):
    task, events = make_task(monkeypatch, committed=40)
    task.consumer.fail_commits = True  # the ownership check before the upload is refused
    handle_guarded(task, [good(40), good(41), good(42)])
    assert events == []
    assert (task.rewind_needed, task.writers, task.stats.rewinds) == (True, {}, 1)
    task.consumer.fail_commits = False
    task._rewind()
    assert events == [("seek", PARTITION, 40)]
    assert (task.rewind_needed, writer(task).committed) == (False, 40)


def test_a_failed_transaction_drops_the_rounds_dead_letters_and_rewinds(monkeypatch):
    task, events = make_task(monkeypatch, committed=5, **{"errors.tolerance": "all",
                                                          "errors.deadletterqueue.topic.name": "events-dlq"})

    def aborted(letters, offsets, group_metadata):
        raise CommitFailed("transaction", "Broker: Unknown member")

    task.dlq.commit = aborted
    handle_guarded(task, [bad(5), bad(6)])
    assert (task.rewind_needed, dict(task.dead_letters), task.writers) == (True, {}, {})


def test_a_failing_task_hands_nothing_over_on_revoke(monkeypatch):
    task, events = make_task(monkeypatch)
    handle(task, [good(0), good(1)])
    task.failed = True
    task._on_revoke(task.consumer, [TopicPartition(TOPIC, PARTITION)])
    assert events == []


def test_rounds_of_one_partition_closed_by_one_batch_are_committed_as_one(monkeypatch):
    task, events = make_task(monkeypatch, committed=40)
    handle(task, [good(o) for o in range(40, 47)])
    assert events[0] == commit(40) and sorted(events[1:3]) == [("put", key(40)), ("put", key(43))]
    assert events[3:] == [commit(40), index(40), ("put_json", manifest(40)), commit(46), *WATERMARK_WRITE]
    document = task.storage.documents[manifest(40)]
    assert (document["start_offset"], document["commit_offset"], document["records"]) == (40, 46, 6)
    assert [f["first_offset"] for f in document["files"]] == [40, 43]
    assert (writer(task).committed, writer(task).state.count, task.stats.commits) == (46, 1, 1)


def test_partitions_closed_by_one_batch_share_one_ownership_check_and_one_commit(monkeypatch):
    task, events = make_task(monkeypatch, committed=40)
    task._on_assign(task.consumer, [TopicPartition(TOPIC, 3)])
    handle(task, [good(o, p) for p in (PARTITION, 3) for o in range(40, 43)])
    checks = [e for e in events if e[0] == "commit" and e[3] == 40]
    assert checks == [("commit", TOPIC, PARTITION, 40), ("commit", TOPIC, 3, 40)] * 2  # before files, manifests
    assert [e for e in events if e[0] == "commit" and e[3] == 43] == [("commit", TOPIC, PARTITION, 43),
                                                                     ("commit", TOPIC, 3, 43)]
    assert {e[1] for e in events if e[0] == "put_json" and "/ledger/" in e[1]} == {
        manifest(40), f"_sluice/s3-sink/ledger/{TOPIC}/00003/{40:020d}.json"}
    last_put = max(i for i, e in enumerate(events) if e[0] in ("put", "put_json") and "/watermarks/" not in e[1])
    assert events.index(("commit", TOPIC, PARTITION, 43)) > last_put  # offsets only after every upload


def gate_uploads(task) -> threading.Event:
    """Hold every PUT of a file until the returned event is set (a slow S3)."""
    release, put = threading.Event(), task.storage.put

    def held(key, body):
        assert release.wait(10), "the test never released the upload"
        put(key, body)

    task.storage.put = held
    return release


def test_the_next_batch_is_taken_while_a_commit_is_in_flight_and_applied_once_it_settles(monkeypatch):
    task, events = make_task(monkeypatch, committed=40)
    release = gate_uploads(task)
    task._handle([good(40), good(41), good(42)])  # closes a round: its upload waits for S3
    task._handle([good(43), good(44)])  # returns with the round still in flight
    assert (writer(task).next_offset, writer(task).state.count, writer(task).committed) == (45, 2, 40)
    assert commit(43) not in events
    release.set()
    task._settle()
    assert events == [commit(40), ("put", key(40)), commit(40), index(40), ("put_json", manifest(40)), commit(43),
                      *WATERMARK_WRITE]
    assert (writer(task).committed, writer(task).state.count, task.committer.in_flight) == (43, 2, None)


def test_a_commit_waits_for_the_one_in_flight_so_rounds_commit_in_order(monkeypatch):
    task, events = make_task(monkeypatch, committed=40)
    release = gate_uploads(task)
    task._handle([good(40), good(41), good(42)])
    threading.Timer(0.2, release.set).start()
    task._handle([good(43), good(44), good(45)])  # its round is sent only after the first one settled
    task._settle()
    # each round: the ownership check before and after its uploads, then its offset
    assert [e for e in events if e[0] == "commit"] == [commit(40), commit(40), commit(43), commit(43), commit(43),
                                                       commit(46)]
    assert task.storage.documents[manifest(43)]["start_offset"] == 43  # follows the first round's commit


def test_a_commit_failing_after_its_files_uploaded_is_raised_when_it_settles_and_the_task_rewinds(monkeypatch):
    task, events = make_task(monkeypatch, committed=40)
    task._guarded(task._handle, [good(40), good(41), good(42)])  # checked, its file uploading: not failed yet
    task.consumer.fail_commits = True  # the group moves on: the check after the upload is refused
    task._guarded(task._handle, [good(43)])
    assert task.rewind_needed is False
    task._guarded(task._settle)
    assert (task.rewind_needed, task.writers, task.stats.rewinds) == (True, {}, 1)
    assert events == [commit(40), ("put", key(40))]  # no manifest, no offset


def test_revoke_settles_the_commit_in_flight_then_hands_over_the_open_files(monkeypatch):
    task, events = make_task(monkeypatch, committed=40)
    release = gate_uploads(task)
    task._handle([good(40), good(41), good(42)])
    task._handle([good(43)])
    threading.Timer(0.2, release.set).start()
    task._on_revoke(task.consumer, [TopicPartition(TOPIC, PARTITION)])
    assert [e for e in events if e[0] == "commit"] == [commit(40), commit(40), commit(43), commit(43), commit(43),
                                                       commit(44)]
    assert (task.committer.in_flight, task.writers) == (None, {})


@pytest.mark.parametrize(("overrides", "liveness"), [
    ({}, {"session.timeout.ms": 10_000, "heartbeat.interval.ms": 2_000}),
    ({"consumer.override.session.timeout.ms": "30000"},
     {"session.timeout.ms": "30000", "heartbeat.interval.ms": 2_000}),
    ({"consumer.override.group.protocol": "consumer"}, {}),  # KIP-848: the broker's to set, refused by the client
])
def test_consumer_settings_leave_the_group_protocol_to_the_overrides(monkeypatch, overrides, liveness):
    built = []
    monkeypatch.setattr(task_module, "Consumer", lambda settings: built.append(settings) or FakeConsumer([]))
    monkeypatch.setattr(task_module, "Storage", lambda *args, **kwargs: FakeStorage([]))
    document = {"name": "s3-sink", "config": {"topics": TOPIC, "s3.bucket.name": "data-lake", "flush.size": "3",
                                              **overrides}}
    SinkTask(parse_sink_config(document, CONN), 0, threading.Event())
    assert {k: built[0][k] for k in ("session.timeout.ms", "heartbeat.interval.ms") if k in built[0]} == liveness
    assert built[0].get("group.protocol") == overrides.get("consumer.override.group.protocol")
    assert built[0]["fetch.queue.backoff.ms"] == 10 and built[0]["enable.auto.commit"] is False
