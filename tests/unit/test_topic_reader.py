"""read_to_end's stop rule against a fake consumer: a partition log of records and transaction markers."""

from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError, TopicPartition

from ingest import topic_reader
from ingest.connections import Connections
from ingest.topic_reader import read_to_end, watermarks

MARKER = None  # a transaction marker: takes an offset, never handed out


class Record:
    def __init__(self, partition: int, offset: int, error=None):
        self._partition, self._offset, self._error = partition, offset, error

    def error(self):
        return self._error

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset


class FakeConsumer:
    """`logs[p]` holds each offset's entry from the low watermark on (a Record or MARKER); `highs` overrides the
    high watermark it reports (records past it were written after the snapshot). Fetches skip markers, as librdkafka
    does, and move the position past them."""

    def __init__(self, logs: dict[int, list], lows: dict[int, int] | None = None, highs: dict[int, int] | None = None,
                 topic: str = "t", stuck: bool = False):
        self.logs, self.lows, self.topic, self.stuck = logs, lows or {}, topic, stuck
        self.highs = highs or {}
        self.assigned: list[TopicPartition] | None = None
        self.positions: dict[int, int] = {}
        self.next: dict[int, int] = {}  # partition -> the offset the next fetch starts at
        self.closed = False
        self.config = None

    def _low(self, p: int) -> int:
        return self.lows.get(p, 0)

    def list_topics(self, topic, timeout):
        found = {self.topic: SimpleNamespace(error=None, partitions=dict.fromkeys(self.logs))}
        return SimpleNamespace(topics=found)

    def get_watermark_offsets(self, tp, timeout, cached):
        assert cached is False  # a snapshot from the broker, not what the client last saw
        low = self._low(tp.partition)
        return low, self.highs.get(tp.partition, low + len(self.logs[tp.partition]))

    def assign(self, partitions):
        self.assigned = [(tp.partition, tp.offset) for tp in partitions]
        self.positions = {tp.partition: -1001 for tp in partitions}  # OFFSET_INVALID until a fetch
        self.next = {tp.partition: tp.offset for tp in partitions}

    def consume(self, num_messages, timeout):
        out = []
        for p in sorted(self.next):
            if self.stuck:
                break
            log, low = self.logs[p], self._low(p)
            while self.next[p] - low < len(log) and len(out) < num_messages:
                entry = log[self.next[p] - low]
                self.next[p] += 1
                if entry is not MARKER:
                    out.append(entry)
            while self.next[p] - low < len(log) and log[self.next[p] - low] is MARKER:
                self.next[p] += 1
            self.positions[p] = self.next[p]
        return out

    def position(self, partitions):
        return [TopicPartition(self.topic, tp.partition, self.positions[tp.partition]) for tp in partitions]

    def close(self):
        self.closed = True


def records(p: int, offsets: range, markers: tuple[int, ...] = ()) -> list:
    return [MARKER if o in markers else Record(p, o) for o in offsets]


def read(consumer, **kwargs) -> list[tuple[int, int]]:
    return [(m.partition(), m.offset()) for b in read_to_end(consumer, "t", **kwargs) for m in b]


def test_a_partition_ending_in_a_transaction_marker_is_done_when_the_position_passes_it():
    consumer = FakeConsumer({0: records(0, range(5), markers=(2, 4))})  # the last record is 3, the high 5
    assert read(consumer) == [(0, 0), (0, 1), (0, 3)]


def test_each_partition_is_read_from_its_low_watermark_not_from_zero():
    consumer = FakeConsumer({0: records(0, range(3, 6)), 1: records(1, range(0, 2))}, lows={0: 3})
    assert read(consumer) == [(0, 3), (0, 4), (0, 5), (1, 0), (1, 1)]
    assert consumer.assigned == [(0, 3), (1, 0)]


def test_a_start_is_honoured_and_partitions_with_nothing_to_read_are_not_assigned():
    consumer = FakeConsumer({0: records(0, range(4)), 1: records(1, range(3)), 2: []}, lows={})
    assert read(consumer, start={0: 2, 1: 3}) == [(0, 2), (0, 3)]
    assert consumer.assigned == [(0, 2)]


def test_a_start_below_the_low_watermark_reads_from_the_low_watermark():
    consumer = FakeConsumer({0: records(0, range(5, 7))}, lows={0: 5})
    assert read(consumer, start={0: 1}) == [(0, 5), (0, 6)]


def test_records_past_the_snapshot_and_error_events_are_left_out():
    log = records(0, range(4))
    log[1] = Record(0, 1, error=KafkaError(KafkaError._PARTITION_EOF))
    consumer = FakeConsumer({0: log}, highs={0: 3})  # offset 3 was written after the watermarks were taken
    assert read(consumer) == [(0, 0), (0, 2)]


def test_batches_are_at_most_batch_long_and_never_empty():
    consumer = FakeConsumer({0: records(0, range(5))})
    assert [len(b) for b in read_to_end(consumer, "t", batch=2)] == [2, 2, 1]


def test_progress_counts_offsets_markers_included():
    calls = []
    consumer = FakeConsumer({0: records(0, range(4), markers=(3,)), 1: records(1, range(2))})
    read(consumer, batch=2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 6), (5, 6), (6, 6)]  # 0:2, the marker 0:3 and 1:0 pass in the second call


def test_an_absent_topic_reads_as_empty_and_assigns_nothing():
    consumer = FakeConsumer({0: records(0, range(2))}, topic="other")
    assert read(consumer) == [] and consumer.assigned is None
    assert watermarks(consumer, "t") == {}


def test_a_topic_the_broker_does_not_know_reads_as_empty():
    consumer = FakeConsumer({})
    consumer.list_topics = lambda topic, timeout: SimpleNamespace(topics={"t": SimpleNamespace(
        error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART), partitions={})})
    assert read(consumer) == []


def test_past_the_timeout_it_raises_naming_the_topic_and_what_is_left():
    consumer = FakeConsumer({0: records(0, range(3)), 1: records(1, range(7))}, stuck=True)
    with pytest.raises(TimeoutError, match=r"topic t: not read to its end within 0.05 s; left: "
                                           r"partition 0 at 0 of 3, partition 1 at 0 of 7"):
        read(consumer, timeout=0.05)


def test_from_connections_it_reads_with_a_consumer_of_its_own_and_closes_it(monkeypatch, tmp_path):
    made = []

    def consumer(config):
        made.append(FakeConsumer({0: records(0, range(2), markers=(1,))}))
        made[-1].config = config
        return made[-1]

    monkeypatch.setattr(topic_reader, "Consumer", consumer)
    connections = Connections.from_env({"SLUICE_KAFKA_BOOTSTRAP": "127.0.0.1:1"}, env_file=tmp_path / "env")
    reading = read_to_end(connections, "t", isolation="read_uncommitted")
    assert made == []  # nothing happens before the first next()
    assert [(m.partition(), m.offset()) for b in reading for m in b] == [(0, 0)]
    [fake] = made
    assert fake.closed
    assert fake.config["group.id"].startswith("sluice-read-") and fake.config["enable.auto.commit"] is False
    assert (fake.config["isolation.level"], fake.config["bootstrap.servers"]) == ("read_uncommitted", "127.0.0.1:1")


def test_a_callers_consumer_is_assigned_and_left_open():
    consumer = FakeConsumer({0: records(0, range(2))})
    assert read(consumer) == [(0, 0), (0, 1)]
    assert consumer.assigned == [(0, 0)] and not consumer.closed
