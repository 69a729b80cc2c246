"""When `sluice sink` stops by itself: `--exit-when-idle SECONDS` and `--exit-at-end`, as pure rules over the
tasks' counters (monotonic seconds; the process started at 100)."""

from dataclasses import dataclass

import pytest

from ingest.cli import build_parser
from ingest.sink.runner import JOIN_GRACE_S, at_end, idle_long_enough
from ingest.sink.stats import TaskStats, summary, totals

STARTED = 100.0


@dataclass
class Task:
    stats: TaskStats


def test_idle_counts_from_the_last_record_or_assignment_whichever_is_later():
    total = TaskStats(last_message=130.0, assigned_at=120.0)
    assert (idle_long_enough(total, STARTED, 132.9, 3), idle_long_enough(total, STARTED, 133.0, 3)) == (False, True)


def test_idle_waits_for_what_is_left_to_fetch():
    assert idle_long_enough(TaskStats(assigned_at=120.0, fetch_lag=1), STARTED, 200.0, 3) is False


def test_idle_before_any_assignment_gives_the_group_its_grace_first():
    assert idle_long_enough(TaskStats(), STARTED, STARTED + JOIN_GRACE_S + 2.9, 3) is False
    assert idle_long_enough(TaskStats(), STARTED, STARTED + JOIN_GRACE_S + 3, 3) is True


def test_at_end_once_every_task_is_caught_up_without_an_idle_wait():
    tasks = [Task(TaskStats(assigned_at=120.0, last_message=130.0, caught_up=True)),
             Task(TaskStats(assigned_at=121.0, caught_up=True))]
    assert at_end(totals(tasks), STARTED, 130.0) is True


def test_not_at_end_while_one_task_has_no_assignment_or_is_behind():
    tasks = [Task(TaskStats(assigned_at=120.0, caught_up=True)), Task(TaskStats())]
    assert at_end(totals(tasks), STARTED, 1_000.0) is False
    tasks[1].stats = TaskStats(assigned_at=121.0, fetch_lag=5)
    assert at_end(totals(tasks), STARTED, 1_000.0) is False


def test_at_end_before_any_assignment_only_once_the_grace_is_over():
    tasks = [Task(TaskStats()), Task(TaskStats())]
    assert at_end(totals(tasks), STARTED, STARTED + JOIN_GRACE_S - 0.1) is False
    assert at_end(totals(tasks), STARTED, STARTED + JOIN_GRACE_S) is True


def test_totals_sum_the_counters_and_keep_the_latest_times():
    tasks = [Task(TaskStats(good=3, fetch_lag=1, last_message=5.0, caught_up=True)),
             Task(TaskStats(good=4, rewinds=1, last_message=7.0, assigned_at=2.0, caught_up=True))]
    total = totals(tasks)
    assert (total.good, total.rewinds, total.fetch_lag, total.last_message, total.assigned_at, total.caught_up) == (
        7, 1, 1, 7.0, 2.0, True)
    assert summary(tasks) == ("good=7 dead_lettered=0 dropped=0 ignored=0 written=0 files=0 bytes=0 commits=0 "
                              "rewinds=1 lag=0 unfetched=1")


@pytest.mark.parametrize(("args", "expected"), [([], (False, None)), (["--exit-at-end"], (True, None)),
                                                (["--exit-when-idle", "3"], (False, 3.0))])
def test_the_sink_command_takes_either_way_to_stop(args, expected):
    parsed = build_parser().parse_args(["sink", "--config", "config/s3-sink.json", *args])
    assert (parsed.exit_at_end, parsed.exit_when_idle) == expected
