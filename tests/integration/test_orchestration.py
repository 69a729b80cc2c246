"""The code location in-process: an hour from the raw zone through dbt into Cassandra, re-runs, the sensor."""

import datetime as dt

import dagster as dg
import pytest

from ingest.lake.names import LakeNames
from ingest.produce import generate
from ingest.sample_lake import write_sample_lake
from orchestration.assets.cassandra import cassandra_events_by_time, cassandra_hourly_event_counts
from orchestration.assets.dbt import dbt_models
from orchestration.assets.raw import raw_events
from orchestration.jobs import hourly_flow
from orchestration.resources import LakeResource, default_resources, s3_resource
from orchestration.sensors import raw_zone_sensor_for
from support.serving import cassandra_ids
from support.sink import START_MS

COUNT, HOURS, SEED = 3000, 3, 2
ASSETS = [raw_events, dbt_models(), cassandra_events_by_time, cassandra_hourly_event_counts]


def events_in_hour(hour: int) -> set[str]:
    import json

    return {json.loads(e.value)["event_id"] for e in generate(COUNT, HOURS, START_MS, 0.0, SEED)
            if dt.datetime.fromtimestamp(e.timestamp_ms / 1000, dt.UTC).hour == hour}


@pytest.fixture
def location(connections, s3, cassandra, unique_name):
    write_sample_lake(connections, unique_name, "events", HOURS, START_MS, COUNT, seed=SEED)
    resources = default_resources(connections, LakeNames(bucket=unique_name), keyspace=unique_name)
    return {"bucket": unique_name, "keyspace": unique_name, "resources": resources}


def test_an_hour_flows_from_the_raw_zone_into_cassandra_and_a_rerun_changes_nothing(location, cassandra, lake):
    res = location["resources"]
    result = dg.materialize(ASSETS, partition_key="2024-01-15-10:00", resources=res)

    assert result.success
    want = events_in_hour(10)
    assert cassandra_ids(cassandra, location["keyspace"], 10) == sorted(want)
    assert cassandra_ids(cassandra, location["keyspace"], 9) == []  # only the window was written
    landed = result.asset_materializations_for_node("raw_events")[0].metadata
    assert landed["rows"].value >= len(want)  # repeats of an event (retries) stay until staging
    assert landed["repeated_records_dropped"].value >= 0
    served = result.asset_materializations_for_node("cassandra_events_by_time")[0].metadata
    assert served["rows_written"].value == len(want)
    # Dagster's own keys, which its UI shows as the table's row count, name and columns
    assert landed["dagster/row_count"].value == landed["dagster/partition_row_count"].value == landed["rows"].value
    assert landed["dagster/table_name"].value == f"s3://{location['bucket']}/landed/events"
    assert {c.name for c in landed["dagster/column_schema"].value.columns} >= {"event_id", "event_time", "payload"}
    assert served["dagster/row_count"].value == len(want)
    assert served["dagster/table_name"].value == f"{location['keyspace']}.events_by_time"
    models = {m.asset_key.path[-1]: m.metadata for m in result.asset_materializations_for_node("sluice_dbt_models")}
    assert models["events_by_time"]["dagster/row_count"].value == len(want)
    assert models["stg_events"]["dagster/table_name"].value == f"s3://{location['bucket']}/curated/stg_events"
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["counts_reconcile_across_stages"] and checks["no_repeated_kafka_records"]
    reconciled = next(c for c in result.get_asset_check_evaluations()
                      if c.check_name == "counts_reconcile_across_stages").metadata
    assert {k: v.value for k, v in reconciled.items()} == dict.fromkeys(
        ("raw_valid", "staged", "mart", "cassandra"), len(want))  # the same set at every stage: no differences
    assert all(checks.values()), [k for k, ok in checks.items() if not ok]
    counts = cassandra.execute(f"SELECT sum(events) FROM {location['keyspace']}.hourly_event_counts "
                               "WHERE event_date = '2024-01-15' AND event_hour = 10").one()[0]
    assert counts == len(want)

    again = dg.materialize(ASSETS, partition_key="2024-01-15-10:00", resources=res)

    assert again.success
    assert cassandra_ids(cassandra, location["keyspace"], 10) == sorted(want)
    assert again.asset_materializations_for_node("cassandra_events_by_time")[0].metadata["rows_deleted"].value == 0


def test_a_backfill_of_three_hours_runs_once_and_leaves_cassandra_as_hour_by_hour_runs(location, cassandra):
    from orchestration.definitions import defs

    res = location["resources"]
    for hour in ("2024-01-15-09:00", "2024-01-15-11:00"):
        assert dg.materialize(ASSETS, partition_key=hour, resources=res).success
    before = {h: cassandra_ids(cassandra, location["keyspace"], h) for h in (9, 10, 11)}
    assert before[10] == []

    job = defs().resolve_job_def("hourly_flow")
    result = job.execute_in_process(resources=res, tags={
        "dagster/asset_partition_range_start": "2024-01-15-09:00",
        "dagster/asset_partition_range_end": "2024-01-15-11:00",
    })

    assert result.success
    after = {h: cassandra_ids(cassandra, location["keyspace"], h) for h in (9, 10, 11)}
    assert after[9] == before[9] and after[11] == before[11]
    assert after[10] == sorted(events_in_hour(10))
    served = result.asset_materializations_for_node("cassandra_events_by_time")
    assert len(served) == 3  # one run, a materialization per hour, with the run's figures
    assert {m.metadata["rows_written"].value for m in served} == {sum(len(v) for v in after.values())}
    reconciled = {c.partition: c for c in result.get_asset_check_evaluations()
                  if c.check_name == "counts_reconcile_across_stages"}
    assert sorted(reconciled) == ["2024-01-15-09:00", "2024-01-15-10:00", "2024-01-15-11:00"]  # one per hour
    assert all(c.passed for c in reconciled.values())
    assert reconciled["2024-01-15-10:00"].metadata["cassandra"].value == len(after[10])


def test_the_ids_check_names_the_events_one_stage_lost(location, lake, s3):
    import io

    import pyarrow.parquet as pq

    from ingest.lake.keys import curated_key
    from ingest.sink.writer import parquet_bytes

    res, hour = location["resources"], dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC)
    assert dg.materialize(ASSETS, partition_key="2024-01-15-10:00", resources=res).success
    key = curated_key("curated", "events_by_time", hour)
    mart = pq.read_table(io.BytesIO(s3.get_object(Bucket=location["bucket"], Key=key)["Body"].read()))
    s3.put_object(Bucket=location["bucket"], Key=key, Body=parquet_bytes(mart.slice(1), "zstd"))  # one event lost

    result = dg.materialize([cassandra_events_by_time], partition_key="2024-01-15-10:00", resources=res)

    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "counts_reconcile_across_stages")
    assert not check.passed and check.partition == "2024-01-15-10:00"
    assert check.metadata["in_staged_not_mart"].value == 1
    assert check.metadata["in_staged_not_mart_sample"].value == [str(mart["event_id"][0].as_py())]
    assert check.metadata["cassandra"].value == check.metadata["mart"].value == len(mart) - 1


def test_concurrent_runs_of_different_hours_do_not_interfere(location, cassandra):
    from concurrent.futures import ThreadPoolExecutor

    res = location["resources"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda key: dg.materialize(ASSETS, partition_key=key, resources=res),
                             ["2024-01-15-09:00", "2024-01-15-11:00"]))

    assert all(r.success for r in runs)
    assert cassandra_ids(cassandra, location["keyspace"], 9) == sorted(events_in_hour(9))
    assert cassandra_ids(cassandra, location["keyspace"], 11) == sorted(events_in_hour(11))
    assert cassandra_ids(cassandra, location["keyspace"], 10) == []


def test_the_sensor_follows_the_ledger_and_a_late_round_reruns_exactly_its_hours(tmp_path, connections, s3, names):
    from support.sink import produce_events, run_sink, sink_config

    topic, bucket = names["topic"], names["bucket"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": bucket, "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
    })
    produce_events(connections, topic, 1500, partitions=2, seed=23, jitter_ms=0)
    assert run_sink(config).returncode == 0
    res = {"s3": s3_resource(connections),
           "lake": LakeResource(bucket=bucket, topic=topic, connector=names["name"])}
    sensor = raw_zone_sensor_for(hourly_flow)

    with dg.instance_for_test() as instance:
        def tick(cursor):
            with dg.build_sensor_context(resources=res, cursor=cursor, instance=instance) as context:
                requests = [r for r in (sensor(context) or []) if isinstance(r, dg.RunRequest)]
                return requests, context.cursor

        runs, cursor = tick(None)
        again, cursor = tick(cursor)
        assert sorted(r.partition_key for r in runs) == ["2024-01-15-09:00", "2024-01-15-10:00", "2024-01-15-11:00"]
        assert again == []

        three_days_late = START_MS - 3 * 24 * 3_600_000  # 2024-01-12 09:00: far behind any directory walk
        produce_events(connections, topic, 40, partitions=2, seed=24, start_ms=three_days_late, hours=0.5,
                       jitter_ms=0)
        assert run_sink(config).returncode == 0
        late, cursor = tick(cursor)
        assert [r.partition_key for r in late] == ["2024-01-12-09:00"]
        assert tick(cursor)[0] == []

        # a run of that hour waits to start (created, not started; queued alike): it will land the hour as the
        # ledger is then, so a newer round of the hour asks for no run of its own
        instance.add_run(dg.DagsterRun(job_name="hourly_flow", run_id="queued-0912",
                                       status=dg.DagsterRunStatus.NOT_STARTED,
                                       tags={"dagster/partition": "2024-01-12-09:00"}))
        produce_events(connections, topic, 20, partitions=2, seed=25, start_ms=three_days_late, hours=0.5,
                       jitter_ms=0)
        assert run_sink(config).returncode == 0
        assert tick(cursor)[0] == []


def test_cassandra_returns_a_days_events_newest_first(location, cassandra):
    assert dg.materialize(ASSETS, partition_key="2024-01-15-09:00", resources=location["resources"]).success
    times = [r.event_time for r in cassandra.execute(
        f"SELECT event_time FROM {location['keyspace']}.events_by_time WHERE event_date = '2024-01-15'")]
    assert len(times) == len(events_in_hour(9))
    assert times == sorted(times, reverse=True)


def test_the_workspace_loads_and_validates():
    import subprocess
    import sys
    from pathlib import Path

    from ingest.connections import REPO_ROOT

    dagster = str(Path(sys.executable).parent / "dagster")
    result = subprocess.run([dagster, "definitions", "validate", "-w", "workspace.yaml"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_dg_finds_the_same_code_location_as_dagster_dev():
    """`[tool.dg]` in pyproject.toml: `dg dev` / `dg list defs` load orchestration.definitions from the repo root."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from ingest.connections import REPO_ROOT
    from orchestration.definitions import defs

    dg_cli = str(Path(sys.executable).parent / "dg")
    result = subprocess.run([dg_cli, "list", "defs", "--json"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    listed = json.loads(result.stdout)
    expected = {key.to_user_string() for key in defs().resolve_asset_graph().get_all_asset_keys()}
    assert {a["asset_key"] for a in listed["assets"]} == expected
    assert {"hourly_flow", "dlq_reprocess"} <= {j["name"] for j in listed["jobs"]}


def test_the_counts_table_loads_into_a_fresh_keyspace_on_its_own(location, cassandra):
    """The serving assets run side by side; either may be first to meet an empty cluster."""
    assets = [raw_events, dbt_models(), cassandra_hourly_event_counts]
    assert dg.materialize(assets, partition_key="2024-01-15-11:00", resources=location["resources"]).success
    total = cassandra.execute(f"SELECT sum(events) FROM {location['keyspace']}.hourly_event_counts "
                              "WHERE event_date = '2024-01-15' AND event_hour = 11").one()[0]
    assert total == len(events_in_hour(11))
