"""A sink task's counters and lags, and their sum over the tasks of a process as the progress line shows it."""

from __future__ import annotations

from dataclasses import dataclass, fields

from confluent_kafka import TopicPartition

LATEST = ("last_message", "assigned_at")  # monotonic times: the process's is the latest of its tasks'


@dataclass
class TaskStats:
    good: int = 0
    dead_lettered: int = 0
    dropped: int = 0  # bad records with errors.tolerance=all and no DLQ topic
    ignored: int = 0
    written: int = 0
    files: int = 0
    bytes: int = 0
    commits: int = 0
    rewinds: int = 0  # commits that failed and were redone from the committed offsets
    lag: int = 0
    fetch_lag: int = 0
    last_message: float = 0.0
    assigned_at: float = 0.0  # monotonic time of the last assignment
    # The task holds an assignment (an empty one counts) and the last pass found every partition of it consumed
    # up to its known high watermark; false from a rebalance or a rewind until a pass measures again.
    caught_up: bool = False


def totals(tasks: list) -> TaskStats:
    """The sum over the tasks; the latest of their times; caught up when every task is."""
    total = TaskStats(caught_up=all(task.stats.caught_up for task in tasks))
    for task in tasks:
        for f in fields(TaskStats):
            if f.name in LATEST:
                setattr(total, f.name, max(getattr(total, f.name), getattr(task.stats, f.name)))
            elif f.name != "caught_up":
                setattr(total, f.name, getattr(total, f.name) + getattr(task.stats, f.name))
    return total


def summary(tasks: list) -> str:
    t = totals(tasks)
    return (f"good={t.good} dead_lettered={t.dead_lettered} dropped={t.dropped} ignored={t.ignored} "
            f"written={t.written} files={t.files} bytes={t.bytes} commits={t.commits} rewinds={t.rewinds} "
            f"lag={t.lag} unfetched={t.fetch_lag}")


def lags(consumer, committed: dict[tuple[str, int], int | None]) -> tuple[int, int]:
    """(records not yet committed, records not yet consumed) over a task's partitions (with the offset each has
    committed, None if none yet), from the last fetch's high watermarks; a partition whose high watermark is
    unknown yet counts one unconsumed record.

    Asked from the task's own thread: the consumer is not shared with other threads."""
    committed_lag = fetch_lag = 0
    for (topic, partition), offset in committed.items():
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
        if high < 0:
            fetch_lag += 1
            continue
        position = consumer.position([TopicPartition(topic, partition)])[0].offset
        if position < 0:  # nothing fetched since the assignment: the task resumes at the committed offset
            position = offset if offset is not None else max(low, 0)
        fetch_lag += max(high - position, 0)
        if offset is not None:
            committed_lag += max(high - offset, 0)
    return committed_lag, fetch_lag
