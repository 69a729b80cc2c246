"""Runs whose worker dies are not left 'Started', and are retried: Sluice's dagster.yaml (run retries) with
`dagster dev`. Runs launched through the GraphQL API, watched in the instance's run storage.

- A run worker SIGKILLed mid-run while dagster dev runs: its code server fails the run; the retry finishes the hour.
- dagster dev killed mid-run (the worker dies with it) and started again: the run would stay 'Started' forever;
  run_worker_watchdog fails it, and the retry finishes the hour. (Stopped gently, dagster dev's code server
  waits for the run to end first: nothing is orphaned then.)
"""

from __future__ import annotations

import os
import signal
import time
import urllib.parse

import dagster as dg
from dagster_graphql import DagsterGraphQLClient

from orchestration.lib.run_workers import worker_pid
from support.dagster_ui import dagster_dev

HOUR = "2024-01-15-10:00"


def wait_for(what: str, probe, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {timeout:.0f}s")


def launch(url: str) -> str:
    parts = urllib.parse.urlparse(url)
    return DagsterGraphQLClient(parts.hostname, port_number=parts.port).submit_job_execution(
        "hourly_flow", tags={"dagster/partition": HOUR})


def under_way(instance, run_id: str) -> int:
    """Wait until the run's worker has started a step; its pid."""
    pid = wait_for("the run worker's pid", lambda: worker_pid(
        [e.message for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)]), 120)
    wait_for("a step under way", lambda: instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START), 60)
    return pid


def retried(instance, run_id: str, since: float) -> str:
    """The run failed, a retry of its partition was launched and succeeded; returns the figures."""
    wait_for("the run marked failed", lambda: instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE, 90)
    failed = time.monotonic() - since
    child = wait_for("a retry run", lambda: next(iter(instance.get_runs(
        dg.RunsFilter(tags={"dagster/parent_run_id": run_id}))), None), 120)
    launched = time.monotonic() - since
    assert child.tags.get("dagster/partition") == HOUR
    wait_for("the retry to finish", lambda: instance.get_run_by_id(child.run_id).is_finished, 300)
    assert instance.get_run_by_id(child.run_id).status == dg.DagsterRunStatus.SUCCESS
    return (f"failed after {failed:.1f}s, retry launched after {launched:.1f}s, "
            f"retry succeeded after {time.monotonic() - since:.1f}s")


def test_a_run_whose_worker_is_killed_is_failed_and_retried(dagster_url, lake):
    run_id = launch(dagster_url)
    with dg.DagsterInstance.from_config(str(lake["work"] / "dagster")) as instance:
        pid = under_way(instance, run_id)
        os.kill(pid, signal.SIGKILL)
        print(f"\nworker SIGKILLed: {retried(instance, run_id, time.monotonic())}")


def test_a_run_orphaned_by_a_killed_dagster_dev_is_failed_and_retried_after_a_restart(lake):
    home = lake["work"] / "dagster-restart"
    env = {"SLUICE_LAKE_BUCKET": lake["bucket"], "SLUICE_LAKE_TOPIC": lake["topic"],
           "SLUICE_SINK_NAME": lake["sink"], "SLUICE_DLQ_TOPIC": lake["dlq"],
           "SLUICE_CASSANDRA_KEYSPACE": lake["keyspace"]}
    with dagster_dev(home, env, stopped_sensors=("raw_zone_sensor",), stop_timeout=0) as url:
        run_id = launch(url)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            under_way(instance, run_id)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED  # orphaned
    with dagster_dev(home, env, stopped_sensors=("raw_zone_sensor",)):
        restarted = time.monotonic()
        with dg.DagsterInstance.from_config(str(home)) as instance:
            figures = retried(instance, run_id, restarted)
            failure = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[-1].message
            assert "is gone" in failure, failure
            print(f"\ndagster dev restarted: orphaned run {figures}")
