"""A schema registry that is down while an Avro sink needs it (the sink waits, dead-letters nothing, commits nothing
past the values it cannot read): these stop the stack's registry, so they hold the stack alone."""

import json
import time

import pytest

from ingest.avro_events import DEFAULT_AVRO_SCHEMA
from ingest.produce import generate
from support.avro import AVRO, config_for
from support.faults import start_service, stop_service
from support.sink import START_MS, produce_events, sink_log, start_sink


@pytest.mark.disrupts_stack
def test_a_registry_that_is_down_is_waited_for_and_nothing_is_dead_lettered(tmp_path, connections, lake, names):
    topic, bucket = names["topic"], names["bucket"]
    deliveries = produce_events(connections, topic, 1000, partitions=1, seed=31, value_format="avro")
    config = config_for(tmp_path, names, topic, bucket, **{"value.converter": AVRO})
    stop_service("registry")
    try:
        sink = start_sink(config, "--exit-when-idle", "3", log=tmp_path / "sink.log")
        time.sleep(8)  # it has the records and asks the registry for their schema: no answer
        assert sink.poll() is None, sink_log(sink)[-3000:]
    finally:
        start_service("registry")
    assert sink.wait(timeout=120) == 0, sink_log(sink)[-3000:]
    out = sink_log(sink)
    assert "schema registry:" in out and "asking again" in out
    final = [line for line in out.splitlines() if "final:" in line][-1]
    assert " dead_lettered=0 " in final and " dropped=0 " in final, final
    got = lake.sql(f"select _kafka_offset from read_parquet('s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet') "
                   "order by 1").fetchall()
    assert [o for (o,) in got] == [o for _, o, _ in deliveries]


@pytest.mark.disrupts_stack
def test_a_new_schema_id_while_the_registry_is_down_makes_the_running_task_wait_not_drop(tmp_path, connections, lake,
                                                                                         names, registry):
    """The sink runs on v1; v2 is registered, the registry stops, v2 values arrive: the task waits (nothing
    dead-lettered, nothing past them committed) until the registry is back, then writes them."""
    import signal

    from confluent_kafka import Producer

    from ingest.avro_events import encoder, register
    from ingest.clients import kafka_config

    topic, bucket = names["topic"], names["bucket"]
    current = json.loads(DEFAULT_AVRO_SCHEMA.read_text())
    older_file = tmp_path / "events-v1.avsc"
    older_file.write_text(json.dumps(dict(current, fields=[f for f in current["fields"] if f["name"] != "amount"])))
    first = produce_events(connections, topic, 200, partitions=1, seed=71, hours=1, value_format="avro",
                           avro_schema=older_file)
    sink = start_sink(config_for(tmp_path, names, topic, bucket, **{"value.converter": AVRO}),
                      log=tmp_path / "sink.log")
    try:
        deadline = time.monotonic() + 60
        while "good=200 " not in sink_log(sink) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "good=200 " in sink_log(sink), sink_log(sink)[-3000:]
        v2_id, v2 = register(connections, topic)
        stop_service("registry")
        try:
            producer = Producer(kafka_config(connections, acks="all"))
            encode = encoder(v2_id, v2)
            for event in generate(200, 1, START_MS + 3_600_000, seed=72):
                producer.produce(topic, value=encode(json.loads(event.value)))
            assert producer.flush(30) == 0
            deadline = time.monotonic() + 60
            while "waiting for it" not in sink_log(sink) and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(6)  # more backoff rounds: still waiting, nothing dropped, nothing more written
            out = sink_log(sink)
            assert sink.poll() is None and "waiting for it" in out, out[-3000:]
            progress = [line for line in out.splitlines() if "progress:" in line][-1]
            assert "good=400 " not in out and "dead_lettered=0 " in progress, out[-3000:]
        finally:
            start_service("registry")
        deadline = time.monotonic() + 90
        while "good=400 " not in sink_log(sink) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        sink.send_signal(signal.SIGTERM)
        code = sink.wait(timeout=60)
    out = sink_log(sink)
    assert code == 0, out[-3000:]
    final = [line for line in out.splitlines() if "final:" in line][-1]
    assert " good=400 " in final and " dead_lettered=0 " in final and " dropped=0 " in final, final
    got = lake.sql(f"select _kafka_offset, amount is not null from read_parquet('s3://{bucket}/topics/{topic}/*/*/*/*/"
                   "*.parquet', union_by_name=true, hive_partitioning=false) order by 1").fetchall()
    assert [o for o, _ in got] == list(range(400)) and len(first) == 200
