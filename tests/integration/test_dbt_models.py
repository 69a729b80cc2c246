"""dbt build over a sample raw zone with repeats and late events: curated files per hour, idempotent windows."""

import datetime as dt
import json
import random
from collections import Counter

import pytest

from ingest.produce import generate
from ingest.sample_lake import write_sample_lake
from orchestration.lib.dbt_args import dbt_build_args, dbt_vars, lake_vars, window_env
from support.dbt import dbt
from support.sink import START_MS, object_keys

COUNT, HOURS, SEED = 3000, 3, 1
MODELS = ("stg_events", "int_events_enriched", "events_by_time", "hourly_event_counts")


def hour(h: int) -> str:
    return f"2024-01-15T{h:02d}:00:00Z"


def expected_per_hour() -> Counter:
    """Distinct valid events per UTC hour, straight from the generator the sample lake is made of."""
    return Counter(dt.datetime.fromtimestamp(e.timestamp_ms / 1000, dt.UTC).hour
                   for e in generate(COUNT, HOURS, START_MS, 0.0, SEED))


def curated(s3, lake, bucket: str) -> dict[str, bytes]:
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in object_keys(s3, bucket, "curated/")}


def rows_per_file(lake, bucket: str, model: str) -> dict[str, int]:
    found = lake.sql(f"select filename, count(*) from read_parquet('s3://{bucket}/curated/{model}/*/*/*.parquet', "
                     "filename = true) group by all").fetchall()
    return {name.split(f"/{model}/")[1]: n for name, n in found}


@pytest.fixture
def sample_bucket(connections, s3, unique_name) -> str:
    write_sample_lake(connections, unique_name, "events", HOURS, START_MS, COUNT, seed=SEED)
    return unique_name


def test_two_windows_write_each_hour_once_without_repeats(sample_bucket, s3, lake, tmp_path):
    bucket = sample_bucket
    raw = lake.sql(f"select count(*), count(distinct event_id) from "
                   f"read_parquet('s3://{bucket}/topics/events/*/*/*/*/*.parquet')").fetchone()
    assert raw[0] > raw[1] == COUNT  # the raw zone repeats records and events

    for window in ((hour(9), hour(10)), (hour(10), hour(12))):
        result = dbt("build", bucket, tmp_path, window)
        assert result.returncode == 0, result.stdout[-4000:]

    want = expected_per_hour()
    for model in ("stg_events", "int_events_enriched", "events_by_time"):
        assert rows_per_file(lake, bucket, model) == {
            f"event_date=2024-01-15/event_hour={h:02d}/part-0.parquet": want[h] for h in (9, 10, 11)
        }, model
    staged = lake.sql(f"select event_id, count(*) from read_parquet('s3://{bucket}/curated/stg_events/*/*/*.parquet')"
                      " group by all having count(*) > 1").fetchall()
    assert staged == []
    counts = lake.sql(f"select event_hour, sum(events) from read_parquet("
                      f"'s3://{bucket}/curated/hourly_event_counts/*/*/*.parquet', hive_partitioning = true) "
                      "group by all order by 1").fetchall()
    assert [(int(h), n) for h, n in counts] == [(h, want[h]) for h in (9, 10, 11)]


def test_rerunning_a_window_changes_nothing_and_windows_add_up_to_one_run(connections, s3, lake, tmp_path,
                                                                          sample_bucket, unique_name):
    one_run = f"{unique_name}-one"
    write_sample_lake(connections, one_run, "events", HOURS, START_MS, COUNT, seed=SEED)
    assert dbt("build", one_run, tmp_path / "one", (hour(9), hour(12))).returncode == 0

    hours = [9, 10, 11]
    random.Random(5).shuffle(hours)
    for h in hours:
        result = dbt("run", sample_bucket, tmp_path / "windows", (hour(h), hour(h + 1)))
        assert result.returncode == 0, result.stdout[-4000:]
    first = curated(s3, lake, sample_bucket)
    assert dbt("run", sample_bucket, tmp_path / "again", (hour(10), hour(11))).returncode == 0

    assert curated(s3, lake, sample_bucket) == first
    assert first == curated(s3, lake, one_run)
    assert len(first) == len(MODELS) * 3


def test_an_hourly_run_takes_its_window_from_the_environment_without_parsing_again(
        sample_bucket, s3, lake, tmp_path, monkeypatch):
    """As Dagster runs it: the manifest prepared with the lake's vars, then every hour with the same vars and its
    window in SLUICE_DBT_WINDOW_START/END; dbt reuses the prepared parse and builds exactly the hour."""
    bucket = sample_bucket
    prepared = dbt("parse", bucket, tmp_path, None, "--vars", json.dumps(lake_vars(bucket, "topics", "events")))
    assert prepared.returncode == 0, prepared.stdout[-4000:]

    for h in (9, 10):
        variables = dbt_vars(dt.datetime(2024, 1, 15, h, tzinfo=dt.UTC), dt.datetime(2024, 1, 15, h + 1, tzinfo=dt.UTC),
                             bucket, "topics", "events")
        for name, value in window_env(variables).items():
            monkeypatch.setenv(name, value)
        command, *args = dbt_build_args(variables)
        result = dbt(command, bucket, tmp_path, None, *args)
        assert result.returncode == 0, result.stdout[-4000:]
        assert "Unable to do partial parsing" not in result.stdout

    want = expected_per_hour()
    assert rows_per_file(lake, bucket, "events_by_time") == {
        f"event_date=2024-01-15/event_hour={h:02d}/part-0.parquet": want[h] for h in (9, 10)}


def test_a_failing_data_test_fails_the_build(sample_bucket, lake, tmp_path):
    bucket = sample_bucket
    source = f"s3://{bucket}/topics/events/year=2024/month=01/day=15/hour=11/events+0+*.snappy.parquet"
    target = f"s3://{bucket}/topics/events/year=2024/month=01/day=15/hour=14/events+0+0000099999.snappy.parquet"
    lake.sql(f"""copy (select * replace ('mystery_event' as event_type, event_time + interval 3 hour as event_time)
                 from read_parquet('{source}') limit 5) to '{target}' (format parquet, compression snappy)""")

    result = dbt("build", bucket, tmp_path, (hour(14), hour(15)))

    assert result.returncode == 1
    assert "relationships_int_events_enriched_event_type" in result.stdout
    assert "FAIL 5" in result.stdout


def test_docs_generate_documents_every_model(sample_bucket, tmp_path):
    assert dbt("build", sample_bucket, tmp_path, (hour(9), hour(10))).returncode == 0

    result = dbt("docs generate", sample_bucket, tmp_path)

    assert result.returncode == 0, result.stdout[-4000:]
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    documented = {node["metadata"]["name"] for node in catalog["nodes"].values()}
    assert set(MODELS) | {"event_types"} <= documented
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert all(manifest["nodes"][f"model.sluice.{m}"]["description"] for m in MODELS)
