import threading
import time

import pytest
from confluent_kafka import TopicPartition

import ingest.sink.dlq as dlq_module
from ingest.errors import CommitFailed
from ingest.sink.dlq import RECORD_OVERHEAD, TRUNCATED_HEADER, DeadLetterQueue, fit


def test_a_letter_within_the_limit_is_kept_whole():
    headers = [("__connect.errors.topic", b"events")]
    assert fit(b"k", b"x" * 100, headers, 10_000) == (b"x" * 100, headers)


def test_a_letter_over_the_limit_is_cut_to_fit_and_says_how_large_it_was():
    headers = [("__connect.errors.topic", b"events")]
    value, out = fit(b"k", b"x" * 100_000, headers, 20_000)
    assert out == headers + [(TRUNCATED_HEADER, b"100000")]
    size = 1 + len(value) + sum(len(k) + len(v) for k, v in out) + RECORD_OVERHEAD
    assert 0 < len(value) < 20_000 and size <= 20_000


def test_a_tombstone_is_never_cut():
    assert fit(b"k", None, [], 10) == (None, [])


class HangingProducer:
    """send_offsets_to_transaction waits past its timeout, as librdkafka's does for a stale group coordinator."""

    def __init__(self):
        self.release = threading.Event()
        self.calls: list[str] = []

    def begin_transaction(self):
        self.calls.append("begin")

    def send_offsets_to_transaction(self, offsets, metadata, timeout):
        self.calls.append("send_offsets")
        self.release.wait(30)

    def commit_transaction(self, timeout):
        self.calls.append("commit")


def test_a_transaction_stuck_past_its_timeout_fails_the_round_and_gives_up_the_producer(monkeypatch):
    monkeypatch.setattr(dlq_module, "SEND_OFFSETS_GRACE_S", 0.1)
    dlq = object.__new__(DeadLetterQueue)  # no broker: the producer is the fake
    dlq.topic, hanging = "dlq", HangingProducer()
    dlq.producer = hanging
    began = time.monotonic()
    with pytest.raises(CommitFailed, match="timed out"):
        dlq.commit([], [TopicPartition("events", 0, 10)], group_metadata=None, timeout=0.2)
    hanging.release.set()

    assert time.monotonic() - began < 5
    assert hanging.calls == ["begin", "send_offsets"]  # never committed
    assert dlq.producer is None  # the next round's producer fences this one
