"""Real faults on the local stack, and the checks that follow them: stop, start, SIGKILL or freeze a service; then
where every offset of a topic went (rows of the lake, dead letters, the ledger's committed rounds), read back as
users would.

Shared by the integration tests (through tests/support/faults.py) and bench/chaos.py: a bench must not import the
test tree.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from ingest.clients import kafka_config
from ingest.connections import Connections
from ingest.lake.ledger import committed_rounds, ledger_partitions, read_ledger, tiling_problems
from ingest.topic_reader import read_to_end
from stack import control
from stack.settings import StackSettings

# What a broker answers for a while after it restarts (it is loading the group) or while it is away: ask again.
PASSING = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE,
           KafkaError._TIMED_OUT, KafkaError._TRANSPORT}


def _service(name: str):
    return control.services(StackSettings.from_env(), [name])[0]


def _running(name: str):
    """The service and the pid of its process group."""
    svc = _service(name)
    pid = svc.proc.pid()
    if pid is None:
        raise RuntimeError(f"{name} is not running")
    return svc, pid


def stop_service(name: str) -> None:
    control.down(StackSettings.from_env(), [name])


def start_service(name: str) -> None:
    control.up(StackSettings.from_env(), [name])


def kill_service(name: str) -> None:
    """SIGKILL the service's processes, as a crash or the OOM killer would, and wait until they are gone."""
    svc, pid = _running(name)
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while svc.proc.pid() is not None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} (pid {pid}) outlived SIGKILL by 30 s")
        time.sleep(0.1)


@contextlib.contextmanager
def frozen(name: str):
    """The service's processes stopped with SIGSTOP while the block runs, then continued."""
    _, pid = _running(name)
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.killpg(pid, signal.SIGCONT)


@contextlib.contextmanager
def paused(proc):
    """A process of ours (a sink) stopped with SIGSTOP while the block runs, then continued."""
    proc.send_signal(signal.SIGSTOP)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGCONT)


def lake_offsets(lake, bucket: str, topic: str) -> Counter:
    """(partition, offset) -> how many rows of the raw zone hold it."""
    rows = lake.sql(f"select _kafka_partition, _kafka_offset, count(*) from "
                    f"read_parquet('s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet') group by all").fetchall()
    return Counter({(p, o): n for p, o, n in rows})


def dlq_offsets(connections: Connections, dlq: str, timeout: float = 60) -> Counter:
    """(source partition, source offset) -> how many committed dead letters name it (read_committed, from each
    partition's first kept offset to its end)."""
    found: Counter = Counter()
    for batch in read_to_end(connections, dlq, timeout=timeout):
        for message in batch:
            headers = dict(message.headers() or [])
            found[(int(headers["__connect.errors.partition"]), int(headers["__connect.errors.offset"]))] += 1
    return found


def ledger_check(s3, bucket: str, connector: str, topic: str, committed: dict[int, int]) -> tuple[Counter, list]:
    """Offsets the committed manifests account for (files' rows by range, dead letters) and tiling problems."""
    problems, covered = [], Counter()
    for partition in ledger_partitions(s3, bucket, connector, topic):
        rounds = committed_rounds(read_ledger(s3, bucket, connector, topic, partition), committed.get(partition))
        problems += tiling_problems(rounds)
        if rounds and rounds[-1].commit_offset != committed.get(partition):
            problems.append(f"partition {partition}: ledger ends at {rounds[-1].commit_offset}, group committed "
                            f"{committed.get(partition)}")
        for m in rounds:
            covered[(partition, "rows")] += m.rows
            covered[(partition, "dlq")] += len(m.dlq_offsets)
    return covered, problems


def committed(connections: Connections, group: str, topic: str, partitions: int) -> list[int]:
    """The consumer group's committed offset of each partition of `topic`; asked again for up to 60 s while the
    broker answers with an error that passes."""
    deadline = time.monotonic() + 60
    consumer = Consumer(kafka_config(connections, **{"group.id": group}))
    try:
        while True:
            try:
                return [tp.offset for tp in consumer.committed(
                    [TopicPartition(topic, p) for p in range(partitions)], timeout=30)]
            except KafkaException as exc:
                if exc.args[0].code() not in PASSING or time.monotonic() > deadline:
                    raise
                time.sleep(1)
    finally:
        consumer.close()
