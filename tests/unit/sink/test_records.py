"""RecordConverter.convert_many: the partitions of one consumed batch decoded together, then split again."""

import json

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, Message

from ingest.config import DEFAULT_SCHEMA, parse_sink_config
from ingest.connections import REPO_ROOT, Connections
from ingest.schema import load_schema
from ingest.sink.records import RecordConverter

CONN = Connections.from_env({}, env_file=REPO_ROOT / "no-such-env-file")
TIME_MS = 1_705_312_800_000  # 2024-01-15T10:00:00Z


def converter(**settings: str) -> RecordConverter:
    config = parse_sink_config({"name": "s3-sink", "config": {
        "topics": "events", "s3.bucket.name": "lake", "flush.size": "100", "timezone": "UTC", "locale": "en-US",
        "partitioner.class": "io.confluent.connect.storage.partitioner.HourlyPartitioner",
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time", **settings}}, CONN)
    return RecordConverter(config, load_schema(DEFAULT_SCHEMA), lambda: 0)


def good(n: int) -> bytes:
    return json.dumps({"event_id": f"00000000-0000-4000-8000-{n:012d}", "event_type": f"t{n}",
                       "event_time": "2024-01-15T10:00:00Z", "payload": {"n": n}}).encode()


def message(value: bytes | None, offset: int, key: bytes) -> Message:
    return Message(value=value, offset=offset, timestamp=(TIMESTAMP_CREATE_TIME, TIME_MS), key=key)


def messages(values: list[bytes | None], first_offset: int) -> list[Message]:
    return [message(v, first_offset + i, b"k%d" % i) for i, v in enumerate(values)]


@pytest.mark.parametrize("nulls", ["ignore", "fail"])
def test_each_partition_gets_its_own_rows_bad_records_and_end_offset(nulls):
    groups = {
        ("events", 0): messages([good(1), b"{oops", good(2), None], 10),
        ("events", 1): messages([None, b"[1]", good(3)], 500),
        ("other", 0): messages([good(4)], 0),
        ("events", 2): messages([b"{}"], 7),
    }
    batches = converter(**{"behavior.on.null.values": nulls}).convert_many(groups)
    assert list(batches) == list(groups)
    got = {key: (b.rows["event_type"].to_pylist(), b.offsets.tolist(), b.rows["_kafka_offset"].to_pylist(),
                 [(m.message.offset(), m.reason[:22]) for m in b.bad], b.end_offset, b.ignored, b.topic,
                 b.partition, b.rows["_kafka_key"].to_pylist())
           for key, b in batches.items()}
    tombstone = "null value (tombstone)"
    assert got == {
        ("events", 0): (["t1", "t2"], [10, 12], [10, 12], [(11, "value is not valid JSO")] + (
            [(13, tombstone)] if nulls == "fail" else []), 14, int(nulls == "ignore"), "events", 0, [b"k0", b"k2"]),
        ("events", 1): (["t3"], [502], [502], ([(500, tombstone)] if nulls == "fail" else []) + [
            (501, "value is a JSON array,")], 503, int(nulls == "ignore"), "events", 1, [b"k2"]),
        ("other", 0): (["t4"], [0], [0], [], 1, 0, "other", 0, [b"k0"]),
        ("events", 2): ([], [], [], [(7, "missing required field")], 8, 0, "events", 2, []),
    }


def test_one_partition_alone_converts_as_before():
    batch = converter().convert("events", 3, messages([good(5), good(6)], 40))
    assert (batch.rows["event_type"].to_pylist(), batch.offsets.tolist(), batch.end_offset) == (["t5", "t6"],
                                                                                              [40, 41], 42)
    assert batch.encodings == ["year=2024/month=01/day=15/hour=10"]


def test_offsets_with_gaps_are_read_from_each_message():
    # a compacted topic or transaction markers leave gaps; an ignored null in the middle leaves one too
    gaps = [message(good(1), 10, b"a"), message(good(2), 12, b"b"), message(b"{oops", 13, b"c"),
            message(good(3), 17, b"d")]
    nulls = messages([good(4), None, good(5)], 30)
    batches = converter(**{"behavior.on.null.values": "ignore"}).convert_many({("events", 0): gaps,
                                                                               ("events", 1): nulls})
    assert batches[("events", 0)].offsets.tolist() == [10, 12, 17]
    assert batches[("events", 0)].rows["_kafka_offset"].to_pylist() == [10, 12, 17]
    assert [b.message.offset() for b in batches[("events", 0)].bad] == [13]
    assert batches[("events", 1)].offsets.tolist() == [30, 32]
