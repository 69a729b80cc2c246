"""Avro topics: `sluice produce --format avro` registers config/events.avsc and sends Confluent's wire format; the
sink with `value.converter=AvroConverter` writes the same lake rows as for the same events in JSON, dead-letters
what is not Avro of a known schema with why, reads an older schema version into the current one, and waits for a
registry that is down rather than dead-letter anything (test_registry_outage.py)."""

import json
import subprocess
import time

from ingest.avro_events import DEFAULT_AVRO_SCHEMA
from support.avro import AVRO, config_for
from support.sink import SLUICE, START_MS, produce_events, read_all, run_sink, sink_log, start_sink

REASONS = {
    "not_json": "unknown magic byte 123",
    "missing_field": "unknown schema id 2147483647",
    "wrong_type": "does not decode",
    "bad_timestamp": "is out of range",
    "out_of_range_timestamp": "is out of range",
    "null_value": "null value (tombstone)",
}
COLUMNS = "event_id, event_type, event_time, payload, user_id, session_id, source, user_agent, amount"


def rows(lake, bucket: str, topic: str) -> list[tuple]:
    return lake.sql(f"select {COLUMNS}, _kafka_partition, _kafka_offset from read_parquet("
                    f"'s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet') order by all").fetchall()


def test_an_avro_topic_lands_as_its_json_twin_and_bad_values_reach_the_dlq(tmp_path, connections, lake, names,
                                                                            registry):
    avro_topic, json_topic, bucket = names["topic"] + "-avro", names["topic"] + "-json", names["bucket"]
    produced = {fmt: produce_events(connections, topic, 3000, partitions=2, bad_ratio=0.05, seed=12,
                                    value_format=fmt)
                for fmt, topic in (("avro", avro_topic), ("json", json_topic))}
    assert [(p, o) for p, o, _ in produced["avro"]] == [(p, o) for p, o, _ in produced["json"]]

    latest = registry.get_latest_version(f"{avro_topic}-value")
    assert json.loads(latest.schema.schema_str)["name"] == json.loads(DEFAULT_AVRO_SCHEMA.read_text())["name"]

    for topic, extra in ((avro_topic, {"value.converter": AVRO}), (json_topic, {})):
        result = run_sink(config_for(tmp_path, names, topic, bucket, **extra))
        assert result.returncode == 0, result.stdout[-4000:]

    good = {(p, o) for p, o, kind in produced["avro"] if kind == "good"}
    avro_rows, json_rows = rows(lake, bucket, avro_topic), rows(lake, bucket, json_topic)
    assert {(r[-2], r[-1]) for r in avro_rows} == good
    # The JSON twin's malformed values differ (they are malformed the JSON way), its good ones are the same events.
    json_good = [r for r in json_rows if (r[-2], r[-1]) in good]
    assert avro_rows == json_good

    bad = {(p, o): kind for p, o, kind in produced["avro"] if kind != "good"}
    letters = [m for m in read_all(connections, names["dlq"], 2 * len(bad))
               if dict(m.headers())["__connect.errors.topic"].decode() == avro_topic]
    assert len(letters) == len(bad)
    for m in letters:
        h = {k: v.decode() for k, v in m.headers()}
        kind = bad[(int(h["__connect.errors.partition"]), int(h["__connect.errors.offset"]))]
        assert REASONS[kind] in h["__connect.errors.exception.message"], (kind, h)


def test_under_backward_an_older_version_mid_stream_is_read_into_the_current_one(tmp_path, connections, lake, names,
                                                                         registry):
    topic, bucket = names["topic"], names["bucket"]
    current = json.loads(DEFAULT_AVRO_SCHEMA.read_text())
    older = dict(current, fields=[f for f in current["fields"] if f["name"] not in ("user_agent", "amount")])
    older_file = tmp_path / "events-v1.avsc"
    older_file.write_text(json.dumps(older))
    # v1 first, then v2 (a BACKWARD-compatible evolution: new optional fields with defaults), on one topic
    first = produce_events(connections, topic, 500, partitions=1, seed=21, value_format="avro",
                           avro_schema=older_file)
    second = produce_events(connections, topic, 500, partitions=1, seed=22, value_format="avro",
                            start_ms=START_MS + 3 * 3_600_000)
    assert len(registry.get_versions(f"{topic}-value")) == 2

    result = run_sink(config_for(tmp_path, names, topic, bucket, **{"value.converter": AVRO,
                                                                     "schema.compatibility": "BACKWARD"}))
    assert result.returncode == 0, result.stdout[-4000:]
    got = lake.sql(f"select _kafka_offset, user_agent is null, amount is null from read_parquet("
                   f"'s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet') order by 1").fetchall()
    assert [o for o, _, _ in got] == [o for _, o, _ in first + second]
    assert all(no_ua and no_amount for o, no_ua, no_amount in got if o < len(first))
    assert not any(no_ua for o, no_ua, _ in got if o >= len(first))


def test_sluice_produce_avro_from_the_command_line(connections, names, registry):
    out = subprocess.run([SLUICE, "produce", "--topic", names["topic"], "--count", "50", "--format", "avro",
                          "--quiet"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["total"] == 50
    assert registry.get_latest_version(f"{names['topic']}-value").version == 1


def test_a_topic_of_any_registered_schema_lands_with_that_schemas_columns(tmp_path, connections, lake, names,
                                                                           registry):
    """Values made by confluent-kafka's own AvroSerializer, of a schema that is not Sluice's: the Parquet columns
    come from the registered schema (no sluice.schema.file), logical types included."""
    import datetime as dt
    import uuid

    from confluent_kafka import Producer
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from ingest.clients import ensure_topic, kafka_config

    topic, bucket = names["topic"], names["bucket"]
    order = {"type": "record", "name": "Order", "namespace": "shop", "fields": [
        {"name": "order_id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "placed_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "quantity", "type": "int"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "ship_on", "type": {"type": "int", "logicalType": "date"}},
        {"name": "cutoff", "type": ["null", {"type": "int", "logicalType": "time-millis"}], "default": None}]}
    serialize = AvroSerializer(registry, json.dumps(order))
    ensure_topic(connections, topic, 1)
    producer = Producer(kafka_config(connections))
    base = dt.datetime(2024, 1, 15, 10, 0, tzinfo=dt.UTC)
    sent = [{"order_id": str(uuid.UUID(int=i + 1)), "placed_at": base + dt.timedelta(minutes=i), "quantity": i,
             "note": None if i % 2 else f"n{i}", "ship_on": base.date() + dt.timedelta(days=i % 3),
             "cutoff": None if i % 3 else dt.time(17, i % 60, 0, 250_000)} for i in range(90)]
    for record in sent:
        producer.produce(topic, serialize(record, SerializationContext(topic, MessageField.VALUE)))
    assert producer.flush(30) == 0

    result = run_sink(config_for(tmp_path, names, topic, bucket, **{"value.converter": AVRO,
                                                                     "timestamp.field": "placed_at"}))
    assert result.returncode == 0, result.stdout[-4000:]
    assert "reader schema: subject" in result.stdout
    files = f"s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet"
    columns = lake.sql(f"describe select * exclude (_kafka_topic, _kafka_partition, _kafka_offset, _kafka_timestamp, "
                       f"_kafka_key) from read_parquet('{files}', hive_partitioning=false)").fetchall()
    assert [(c[0], c[1]) for c in columns] == [("order_id", "VARCHAR"), ("placed_at", "TIMESTAMP WITH TIME ZONE"),
                                               ("quantity", "BIGINT"), ("note", "VARCHAR"), ("ship_on", "DATE"),
                                               ("cutoff", "TIME")]
    got = lake.sql(f"select order_id, placed_at, quantity, note, ship_on, cutoff from read_parquet('{files}') "
                   "order by quantity")
    assert got.fetchall() == [(r["order_id"], r["placed_at"], r["quantity"], r["note"], r["ship_on"], r["cutoff"])
                              for r in sent]
    hours = lake.sql(f"select distinct regexp_extract(filename, 'hour=(\\d+)', 1) from read_parquet('{files}', "
                     "filename=true) order by 1").fetchall()
    assert hours == [("10",), ("11",)]  # 90 minutes from 10:00: filed by placed_at


def test_a_new_version_registered_mid_stream_closes_the_files_and_adds_its_columns(tmp_path, connections, lake,
                                                                                   names, registry, s3):
    """As Confluent's connector under BACKWARD: the sink starts on v1 (the subject's latest), v2 (new optional
    fields with defaults) is registered while it runs; files of v1 rows close and later files have v2's columns."""
    topic, bucket = names["topic"], names["bucket"]
    current = json.loads(DEFAULT_AVRO_SCHEMA.read_text())
    older_file = tmp_path / "events-v1.avsc"
    older_file.write_text(json.dumps(dict(current, fields=[f for f in current["fields"]
                                                           if f["name"] not in ("user_agent", "amount")])))
    first = produce_events(connections, topic, 400, partitions=1, seed=41, value_format="avro",
                           avro_schema=older_file)
    sink = start_sink(config_for(tmp_path, names, topic, bucket, **{"value.converter": AVRO,
                                                                     "schema.compatibility": "BACKWARD"}),
                      "--exit-when-idle", "6", log=tmp_path / "sink.log")
    deadline = time.monotonic() + 60
    while "good=400 " not in sink_log(sink) and time.monotonic() < deadline:  # v1 consumed, maybe not all written
        time.sleep(0.5)
    second = produce_events(connections, topic, 400, partitions=1, seed=42, value_format="avro",
                            start_ms=START_MS + 3 * 3_600_000)
    assert sink.wait(timeout=120) == 0, sink_log(sink)[-3000:]
    assert "becomes the reader schema (schema.compatibility=BACKWARD)" in sink_log(sink)
    from ingest.lake.schemas import lake_schema  # the DLQ job validates with the schema the sink moved to

    recorded = lake_schema(s3, bucket, f"{names['name']}-{topic[-4:]}", topic)
    assert recorded is not None and recorded.field("amount") is not None

    files = [key for key in lake.sql(f"select file from glob('s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet')")
             .fetchall()]
    columns = {key: {c for (c,) in lake.sql(f"select name from parquet_schema('{key}')").fetchall()}
               for (key,) in files}
    with_amount = {k for k, c in columns.items() if "amount" in c}
    assert with_amount and len(with_amount) < len(columns)
    got = lake.sql(f"select _kafka_offset, amount is null from read_parquet('s3://{bucket}/topics/{topic}/*/*/*/*/"
                   "*.parquet', union_by_name=true, hive_partitioning=false) order by 1").fetchall()
    assert [o for o, _ in got] == [o for _, o, _ in first + second]
    v1_rows = {o for _, o, _ in first}
    for key in set(columns) - with_amount:  # a v1 file holds v1 rows only
        offsets = {o for (o,) in lake.sql(f"select _kafka_offset from read_parquet('{key}')").fetchall()}
        assert offsets <= v1_rows


def test_under_none_as_confluents_default_each_file_holds_one_writer_schema_as_written(tmp_path, connections, lake,
                                                                                        names, registry):
    """Without schema.compatibility (NONE, as in Confluent's connector) nothing is projected: v1, v2, v1 again on
    one partition make files in v1's, v2's, v1's columns, each holding its own records."""
    topic, bucket = names["topic"], names["bucket"]
    current = json.loads(DEFAULT_AVRO_SCHEMA.read_text())
    older_file = tmp_path / "events-v1.avsc"
    older_file.write_text(json.dumps(dict(current, fields=[f for f in current["fields"]
                                                           if f["name"] not in ("user_agent", "amount")])))
    sent = []
    for seed, schema in ((51, older_file), (52, DEFAULT_AVRO_SCHEMA), (53, older_file)):
        sent.append({o for _, o, _ in produce_events(connections, topic, 300, partitions=1, seed=seed, hours=1,
                                                     value_format="avro", avro_schema=schema)})
    result = run_sink(config_for(tmp_path, names, topic, bucket, **{"value.converter": AVRO}))
    assert result.returncode == 0, result.stdout[-4000:]
    files = [f for (f,) in lake.sql(f"select file from glob('s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet')")
             .fetchall()]
    v1_offsets, v2_offsets = sent[0] | sent[2], sent[1]
    seen = []
    for key in files:
        columns = {c for (c,) in lake.sql(f"select name from parquet_schema('{key}')").fetchall()}
        offsets = {o for (o,) in lake.sql(f"select _kafka_offset from read_parquet('{key}')").fetchall()}
        assert offsets <= (v2_offsets if "amount" in columns else v1_offsets), key  # one writer schema a file
        assert ("user_agent" in columns) == ("amount" in columns)
        seen.extend(offsets)
    assert sorted(seen) == sorted(v1_offsets | v2_offsets)  # every record once
