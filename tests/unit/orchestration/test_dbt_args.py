import datetime as dt
import json
import os

from orchestration.lib.dbt_args import dbt_build_args, dbt_vars, environ, lake_vars, window_env

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
    args = dbt_build_args(dbt_vars(*HOUR, "data-lake", "landed", "events"))
    assert args[:3] == ["build", "--exclude-resource-type", "unit_test"]


def test_the_window_is_not_in_the_vars_so_every_hour_passes_the_same_vars():
    ten = dbt_build_args(dbt_vars(*HOUR, "data-lake", "landed", "events"))
    eleven = dbt_build_args(dbt_vars(HOUR[1], HOUR[1] + dt.timedelta(hours=1), "data-lake", "landed", "events"))
    assert ten == eleven
    assert ten[-2:] == ["--vars", '{"lake_bucket": "data-lake", "raw_root": "landed", "raw_topic": "events"}']
    assert json.loads(ten[-1]) == lake_vars("data-lake", "landed", "events")


def test_the_window_travels_in_the_environment():
    assert window_env(dbt_vars(*HOUR, "data-lake", "landed", "events")) == {
        "SLUICE_DBT_WINDOW_START": "2024-01-15T10:00:00Z", "SLUICE_DBT_WINDOW_END": "2024-01-15T11:00:00Z"}


def test_environ_sets_the_variables_for_the_block_only(monkeypatch):
    monkeypatch.setenv("SLUICE_DBT_WINDOW_START", "before")
    monkeypatch.delenv("SLUICE_DBT_WINDOW_END", raising=False)
    with environ({"SLUICE_DBT_WINDOW_START": "a", "SLUICE_DBT_WINDOW_END": "b"}):
        assert (os.environ["SLUICE_DBT_WINDOW_START"], os.environ["SLUICE_DBT_WINDOW_END"]) == ("a", "b")
    assert os.environ["SLUICE_DBT_WINDOW_START"] == "before"
    assert "SLUICE_DBT_WINDOW_END" not in os.environ
