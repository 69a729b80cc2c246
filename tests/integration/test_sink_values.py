"""Strict values through the real sink: zone-less times read in the connector's timezone whatever the host's
zone, and non-finite, too-big or out-of-range numbers dead-lettered with their reason."""

import json
import os
import subprocess

import pytest
from confluent_kafka import Consumer, Producer

from ingest.clients import ensure_topic, kafka_config
from ingest.config import DEFAULT_SCHEMA
from support.sink import SLUICE, object_keys, sink_config

EVENT_ID = "0b6c8f43-2c8f-4f22-9f0a-2d1a0e5e{:04x}"
KAFKA_TS = 1_705_309_200_000  # 2024-01-15T09:00:00Z; the record time comes from event_time


def event(n: int, event_time: str, **fields) -> bytes:
    body = {"event_id": EVENT_ID.format(n), "event_type": "checkout", "event_time": event_time, "payload": {"n": n}}
    return json.dumps(body | fields).encode()


def produce_raw(connections, topic: str, values: list[bytes]) -> None:
    """The values on partition 0 of a new one-partition topic, in order (offset = index)."""
    ensure_topic(connections, topic, 1)
    producer = Producer(kafka_config(connections, acks="all"))
    for i, v in enumerate(values):
        producer.produce(topic, key=f"k{i}".encode(), value=v, partition=0, timestamp=KAFKA_TS)
    assert producer.flush(30) == 0


def run_sink_in_zone(config, zone: str) -> subprocess.CompletedProcess:
    """`sluice sink` until idle, in a process whose host time zone is `zone` (TZ)."""
    try:
        result = subprocess.run(
            [SLUICE, "sink", "--config", str(config), "--create-bucket", "--exit-at-end"],
            env={**os.environ, "TZ": zone}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=90,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"sink (TZ={zone}) did not finish within 90s:\n{exc.stdout}")
    assert result.returncode == 0, result.stdout
    return result


def test_zone_less_times_give_the_same_keys_and_rows_whatever_the_hosts_zone(tmp_path, connections, s3, lake, names):
    topic = names["topic"]
    # zone-less times across three UTC hours; read in Asia/Kolkata (+05:30) they would fall 5.5 hours earlier
    times = [f"2024-01-15T{h:02d}:{m:02d}:00" for h in (9, 10, 11) for m in (5, 35, 55)]
    produce_raw(connections, topic, [event(i, t, amount=i + 0.5) for i, t in enumerate(times)])

    got = {}
    for zone in ("Asia/Kolkata", "UTC"):
        bucket = f"{names['bucket']}-{zone.split('/')[-1].lower()}"
        config = sink_config(tmp_path, f"{names['name']}-{zone.split('/')[-1].lower()}", topics=topic, **{
            "s3.bucket.name": bucket, "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
            "flush.size": "100", "rotate.interval.ms": "3600000",
        })
        run_sink_in_zone(config, zone)
        rows = lake.sql(f"""
            select _kafka_offset, event_id, epoch_ms(event_time), amount
            from read_parquet('s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet') order by 1""").fetchall()
        got[zone] = (object_keys(s3, bucket, "topics/"), rows)

    assert got["Asia/Kolkata"] == got["UTC"]
    keys, rows = got["UTC"]
    assert keys == [f"topics/{topic}/year=2024/month=01/day=15/hour={h}/{topic}+0+{o:010d}.snappy.parquet"
                    for h, o in (("09", 0), ("10", 3), ("11", 6))]
    hour_ms = 3_600_000
    assert [t for _, _, t, _ in rows] == [
        KAFKA_TS + (h - 9) * hour_ms + m * 60_000 for h in (9, 10, 11) for m in (5, 35, 55)
    ]


def test_non_finite_too_big_and_out_of_range_numbers_reach_the_dlq_with_their_reason(
    tmp_path, connections, lake, names
):
    topic, dlq = names["topic"], names["dlq"]
    schema = json.loads(DEFAULT_SCHEMA.read_text())
    schema["properties"]["quantity"] = {"type": "integer"}
    schema_file = tmp_path / "events.schema.json"
    schema_file.write_text(json.dumps(schema))
    base = event(0, "2024-01-15T10:00:00Z").decode()[:-1]
    literals = [  # (the value's extra fields as JSON text, the reason or None for a good value)
        ('"amount": NaN', "field amount is not a finite number: NaN"),
        ('"amount": 1e999', "field amount is not a finite number: 1e999"),
        ('"amount": -Infinity', "field amount is not a finite number: -Infinity"),
        ('"amount": 1e16', "field amount is above its maximum 1000000000: 10000000000000000.0"),
        (f'"amount": {2**70}', "field amount is above its maximum 1000000000: 1180591620717411303424"),
        (f'"quantity": {2**70}', "field quantity is outside the int64 range: 1180591620717411303424"),
        ('"quantity": NaN', "field quantity is not a finite number: NaN"),
        ('"amount": 1000000000, "quantity": 9223372036854775807', None),
        ('"amount": -1000000000, "quantity": -9223372036854775808', None),
    ]
    produce_raw(connections, topic, [f"{base}, {extra}}}".encode() for extra, _ in literals])
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": names["bucket"], "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.context.headers.enable": "true", "sluice.schema.file": str(schema_file),
    })

    run_sink_in_zone(config, "UTC")

    expected = {offset: reason for offset, (_, reason) in enumerate(literals) if reason is not None}
    consumer = Consumer(kafka_config(connections, **{"group.id": f"{dlq}-reader", "auto.offset.reset": "earliest"}))
    consumer.subscribe([dlq])
    letters = []
    try:
        for _ in range(60):
            letters += [m for m in consumer.consume(100, timeout=0.5) if m.error() is None]
            if len(letters) >= len(expected):
                break
    finally:
        consumer.close()
    reasons = {}
    for m in letters:
        headers = {k: v.decode() for k, v in m.headers()}
        reasons[int(headers["__connect.errors.offset"])] = headers["__connect.errors.exception.message"]
        assert headers["__connect.errors.exception.class.name"] == "org.apache.kafka.connect.errors.DataException"
    assert reasons == expected
    rows = lake.sql(f"""select _kafka_offset, amount, quantity
        from read_parquet('s3://{names['bucket']}/topics/{topic}/*/*/*/*/*.parquet') order by 1""").fetchall()
    assert rows == [(7, 1e9, 2**63 - 1), (8, -1e9, -(2**63))]
