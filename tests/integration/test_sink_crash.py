"""SIGKILL at random moments while events stream in: afterwards every valid record is in S3 exactly once, every
bad one in the DLQ exactly once, and the commit ledger tiles every committed offset."""

import os
import random
import threading
import time

from ingest.clients import ensure_topic
from ingest.produce import produce
from support.faults import dlq_offsets, ledger_check
from support.sink import START_MS, committed, object_keys, run_sink, sink_config, sink_log, start_sink

EVENTS = 200_000
KILLS = 5


def started(proc, timeout: float = 60) -> None:
    """Until the sink has started its tasks (it logs `task(s) in group`): past Python's imports, slow on a busy
    machine, which a kill timed from the process's start would mostly hit."""
    deadline = time.monotonic() + timeout
    while "task(s) in group" not in sink_log(proc):
        assert proc.poll() is None, sink_log(proc)[-3000:]
        assert time.monotonic() < deadline, f"the sink did not start its tasks within {timeout:.0f} s"
        time.sleep(0.1)


def test_sigkill_at_random_moments_neither_loses_nor_duplicates(tmp_path, connections, s3, lake, names):
    seed = int(os.environ.get("SLUICE_CRASH_SEED", "2024"))
    rng = random.Random(seed)
    topic, bucket = names["topic"], names["bucket"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": bucket, "tasks.max": "2", "flush.size": "2500",
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": names["dlq"],
        "errors.deadletterqueue.context.headers.enable": "true",
    })
    ensure_topic(connections, topic, 4)
    deliveries: list = []
    streaming = threading.Thread(target=produce, args=(connections, topic, EVENTS, 3, START_MS), kwargs={
        # 50 s of streaming: time for KILLS kills, each timed from the sink's start of work, on a busy machine too
        "bad_ratio": 0.002, "seed": 5, "rate": 4_000, "partitions": 4, "progress": False, "deliveries": deliveries,
    })
    streaming.start()

    kills_while_streaming = 0
    outputs = []
    try:
        while streaming.is_alive():
            proc = start_sink(config, "--instance-id", "crash", log=tmp_path / f"sink-{len(outputs)}.log")
            started(proc)
            time.sleep(rng.uniform(1.5, 4.0))
            kills_while_streaming += streaming.is_alive()
            proc.kill()
            proc.wait()
            outputs.append(sink_log(proc))
    finally:
        streaming.join()
    files_before_drain = len(object_keys(s3, bucket, "topics/"))

    result = run_sink(config, "--instance-id", "crash")
    assert result.returncode == 0, result.stdout

    assert len(deliveries) == EVENTS
    assert kills_while_streaming >= KILLS, f"seed {seed}: only {kills_while_streaming} kills while streaming"
    assert files_before_drain > 0, "the killed sinks never uploaded a file: the kills came too early to matter"
    assert any("progress" in out or "assigned" in out for out in outputs)
    counts = lake.sql(f"""
        select _kafka_partition, _kafka_offset, count(*) as n
        from read_parquet('s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet')
        group by all""").fetchall()
    duplicated = [(p, o, n) for p, o, n in counts if n > 1]
    assert duplicated == [], f"seed {seed}: {len(duplicated)} records written twice, e.g. {duplicated[:5]}"
    valid = {(p, o) for p, o, kind in deliveries if kind == "good"}
    assert {(p, o) for p, o, _ in counts} == valid, f"seed {seed}"

    bad = {(p, o) for p, o, kind in deliveries if kind != "good"}
    dead = dlq_offsets(connections, names["dlq"])
    assert [k for k, n in dead.items() if n > 1] == [], f"seed {seed}: dead letters written twice"
    assert set(dead) == bad, f"seed {seed}"
    group = committed(connections, f"connect-{names['name']}", topic, 4)
    covered, problems = ledger_check(s3, bucket, names["name"], topic, dict(enumerate(group)))
    assert problems == [], f"seed {seed}"
    assert sum(n for (_, kind), n in covered.items() if kind == "rows") == len(valid)
    assert sum(n for (_, kind), n in covered.items() if kind == "dlq") == len(bad)
