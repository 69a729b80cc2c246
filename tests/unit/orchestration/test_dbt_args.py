import datetime as dt
import json

from orchestration.lib.dbt_args import dbt_build_args, dbt_vars

HOUR = (dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC), dt.datetime(2024, 1, 15, 11, tzinfo=dt.UTC))


def test_dbt_vars_carry_the_partition_window_and_the_lake():
    assert dbt_vars(*HOUR, "data-lake", "landed", "events") == {
        "window_start": "2024-01-15T10:00:00Z", "window_end": "2024-01-15T11:00:00Z", "lake_bucket": "data-lake",
        "raw_root": "landed", "raw_topic": "events"}


def test_a_window_in_another_zone_is_passed_in_utc():
    cet = dt.timezone(dt.timedelta(hours=1))
    start = dt.datetime(2024, 1, 15, 11, tzinfo=cet)
    assert dbt_vars(start, start + dt.timedelta(hours=2), "b", "landed", "t")["window_start"] == "2024-01-15T10:00:00Z"


def test_hourly_runs_build_without_dbt_unit_tests():
    args = dbt_build_args({"window_start": "2024-01-15T10:00:00Z"})
    assert args[:3] == ["build", "--exclude-resource-type", "unit_test"]
    assert args[-2:] == ["--vars", '{"window_start": "2024-01-15T10:00:00Z"}']
    assert json.loads(args[-1]) == {"window_start": "2024-01-15T10:00:00Z"}
