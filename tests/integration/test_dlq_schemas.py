"""The DLQ job validates dead letters as their sink did: with the schema (and converter) the sink recorded in the
lake, against the real Kafka, S3 and schema registry."""

from __future__ import annotations

import json
import uuid
from collections import Counter

from confluent_kafka import Producer

from ingest.clients import ensure_topic, kafka_config
from ingest.config import DEFAULT_SCHEMA
from ingest.dlq.repairs import REPAIRS
from ingest.dlq.reprocess import reprocess_dlq
from ingest.lake.schemas import lake_schema
from ingest.ledger.keys import schema_key
from ingest.schema import load_schema
from support.dlq import CONNECT, GOOD, crafted, headers, highs, read_topic
from support.sink import run_sink, sink_config


def test_dead_letters_are_validated_with_the_schema_their_sink_recorded_in_the_lake(tmp_path, connections, s3,
                                                                                      names):
    source, dlq, bucket, sink = names["topic"], names["dlq"], names["bucket"], names["name"]
    document = json.loads(DEFAULT_SCHEMA.read_text())
    document["properties"]["amount"]["maximum"] = 100  # the team's own rule: 500 is fine by default, not here
    custom = tmp_path / "team.schema.json"
    custom.write_text(json.dumps(document))
    config = sink_config(tmp_path, sink, topics=source, **{
        "s3.bucket.name": bucket, "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.context.headers.enable": "true", "sluice.schema.file": str(custom),
    })
    ensure_topic(connections, source, 1)
    s3.create_bucket(Bucket=bucket)
    assert lake_schema(s3, bucket, sink, source) is None
    producer = Producer(kafka_config(connections, acks="all"))
    for n, amount in enumerate([500, 50, 500, 50, 500]):
        producer.produce(source, key=f"k{n}".encode(), value=crafted(amount=amount))
    assert producer.flush(30) == 0

    assert run_sink(config).returncode == 0

    recorded = s3.get_object(Bucket=bucket, Key=schema_key(sink, source))["Body"].read()
    assert recorded == custom.read_bytes()
    assert lake_schema(s3, bucket, sink, source) == load_schema(custom) != load_schema(DEFAULT_SCHEMA)
    reasons = [headers(m)[CONNECT + "exception.message"] for m in read_topic(connections, dlq)]
    assert len(reasons) == 3 and "maximum" in reasons[0]
    result = reprocess_dlq(connections, dlq, group_id=sink + "-reprocess", repairs=list(REPAIRS),
                           parking_topic=source + "-parked", audit_bucket=bucket, connector=sink)
    assert (result.read, result.replayed, result.parked) == (3, 0, 3)
    assert result.reasons == Counter(reasons)

    # a connector that recorded no schema: `schema_file` (the default schema) decides, and lets them through
    fallback = reprocess_dlq(connections, dlq, group_id=sink + "-fallback", repairs=[], audit_bucket=bucket,
                             parking_topic=source + "-parked", connector=sink + "-other")
    assert (fallback.read, fallback.replayed, fallback.parked) == (3, 3, 0)


def test_avro_dead_letters_are_read_in_the_wire_format_and_replayed_as_they_are_once_the_rule_allows(
        tmp_path, connections, lake, s3, names, registry):
    """An Avro sink whose .avsc caps amount at 100 dead-letters 500s; the DLQ job reads them as Avro (the sink
    recorded its converter), parks them with the sink's reason while the rule stands, and once the sink runs with a
    raised cap it replays the same bytes, which the sink then lands."""
    from ingest.avro_events import DEFAULT_AVRO_SCHEMA, encoder, register
    from ingest.schema_document import CONVERTER_KEY

    source, dlq, bucket, sink = names["topic"], names["dlq"], names["bucket"], names["name"]

    def avsc(cap: int):
        document = json.loads(DEFAULT_AVRO_SCHEMA.read_text())
        next(f for f in document["fields"] if f["name"] == "amount")["maximum"] = cap
        path = tmp_path / f"cap{cap}.avsc"
        path.write_text(json.dumps(document))
        return path

    def config(cap: int):
        return sink_config(tmp_path, sink, topics=source, **{
            "s3.bucket.name": bucket, "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
            "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
            "errors.deadletterqueue.context.headers.enable": "true", "sluice.schema.file": str(avsc(cap)),
            "value.converter": "io.confluent.connect.avro.AvroConverter"})

    ensure_topic(connections, source, 1)
    schema_id, document = register(connections, source)
    encode = encoder(schema_id, document)
    producer = Producer(kafka_config(connections, acks="all"))
    for n, amount in enumerate([500.0, 50.0, 500.0, 50.0, 500.0]):
        event = {**GOOD, "event_id": str(uuid.UUID(int=n + 1)), "amount": amount, "payload": {}}
        producer.produce(source, key=f"k{n}".encode(), value=encode(event))
    assert producer.flush(30) == 0

    assert run_sink(config(100)).returncode == 0
    recorded = json.loads(s3.get_object(Bucket=bucket, Key=schema_key(sink, source))["Body"].read())
    assert recorded[CONVERTER_KEY] == "avro"
    letters = read_topic(connections, dlq)
    reasons = [headers(m)[CONNECT + "exception.message"] for m in letters]
    assert len(reasons) == 3 and all("maximum" in r for r in reasons)

    held = reprocess_dlq(connections, dlq, group_id=sink + "-first", repairs=list(REPAIRS),
                         parking_topic=source + "-parked", audit_bucket=bucket, connector=sink)
    assert (held.read, held.replayed, held.parked) == (3, 0, 3)
    assert held.reasons == Counter(reasons)  # the sink's own reasons, not "not valid JSON"

    assert run_sink(config(1000)).returncode == 0  # the team raises the cap; the sink records the new rule
    before = highs(connections, source)
    replay = reprocess_dlq(connections, dlq, group_id=sink + "-second", repairs=list(REPAIRS),
                           parking_topic=source + "-parked", audit_bucket=bucket, connector=sink)
    assert (replay.read, replay.replayed, replay.parked) == (3, 3, 0)
    assert replay.rules == Counter({"none": 3})
    again = read_topic(connections, source, before)
    assert sorted(m.value() for m in again) == sorted(m.value() for m in letters)  # byte for byte: still Avro

    assert run_sink(config(1000)).returncode == 0
    amounts = lake.sql(f"select amount, count(*) from read_parquet('s3://{bucket}/topics/{source}/*/*/*/*/*.parquet')"
                       " group by 1 order by 1").fetchall()
    assert amounts == [(50.0, 2), (500.0, 3)]
