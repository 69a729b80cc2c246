"""Schema evolution end to end: an Avro topic whose events schema gains a field (optional, with a default) mid-stream
lands in the lake, runs through the dbt models (which read the raw zone with union_by_name) and reaches Cassandra,
every event once, the new field carried where it was sent."""

import datetime as dt
import json
from decimal import Decimal

import dagster as dg

from ingest.avro_events import DEFAULT_AVRO_SCHEMA
from ingest.lake.names import LakeNames
from ingest.produce import generate
from orchestration.assets.cassandra import cassandra_events_by_time, cassandra_hourly_event_counts
from orchestration.assets.dbt import dbt_models
from orchestration.assets.raw import raw_events
from orchestration.resources import default_resources
from support.serving import cassandra_ids
from support.sink import START_MS, produce_events, run_sink, sink_config

HOUR_10 = START_MS + 3_600_000  # 2024-01-15T10:00:00Z
COUNT = 400


def sent_in_hour_10(seed: int) -> dict[str, float | None]:
    """event_id -> amount of the events a seed makes whose event_time is in 10:00-11:00 (the first of repeats)."""
    kept: dict[str, float | None] = {}
    for event in generate(COUNT, 1, HOUR_10, 0.0, seed):
        value = json.loads(event.value)
        if dt.datetime.fromisoformat(value["event_time"].replace("Z", "+00:00")).hour == 10:
            kept.setdefault(value["event_id"], value.get("amount"))
    return kept


def test_a_field_added_mid_stream_flows_through_the_lake_and_dbt_into_cassandra(tmp_path, connections, cassandra,
                                                                                 lake, names, unique_name,
                                                                                 registry):
    topic, bucket = names["topic"], names["bucket"]
    v2 = json.loads(DEFAULT_AVRO_SCHEMA.read_text())
    v1_file = tmp_path / "events-v1.avsc"
    v1_file.write_text(json.dumps(dict(v2, fields=[f for f in v2["fields"] if f["name"] != "amount"])))
    produce_events(connections, topic, COUNT, partitions=2, seed=61, hours=1, start_ms=HOUR_10, value_format="avro",
                   avro_schema=v1_file)
    produce_events(connections, topic, COUNT, partitions=2, seed=62, hours=1, start_ms=HOUR_10, value_format="avro")
    assert [registry.get_version(f"{topic}-value", v).schema.schema_str.count('"amount"') for v in (1, 2)] == [0, 1]
    result = run_sink(sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": bucket, "value.converter": "io.confluent.connect.avro.AvroConverter",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": names["dlq"]}))
    assert result.returncode == 0, result.stdout[-4000:]
    columns = {frozenset(c for (c,) in lake.sql(f"select name from parquet_schema('{f}')").fetchall()) for (f,) in
               lake.sql(f"select file from glob('s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet')").fetchall()}
    assert len(columns) == 2  # files of v1 (no amount) and of v2: the raw zone holds both schemas

    resources = default_resources(connections, LakeNames(bucket=bucket, topic=topic, dlq_topic=names["dlq"],
                                                          connector=names["name"]), keyspace=unique_name)
    run = dg.materialize([raw_events, dbt_models(), cassandra_events_by_time, cassandra_hourly_event_counts],
                         partition_key="2024-01-15-10:00", resources=resources)

    assert run.success
    old, new = sent_in_hour_10(61), sent_in_hour_10(62)
    assert cassandra_ids(cassandra, unique_name, 10) == sorted(old | new)
    staged = dict(lake.sql(f"select event_id::varchar, amount from read_parquet('s3://{bucket}/curated/stg_events/"
                           "*/*/*.parquet')").fetchall())
    assert set(staged) == set(old) | set(new)
    assert all(staged[i] is None for i in set(old) - set(new))  # v1 events: the default
    assert [staged[i] for i in new] == [new[i] for i in new]  # v2 events: the amount sent
    revenue = cassandra.execute(f"SELECT sum(revenue) FROM {unique_name}.hourly_event_counts "
                                "WHERE event_date = '2024-01-15' AND event_hour = 10").one()[0]
    assert revenue == round(sum(Decimal(str(a)) for a in new.values() if a is not None), 2)  # v2's amounts only
    checks = {c.check_name: c.passed for c in run.get_asset_check_evaluations()}
    assert all(checks.values()), [k for k, ok in checks.items() if not ok]
