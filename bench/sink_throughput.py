"""The S3 sink against a bare confluent-kafka consumer on the same topic, measured in the same run.

    .venv/bin/python bench/sink_throughput.py [--events 1000000] [--partitions 4] [--tasks 1] [--dlq]
                                              [--flush-size 10000] [--rotation sluice|confluent]
                                              [--format json|avro]

Needs the stack (`./dev up`). Produces the events once to a fresh topic, then runs, each as its own process
and timed from launch: a bare consumer that reads every record and discards it (the baseline, with the fetch
settings the issue's first figures were taken with), the same loop with the sink's fetch settings (librdkafka's
default fetch.queue.backoff.ms of 1 s stalls the first one whenever its queue fills), and
`sluice sink` with the seed config (record-time extractor, one process) until its group has committed every
offset. Prints events/s, peak RSS and their ratios, then a per-stage profile of the sink's work on one
flush-sized batch, which shows what bounds it. Files are compared with their floor: per Kafka partition and hour,
its records / flush.size, rounded up, and no fewer than the seed config's rotate.interval.ms (10 min of event
time) needs for the hour's event-time span (which matters at a large --flush-size). Not part of the test suite;
the figures go to bench/RESULTS.md.

With --dlq, 0.1% of the events are malformed and the sink (only the sink: the baseline reads every record as
before) runs with errors.tolerance=all, a dead-letter topic and context headers, so each round's commit is a Kafka
transaction that also produces its dead letters; the ratio then includes what those transactions cost.

With --format avro, the same events also go to a second topic as Avro in Confluent's wire format (registered in the
stack's schema registry), and the bare loop and the sink (value.converter=AvroConverter) run on it too: the
sink/bare ratio of each format and the Avro sink's throughput against the JSON sink's, from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results import report  # noqa: E402

from ingest.clients import FETCH_SETTINGS, kafka_config  # noqa: E402
from ingest.connections import Connections  # noqa: E402

START_MS = 1_705_309_200_000  # 2024-01-15T09:00:00Z
DLQ_BAD_RATIO = 0.001  # malformed share of the events under --dlq
AVRO = {"value.converter": "io.confluent.connect.avro.AvroConverter"}


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bare_consume(topic: str, events: int, tuned: bool) -> None:
    """The baseline, in its own process: consume `events` records as fast as possible and drop them. Tuned, it
    fetches as the sink does (FETCH_SETTINGS); else with the settings the issue's first figures were taken with."""
    connections = Connections.from_env()
    consumer = Consumer(kafka_config(connections, **{
        "group.id": f"bare-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest", "enable.auto.commit": False,
        **(FETCH_SETTINGS if tuned else {"fetch.max.bytes": 16 * 1024 * 1024}),
    }))
    consumer.subscribe([topic])
    seen = 0
    while seen < events:
        for message in consumer.consume(num_messages=10_000, timeout=0.2):
            if message.error() is None:
                message.value()
                seen += 1
    consumer.close()
    print(json.dumps({"peak_rss_mib": peak_rss_mib(os.getpid())}))


def committed_total(connections: Connections, group: str, topic: str, partitions: int) -> int:
    consumer = Consumer(kafka_config(connections, **{"group.id": group}))
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return sum(max(tp.offset, 0) for tp in tps)
    finally:
        consumer.close()


def run_baseline(topic: str, events: int, tuned: bool = False) -> dict:
    began = time.monotonic()
    out = subprocess.run([sys.executable, __file__, "--bare", topic, "--events", str(events)]
                         + (["--tuned"] if tuned else []), check=True, capture_output=True, text=True).stdout
    seconds = time.monotonic() - began
    return {"seconds": seconds, "events_per_s": events / seconds, **json.loads(out.strip().splitlines()[-1])}


def dlq_keys(topic: str) -> dict:
    return {"errors.tolerance": "all", "errors.deadletterqueue.topic.name": f"{topic}-dlq",
            "errors.deadletterqueue.context.headers.enable": "true"}


def run_sink(connections: Connections, topic: str, bucket: str, sent: dict, partitions: int, tasks: int,
             workdir: Path, dlq: bool, settings: dict[str, str]) -> dict:
    name = f"{topic}-sink"
    events, good = sum(sent.values()), sent.get("good", 0)
    document = json.loads((ROOT / "config" / "s3-sink.json").read_text())
    document["name"] = name
    document["config"].update({"topics": topic, "s3.bucket.name": bucket, "tasks.max": str(tasks),
                               "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
                               **settings, **(dlq_keys(topic) if dlq else {})})
    config = workdir / f"{name}.json"
    config.write_text(json.dumps(document))
    log_path = workdir / f"{name}.log"
    began = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "sluice"), "sink", "--config", str(config),
                                 "--create-bucket", "--stats-every", "0.25"], stdout=log, stderr=subprocess.STDOUT)
    # Every record consumed, then SIGTERM: the sink uploads its open files and commits; timed until it exits.
    peak = 0.0
    while f"good={good} dead_lettered={events - good} " not in log_path.read_text():
        time.sleep(0.25)
        if proc.poll() is not None:
            raise SystemExit(f"the sink exited early ({proc.returncode}); see {log_path}")
        peak = max(peak, peak_rss_mib(proc.pid))
    peak = max(peak, peak_rss_mib(proc.pid))
    proc.terminate()
    proc.wait(timeout=120)
    seconds = time.monotonic() - began
    final = [line for line in log_path.read_text().splitlines() if "final:" in line][-1]
    stats = dict(item.split("=") for item in final.split("final: ")[1].split())
    if committed_total(connections, f"connect-{name}", topic, partitions) != events or int(stats["written"]) != good:
        raise SystemExit(f"the sink did not write and commit every record; see {log_path}")
    return {"seconds": seconds, "events_per_s": events / seconds, "peak_rss_mib": peak, "log": str(log_path),
            "files": int(stats["files"]), "dead_lettered": int(stats["dead_lettered"]),
            "commits": int(stats["commits"])}


def file_floor(connections: Connections, bucket: str, topic: str, flush_size: int, rotate_interval_ms: int) -> int:
    """The fewest files the records allow: per Kafka partition and hour, ceil(records / flush.size), and at least
    as many as rotate.interval.ms needs to cover the event-time span of its records (a file spans less)."""
    from ingest.lake.connection import lake_connection

    con = lake_connection(connections.s3)
    try:
        return con.sql(f"""
            select sum(greatest(ceil(n / {flush_size}), ceil((span_ms + 1) / {rotate_interval_ms})))::bigint from (
                select _kafka_partition, year, month, day, hour, count(*) as n,
                       epoch_ms(max(event_time)) - epoch_ms(min(event_time)) as span_ms
                from read_parquet('s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet', hive_partitioning = true)
                group by all)""").fetchone()[0]
    finally:
        con.close()


def stage_profile(connections: Connections, topic: str, bucket: str, batch: int, extra: dict | None = None) -> dict:
    """Seconds per stage for one flush-sized batch of one partition, in this process."""
    from ingest.config import parse_sink_config
    from ingest.sink import reader_schema
    from ingest.sink.records import RecordConverter
    from ingest.sink.storage import Storage
    from ingest.sink.writer import file_bytes

    document = json.loads((ROOT / "config" / "s3-sink.json").read_text())
    document["config"].update({"topics": topic, "s3.bucket.name": bucket, "timestamp.extractor": "RecordField",
                               "timestamp.field": "event_time", **(extra or {})})
    cfg = parse_sink_config(document, connections)
    consumer = Consumer(kafka_config(connections, **{"group.id": f"profile-{uuid.uuid4().hex[:8]}",
                                              "enable.auto.commit": False, "fetch.max.bytes": 16 * 1024 * 1024}))
    consumer.assign([TopicPartition(topic, 0, 0)])
    messages: list = []
    t0 = time.perf_counter()
    while len(messages) < batch:
        messages += consumer.consume(num_messages=batch - len(messages), timeout=1.0)
    t_consume = time.perf_counter() - t0
    consumer.close()
    cfg = reader_schema.resolve(cfg, threading.Event())  # an Avro config: the registry's schema
    converter = RecordConverter(cfg, reader_schema.event_schema(cfg), lambda: 0)
    converter.convert(topic, 0, messages[:100])  # warm-up
    t0 = time.perf_counter()
    converted = converter.convert(topic, 0, messages)
    t_convert = time.perf_counter() - t0
    t0 = time.perf_counter()
    body = file_bytes(converted.rows, "parquet", cfg.parquet_codec, converter.schema)
    t_parquet = time.perf_counter() - t0
    storage = Storage(connections, bucket)
    t0 = time.perf_counter()
    storage.put(f"bench/{topic}/profile.parquet", body)
    t_put = time.perf_counter() - t0
    return {"records": len(messages), "consume": t_consume, "decode+convert": t_convert,
            "parquet": t_parquet, "s3 put": t_put, "parquet_bytes": len(body)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=1, help="tasks.max of the sink (one process)")
    parser.add_argument("--jitter-ms", type=int, default=30_000,
                        help="event-time disorder of the producer (default: sluice produce's ±30 s)")
    parser.add_argument("--dlq", action="store_true",
                        help=f"{DLQ_BAD_RATIO * 100:g}%% malformed events and the sink with a DLQ "
                             "(one Kafka transaction per round)")
    parser.add_argument("--flush-size", type=int, default=10_000, help="flush.size (the seed config's: 10000)")
    parser.add_argument("--rotation", choices=("sluice", "confluent"), default="sluice",
                        help="sluice.rotation: confluent also closes files when the hour changes between records")
    parser.add_argument("--format", choices=("json", "avro"), default="json",
                        help="avro: also the same events as Avro (schema registry) through bare loop and sink")
    parser.add_argument("--bare", metavar="TOPIC", help=argparse.SUPPRESS)
    parser.add_argument("--tuned", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_consume(args.bare, args.events, args.tuned)
        return 0

    from ingest.produce import produce
    from ingest.sink.storage import Storage

    connections = Connections.from_env()
    run_id = uuid.uuid4().hex[:8]
    topic, bucket = f"bench-{run_id}", f"bench-{run_id}"
    began = time.monotonic()
    sent = produce(connections, topic, args.events, 3, START_MS, bad_ratio=DLQ_BAD_RATIO if args.dlq else 0.0,
                   seed=1, partitions=args.partitions, jitter_ms=args.jitter_ms)
    produced = time.monotonic() - began
    Storage(connections, bucket).ensure_bucket(create=True)
    workdir = ROOT / ".stack" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)

    base = run_baseline(topic, args.events)
    tuned = run_baseline(topic, args.events, tuned=True)
    settings = {"flush.size": str(args.flush_size), "sluice.rotation": args.rotation}
    sink = run_sink(connections, topic, bucket, sent, args.partitions, args.tasks, workdir, args.dlq, settings)
    rotate_ms = int(json.loads((ROOT / "config" / "s3-sink.json").read_text())["config"]["rotate.interval.ms"])
    floor = file_floor(connections, bucket, topic, args.flush_size, rotate_ms)
    profile = stage_profile(connections, topic, bucket, 10_000)
    avro = run_avro(connections, topic, bucket, sent, args, workdir, settings) if args.format == "avro" else None

    print(f"\n{args.events:,} events (~300 B, event times ±{args.jitter_ms / 1000:g} s out of order) "
          f"on {args.partitions} partitions; produced in {produced:.1f}s")
    if args.dlq:
        print(f"sink with a DLQ: {sent.get('good', 0):,} good, {args.events - sent.get('good', 0):,} malformed "
              f"({DLQ_BAD_RATIO:.1%}) -> {topic}-dlq; each round's commit is a Kafka transaction")
    print(f"{'':<34}{'seconds':>10}{'events/s':>12}{'peak RSS MiB':>15}")
    sink_label = f"sluice sink (tasks.max={args.tasks}{', DLQ' if args.dlq else ''})"
    for label, r in (("bare confluent-kafka loop", base), ("bare loop, the sink's fetch settings", tuned),
                     (sink_label, sink)):
        print(f"{label:<34}{r['seconds']:>10.1f}{r['events_per_s']:>12,.0f}{r['peak_rss_mib']:>15.0f}")
    print(f"ratio sink/bare: throughput {sink['events_per_s'] / base['events_per_s']:.2f} "
          f"({sink['events_per_s'] / tuned['events_per_s']:.2f} to the tuned loop), "
          f"peak memory {sink['peak_rss_mib'] / base['peak_rss_mib']:.2f}")
    stages = {k: v for k, v in profile.items() if k not in ("records", "parquet_bytes")}
    total = sum(stages.values())
    print(f"\nper-stage profile of one {profile['records']:,}-record batch "
          f"({profile['parquet_bytes'] / 1024:.0f} KiB of Parquet):")
    for stage, seconds in stages.items():
        print(f"  {stage:<16}{seconds * 1000:>8.1f} ms  {100 * seconds / total:>5.1f}%  "
              f"{profile['records'] / seconds:>12,.0f} records/s")
    print(f"sink wrote {sink['files']:,} files (floor {floor:,}: {sink['files'] / floor:.2f}x) and "
          f"{sink['dead_lettered']:,} dead letters in {sink['commits']:,} commits; log: {sink['log']}")
    if avro is not None:
        print_avro(avro, base, sink, args)
        return 0
    report("sink_throughput", [
        ("bare consumer", "ev/s", round(base["events_per_s"])),
        ("bare consumer, sink's fetch settings", "ev/s", round(tuned["events_per_s"])),
        ("sink", "ev/s", round(sink["events_per_s"])),
        ("sink peak RSS", "MiB", round(sink["peak_rss_mib"])), ("bare peak RSS", "MiB", round(base["peak_rss_mib"])),
        ("files", "", sink["files"]), ("file floor", "", floor)],
        ratios={"sink / bare": sink["events_per_s"] / base["events_per_s"],
                "sink / tuned bare": sink["events_per_s"] / tuned["events_per_s"],
                "files / floor": sink["files"] / floor},
        notes=f"{args.events:,} events ±{args.jitter_ms / 1000:g} s, {args.partitions} partitions, "
              f"tasks.max={args.tasks}, flush.size={args.flush_size}, rotation={args.rotation}"
              + (", DLQ" if args.dlq else ""))
    return 0



def run_avro(connections: Connections, topic: str, bucket: str, sent: dict, args, workdir: Path,
             settings: dict) -> dict:
    """The same events as Avro on a second topic: the bare loop and the sink on it."""
    from ingest.produce import produce

    avro_topic = f"{topic}-avro"
    avro_sent = produce(connections, avro_topic, args.events, 3, START_MS,
                        bad_ratio=DLQ_BAD_RATIO if args.dlq else 0.0, seed=1, partitions=args.partitions,
                        jitter_ms=args.jitter_ms, value_format="avro")
    if avro_sent != sent:
        raise SystemExit(f"the Avro topic got other events than the JSON one: {avro_sent} != {sent}")
    base = run_baseline(avro_topic, args.events)
    sink = run_sink(connections, avro_topic, bucket, sent, args.partitions, args.tasks, workdir, args.dlq,
                    settings | AVRO)
    return {"base": base, "sink": sink, "profile": stage_profile(connections, avro_topic, bucket, 10_000, AVRO)}


def print_avro(avro: dict, json_base: dict, json_sink: dict, args) -> None:
    base, sink, profile = avro["base"], avro["sink"], avro["profile"]
    print(f"\nthe same events as Avro (Confluent wire format, {profile['parquet_bytes'] / 1024:.0f} KiB of Parquet "
          f"per 10,000 as for JSON):")
    print(f"{'':<34}{'seconds':>10}{'events/s':>12}{'peak RSS MiB':>15}")
    for label, r in (("bare loop, Avro topic", base), ("sluice sink, AvroConverter", sink)):
        print(f"{label:<34}{r['seconds']:>10.1f}{r['events_per_s']:>12,.0f}{r['peak_rss_mib']:>15.0f}")
    print(f"  decode+convert of 10,000 Avro values: {profile['decode+convert'] * 1000:.1f} ms")
    report("sink_throughput_avro", [
        ("bare consumer, JSON topic", "ev/s", round(json_base["events_per_s"])),
        ("sink, JSON", "ev/s", round(json_sink["events_per_s"])),
        ("bare consumer, Avro topic", "ev/s", round(base["events_per_s"])),
        ("sink, Avro", "ev/s", round(sink["events_per_s"])),
        ("sink peak RSS, Avro", "MiB", round(sink["peak_rss_mib"])),
        ("decode+convert per 10,000, Avro", "ms", round(profile["decode+convert"] * 1000, 1))],
        ratios={"JSON sink / bare": json_sink["events_per_s"] / json_base["events_per_s"],
                "Avro sink / bare": sink["events_per_s"] / base["events_per_s"],
                "Avro sink / JSON sink": sink["events_per_s"] / json_sink["events_per_s"]},
        notes=f"{args.events:,} events ±{args.jitter_ms / 1000:g} s, {args.partitions} partitions, "
              f"tasks.max={args.tasks}, flush.size={args.flush_size}" + (", DLQ" if args.dlq else ""))


if __name__ == "__main__":
    sys.exit(main())
