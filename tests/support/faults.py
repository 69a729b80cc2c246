"""Real faults on the local stack: stop and start a service, freeze one with SIGSTOP; and the checks that every
offset of a topic is in the lake or the DLQ exactly once, read back as users would."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sized

from confluent_kafka import Consumer, TopicPartition

from ingest.clients import kafka_config
from ingest.connections import REPO_ROOT, Connections
from ingest.lake.ledger import committed_rounds, ledger_partitions, read_ledger, tiling_problems
from stack import control
from stack.settings import StackSettings


def dev(*args: str) -> subprocess.CompletedProcess:
    """`./dev ARGS` as a user runs it, output captured."""
    return subprocess.run([str(REPO_ROOT / "dev"), *args], capture_output=True, text=True, timeout=600)


def _service(name: str):
    return control.services(StackSettings.from_env(), [name])[0]


def stop_service(name: str) -> None:
    control.down(StackSettings.from_env(), [name])


def start_service(name: str) -> None:
    control.up(StackSettings.from_env(), [name])


def kill_service(name: str) -> None:
    """SIGKILL the service's processes, as a crash or the OOM killer would, and wait until they are gone."""
    svc = _service(name)
    pid = svc.proc.pid()
    assert pid is not None, f"{name} is not running"
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while svc.proc.pid() is not None:
        assert time.monotonic() < deadline, f"{name} (pid {pid}) outlived SIGKILL by 30 s"
        time.sleep(0.1)


def kill_mid_writes(name: str, write_one: Callable[[int], None], acked: Sized, at_least: int,
                    errors: tuple[type[BaseException], ...] = (Exception,)) -> BaseException:
    """`write_one(0)`, `write_one(1)`, ... in a thread until one raises `errors`; the service SIGKILLed once
    `at_least` writes are acknowledged (`len(acked)`), then started again. Returns the error the kill caused."""
    failure: list[BaseException] = []

    def write() -> None:
        for i in itertools.count():
            try:
                write_one(i)
            except errors as exc:
                failure.append(exc)
                return

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    deadline = time.monotonic() + 60
    while len(acked) < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(acked) >= at_least, f"only {len(acked)} writes acknowledged in 60 s"
    kill_service(name)
    writer.join(timeout=30)
    assert not writer.is_alive() and failure, f"the writer did not see {name} die"
    start_service(name)
    return failure[0]


@contextlib.contextmanager
def frozen(name: str):
    """The service's processes stopped with SIGSTOP while the block runs, then continued."""
    pid = _service(name).proc.pid()
    assert pid is not None, f"{name} is not running"
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
    """(source partition, source offset) -> how many committed dead letters name it (read_committed)."""
    consumer = Consumer(kafka_config(connections, **{"group.id": f"check-{dlq}-{time.time_ns()}",
                                                     "isolation.level": "read_committed",
                                                     "enable.auto.commit": False}))
    found: Counter = Counter()
    try:
        metadata = consumer.list_topics(dlq, timeout=30).topics[dlq]
        ends = {}
        for p in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(dlq, p), timeout=30)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(dlq, p, 0) for p in ends])
        deadline = time.monotonic() + timeout
        position = dict.fromkeys(ends, 0)
        while any(position[p] < ends[p] for p in ends) and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=1.0):
                if message.error() is not None:
                    continue
                headers = dict(message.headers() or [])
                found[(int(headers["__connect.errors.partition"]), int(headers["__connect.errors.offset"]))] += 1
            for tp in consumer.position([TopicPartition(dlq, p) for p in ends]):
                position[tp.partition] = max(tp.offset, 0)  # transaction markers move it past the last record
    finally:
        consumer.close()
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
