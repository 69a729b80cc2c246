"""Sink processes in one consumer group, SIGTERM, and the seed config as it is (wall-clock time)."""

import ast
import datetime as dt
import re
import signal
import threading
import time

import pytest

from ingest.clients import ensure_topic
from support.sink import SEED_CONFIG, committed, object_keys, produce_events, run_sink, sink_config, start_sink


def rows_by_coordinates(lake, bucket: str, topic: str) -> list[tuple[int, int]]:
    return lake.sql(f"select _kafka_partition, _kafka_offset from "
                    f"read_parquet('s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet')").fetchall()


def assignments(output: str) -> list[frozenset[str]]:
    """Every set of partitions a one-task sink process held after a rebalance, in order, from its log."""
    held = re.findall(r"task 0 (?:assigned|revoked) .*; holds (\[.*\])", output)
    return [frozenset(ast.literal_eval(m)) for m in held]


def written(output: str) -> int:
    match = re.search(r"final: .* written=(\d+) ", output)
    assert match, output[-3000:]
    return int(match.group(1))


@pytest.mark.parametrize("protocol", ["classic", "consumer"])  # consumer: KIP-848, Kafka 4's group protocol
def test_two_processes_in_one_group_split_the_partitions_without_duplicates(tmp_path, connections, lake, names,
                                                                            protocol):
    topic, bucket = names["topic"], names["bucket"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": bucket, "tasks.max": "1", "flush.size": "500",
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        **({"consumer.override.group.protocol": protocol} if protocol != "classic" else {}),
    })
    ensure_topic(connections, topic, 4)
    first = start_sink(config, "--exit-when-idle", "6")
    second = start_sink(config, "--exit-when-idle", "6")
    time.sleep(4)  # both join before the events arrive
    deliveries = produce_events(connections, topic, 20_000, partitions=4, seed=21, rate=5_000)
    outputs = [p.communicate(timeout=180)[0] for p in (first, second)]

    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    everything = frozenset(f"{topic}[{p}]" for p in range(4))
    split = [(a, b) for a in assignments(outputs[0]) for b in assignments(outputs[1])
             if a and b and not a & b and a | b == everything]
    assert split, [assignments(out) for out in outputs]
    assert written(outputs[0]) > 0 and written(outputs[1]) > 0
    assert written(outputs[0]) + written(outputs[1]) == len(deliveries)
    rows = rows_by_coordinates(lake, bucket, topic)
    assert len(rows) == len(set(rows)) == len(deliveries)
    assert set(rows) == {(p, o) for p, o, _ in deliveries}


def test_sigterm_uploads_open_files_and_commits_before_exit(tmp_path, connections, lake, names):
    topic, bucket = names["topic"], names["bucket"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": bucket, "tasks.max": "1",  # flush.size 10000 and 10-minute rotation keep files open
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
    })
    deliveries = produce_events(connections, topic, 900, partitions=2, seed=8, hours=0.1)
    proc = start_sink(config, "--stats-every", "0.5")
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "progress: good=900 " in line:
            break
    assert "written=0 " in lines[-1], lines[-1]  # every record is in an open file
    proc.send_signal(signal.SIGTERM)
    out = "".join(lines) + proc.communicate(timeout=60)[0]

    assert proc.returncode == 0, out
    assert "SIGTERM: flushing open files" in out
    assert "final: good=900 " in out and "written=900 " in out
    assert sorted(rows_by_coordinates(lake, bucket, topic)) == [(p, o) for p, o, _ in deliveries]
    ends = [1 + max(o for p, o, _ in deliveries if p == part) for part in (0, 1)]
    assert committed(connections, f"connect-{names['name']}", topic, 2) == ends


def test_a_sink_started_before_its_topic_exists_waits_for_it(tmp_path, connections, lake, names):
    """As Kafka Connect does: a subscribed topic that does not exist yet is waited for, not a task failure."""
    topic, bucket = names["topic"], names["bucket"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": bucket, "tasks.max": "1", "timestamp.extractor": "RecordField",
        "timestamp.field": "event_time", "rotate.schedule.interval.ms": "1000",
    })
    proc = start_sink(config, "--stats-every", "0.5", "--exit-when-idle", "8")
    timer = threading.Timer(120, proc.kill)  # a sink that hangs fails the test, it does not hang the suite
    timer.start()
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "waiting for it to be created" in line:
                break
        deliveries = produce_events(connections, topic, 300, partitions=2, seed=9, hours=0.1)
        out = "".join(lines) + proc.communicate()[0]
    finally:
        timer.cancel()

    assert proc.returncode == 0, out
    assert "task failed" not in out
    assert sorted(rows_by_coordinates(lake, bucket, topic)) == [(p, o) for p, o, _ in deliveries]


def test_the_seed_config_runs_as_is_with_wallclock_time(tmp_path, connections, s3, lake, names):
    """Only the names differ from config/s3-sink.json: no extractor, so Confluent's Wallclock default applies."""
    topic, bucket = names["topic"], names["bucket"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{"s3.bucket.name": bucket})
    assert SEED_CONFIG.read_text().count('"') == config.read_text().count('"')  # no key added or removed
    deliveries = produce_events(connections, topic, 1500, partitions=2, seed=9)
    began = dt.datetime.now(dt.UTC)

    result = run_sink(config)
    ended = dt.datetime.now(dt.UTC)

    assert result.returncode == 0, result.stdout
    assert "'timezone' is not set" in result.stdout and "using UTC" in result.stdout
    assert "Wallclock" in result.stdout
    hours = {f"year={t:%Y}/month={t:%m}/day={t:%d}/hour={t:%H}" for t in (began, ended)}
    keys = object_keys(s3, bucket, "topics/")
    pattern = re.compile(rf"topics/{topic}/(year=\d{{4}}/month=\d\d/day=\d\d/hour=\d\d)/{topic}\+([01])\+(\d{{10}})"
                         r"\.snappy\.parquet")
    matches = [pattern.fullmatch(k) for k in keys]
    assert all(matches), keys
    assert {m.group(1) for m in matches} <= hours
    assert {(int(m.group(2)), int(m.group(3))) for m in matches} >= {(0, 0), (1, 0)}
    assert sorted(rows_by_coordinates(lake, bucket, topic)) == [(p, o) for p, o, _ in deliveries]
