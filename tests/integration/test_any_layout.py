"""Any sink layout, same rows: one topic written by three sinks — the default (UTC hours of the event time), a
`timezone` of Europe/Berlin (directories an hour off UTC) and the Wallclock extractor (directories of the time of
writing, years from the events) — and each lake run through landing, dbt and Cassandra for one UTC hour. The
ledger's hour index finds the hour's rows wherever the files are: Cassandra gets the same events every time."""

import datetime as dt
import json

import dagster as dg

from ingest.lake.names import LakeNames
from ingest.produce import generate
from orchestration.assets.cassandra import cassandra_events_by_time, cassandra_hourly_event_counts
from orchestration.assets.dbt import dbt_models
from orchestration.assets.raw import raw_events
from orchestration.resources import default_resources
from support.serving import cassandra_ids
from support.sink import START_MS, object_keys, produce_events, run_sink, sink_config

ASSETS = [raw_events, dbt_models(), cassandra_events_by_time, cassandra_hourly_event_counts]
COUNT, HOURS, SEED = 1200, 3, 41
LAYOUTS = {
    "utc": {"timestamp.extractor": "RecordField", "timestamp.field": "event_time", "timezone": "UTC"},
    "berlin": {"timestamp.extractor": "RecordField", "timestamp.field": "event_time", "timezone": "Europe/Berlin"},
    "wallclock": {"timestamp.extractor": "Wallclock", "timezone": "UTC"},
}


def events_in_hour(hour: int) -> list[str]:
    return sorted(json.loads(e.value)["event_id"] for e in generate(COUNT, HOURS, START_MS, 0.0, SEED)
                  if dt.datetime.fromtimestamp(e.timestamp_ms / 1000, dt.UTC).hour == hour)


def test_every_layout_serves_the_same_events_of_an_hour(tmp_path, connections, s3, cassandra, unique_name, names):
    topic = names["topic"]
    produce_events(connections, topic, COUNT, partitions=2, seed=SEED)
    served, directories = {}, {}
    for layout, settings in LAYOUTS.items():
        bucket, connector, keyspace = f"{unique_name}-{layout}", f"{names['name']}-{layout}", f"{unique_name}_{layout}"
        config = sink_config(tmp_path, connector, topics=topic, **{"s3.bucket.name": bucket, **settings})
        assert run_sink(config).returncode == 0
        directories[layout] = {k.split("/")[5] for k in object_keys(s3, bucket, "topics/")}
        resources = default_resources(connections, LakeNames(bucket=bucket, topic=topic, connector=connector),
                                      keyspace=keyspace)
        try:
            result = dg.materialize(ASSETS, partition_key="2024-01-15-10:00", resources=resources)
            assert result.success
            failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
            assert failed == [], (layout, failed)  # the offset audit and the stage ids hold in every layout
            served[layout] = cassandra_ids(cassandra, keyspace, 10)
            print(f"{layout}: {len(served[layout])} events of 10:00 UTC in Cassandra")  # shown with -s
        finally:
            cassandra.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")

    assert directories["utc"] == {"hour=09", "hour=10", "hour=11"}
    assert directories["berlin"] == {"hour=10", "hour=11", "hour=12"}  # UTC+1 in January
    assert "hour=10" not in directories["wallclock"] or dt.datetime.now(dt.UTC).hour == 10
    assert served["utc"] == events_in_hour(10)
    assert served["berlin"] == served["utc"] and served["wallclock"] == served["utc"]
