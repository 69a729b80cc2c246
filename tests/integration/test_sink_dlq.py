"""Bad records: each kind to the DLQ with Kafka Connect's context headers, or a stop with errors.tolerance=none."""

import pytest

from ingest.produce import BAD_KINDS
from support.sink import committed, produce_events, read_all, run_sink, sink_config

REASONS = {
    "not_json": "value is not valid JSON",
    "missing_field": "missing required field",
    "wrong_type": "must be a string, got",
    "bad_timestamp": "is not an ISO 8601 time",
    "out_of_range_timestamp": "is out of range",
    "null_value": "null value (tombstone)",
}


def test_each_kind_of_bad_record_reaches_the_dlq_unchanged_with_context_headers(tmp_path, connections, lake, names):
    topic, dlq = names["topic"], names["dlq"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": names["bucket"], "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.context.headers.enable": "true",
    })
    deliveries = produce_events(connections, topic, 2000, partitions=2, bad_ratio=0.1, seed=3)
    bad = {(p, o): kind for p, o, kind in deliveries if kind != "good"}
    assert set(bad.values()) == set(BAD_KINDS)

    result = run_sink(config)
    assert result.returncode == 0, result.stdout

    letters = read_all(connections, dlq, len(bad))
    assert len(letters) == len(bad)
    seen_kinds = set()
    for m in letters:
        h = {k: v.decode() for k, v in m.headers()}
        where = (int(h["__connect.errors.partition"]), int(h["__connect.errors.offset"]))
        kind = bad[where]
        seen_kinds.add(kind)
        assert h["__connect.errors.topic"] == topic
        assert REASONS[kind] in h["__connect.errors.exception.message"], (kind, h)
        assert h["__connect.errors.exception.class.name"].startswith("org.apache.kafka.connect.errors.")
        assert h["__connect.errors.connector.name"] == names["name"]
        assert (m.value() is None) == (kind == "null_value")
    assert seen_kinds == set(BAD_KINDS)

    good = {(p, o) for p, o, kind in deliveries if kind == "good"}
    rows = lake.sql(f"select _kafka_partition, _kafka_offset from "
                    f"read_parquet('s3://{names['bucket']}/topics/{topic}/*/*/*/*/*.parquet')").fetchall()
    assert sorted(rows) == sorted(good)
    assert committed(connections, f"connect-{names['name']}", topic, 2) == [
        1 + max(o for p, o, _ in deliveries if p == part) for part in (0, 1)
    ]
    assert f"dead_lettered={len(bad)}" in result.stdout


@pytest.mark.parametrize("value_format", ["json", "avro"])
def test_tolerance_none_stops_at_the_first_bad_record_and_commits_nothing_past_it(
    tmp_path, connections, lake, names, value_format, request
):
    topic = names["topic"]
    avro = {"value.converter": "io.confluent.connect.avro.AvroConverter"} if value_format == "avro" else {}
    if avro:
        request.getfixturevalue("registry")  # the stack's registry answers
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": names["bucket"], "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "tasks.max": "1", "flush.size": "20", **avro,
    })
    deliveries = produce_events(connections, topic, 300, partitions=1, bad_ratio=0.02, seed=11,
                                value_format=value_format)
    first_bad = min(o for _, o, kind in deliveries if kind != "good")

    result = run_sink(config)

    assert result.returncode == 1
    assert f"bad record at {topic}[0]@{first_bad}" in result.stdout
    assert "errors.tolerance=none" in result.stdout
    [offset] = committed(connections, f"connect-{names['name']}", topic, 1)
    assert offset <= first_bad
    rows = lake.sql(f"select max(_kafka_offset), count(*) from "
                    f"read_parquet('s3://{names['bucket']}/topics/{topic}/*/*/*/*/*.parquet')").fetchone()
    assert rows[0] < first_bad and rows[1] == offset


def produce_raw(connections, topic: str, values: list[bytes]) -> None:
    from confluent_kafka import Producer

    from ingest.clients import ensure_topic, kafka_config

    ensure_topic(connections, topic, 1)
    producer = Producer(kafka_config(connections, **{"message.max.bytes": 1_000_000}))
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(30) == 0


def dlq_sink_config(tmp_path, names):
    return sink_config(tmp_path, names["name"], topics=names["topic"], **{
        "s3.bucket.name": names["bucket"], "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": names["dlq"],
        "errors.deadletterqueue.context.headers.enable": "true",
    })


def test_a_bad_record_near_kafkas_size_limit_reaches_the_dlq_whole(tmp_path, connections, names):
    """Its value plus the error headers exceed 1 MB: the DLQ topic the sink creates takes 8 MiB records."""
    huge = b"{" + b"x" * 990_000  # not JSON
    produce_raw(connections, names["topic"], [huge])

    result = run_sink(dlq_sink_config(tmp_path, names))

    assert result.returncode == 0, result.stdout[-3000:]
    [letter] = read_all(connections, names["dlq"], 1)
    assert letter.value() == huge
    assert "__sluice.errors.value.truncated" not in dict(letter.headers())


def test_a_dead_letter_too_large_for_an_existing_dlq_is_truncated_and_says_so(tmp_path, connections, names):
    from ingest.clients import ensure_topic

    ensure_topic(connections, names["dlq"], 1, config={"max.message.bytes": "65536"})
    produce_raw(connections, names["topic"], [b"{" + b"x" * 200_000, b"{small"])

    result = run_sink(dlq_sink_config(tmp_path, names))

    assert result.returncode == 0, result.stdout[-3000:]
    letters = sorted(read_all(connections, names["dlq"], 2), key=lambda m: m.offset())
    headers = [dict(m.headers()) for m in letters]
    assert headers[0]["__sluice.errors.value.truncated"] == b"200001"
    assert 0 < len(letters[0].value()) < 65_536 and letters[0].value() == b"{" + b"x" * (len(letters[0].value()) - 1)
    assert "__sluice.errors.value.truncated" not in headers[1] and letters[1].value() == b"{small"
