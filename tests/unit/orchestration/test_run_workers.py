"""The run worker watchdog: which pid a run's events name, whether it lives, and the sensor failing a run whose
worker is gone (a real Dagster instance in a temporary directory, a real process that exited)."""

import os
import subprocess
import time

import dagster as dg
from dagster._core.events import EngineEventData
from dagster._core.test_utils import create_run_for_test, instance_for_test

from orchestration.lib.run_workers import process_alive, worker_pid
from orchestration.sensors import run_worker_watchdog


def test_the_worker_pid_is_the_latest_started_process():
    assert worker_pid(["Starting execution", "Started process for run (pid: 41).", "Process for run exited",
                       "Started process for run (pid: 97)."]) == 97
    assert worker_pid(["Launching run", None]) is None


def exited_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_process_that_exited_or_is_a_zombie_is_not_alive():
    assert process_alive(os.getpid())
    assert not process_alive(exited_pid())
    zombie = subprocess.Popen(["true"])  # exits; not reaped until wait()
    deadline = time.monotonic() + 10
    while process_alive(zombie.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(zombie.pid)
    zombie.wait()


def started_run(instance, pid: int) -> str:
    run = create_run_for_test(instance, job_name="hourly_flow", status=dg.DagsterRunStatus.STARTED)
    instance.report_engine_event(f"Started process for run (pid: {pid}).", run, EngineEventData.in_process(pid))
    return run.run_id


def test_the_watchdog_fails_a_started_run_whose_worker_is_gone_and_leaves_a_live_one():
    with instance_for_test() as instance:
        gone, alive = started_run(instance, exited_pid()), started_run(instance, os.getpid())
        result = run_worker_watchdog(dg.build_sensor_context(instance=instance))

        assert instance.get_run_by_id(gone).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
        assert gone in result.skip_message
        failure = instance.all_logs(gone, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert "is gone" in failure[-1].message
