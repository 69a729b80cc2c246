"""`./dev demo`: the whole flow on the local stack, with the seed's connector configs, until rows reach Cassandra.

Starts `sluice sink` with config/s3-sink.json plus local keys (the record-time extractor, a dead-letter queue,
2-second idle flushes), streams sample events over the last 3 hours of event time (2% malformed), starts
`dagster dev` (webserver and daemon, sensors on) at http://127.0.0.1:3000, and prints what happens until the first
hours are in Cassandra. Ctrl-C stops what it started; the stack and its data stay for next time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

from ingest.cassandra_client import cassandra_cluster
from ingest.clients import ensure_topic, s3_client
from ingest.connections import REPO_ROOT, Connections
from ingest.lake import names
from ingest.produce import generate, produce
from stack import dagster_dev

BIN = Path(sys.executable).parent
WORK = REPO_ROOT / ".stack" / "demo"
BAD_RATIO = 0.02  # share of malformed records, for the DLQ
LOCAL_KEYS = {  # added to the seed config; why each: printed at start
    "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
    "errors.tolerance": "all", "errors.deadletterqueue.topic.name": names.DLQ_TOPIC,
    "errors.deadletterqueue.context.headers.enable": "true", "rotate.schedule.interval.ms": "2000",
}


AVRO_KEYS = {"value.converter": "io.confluent.connect.avro.AvroConverter"}  # with --format avro


def sink_config(keys: dict[str, str]) -> Path:
    document = json.loads((REPO_ROOT / "config" / "s3-sink.json").read_text())
    document["config"].update(keys)
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "s3-sink.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def served(connections: Connections, days: list[dt.date], mine: set[uuid.UUID]) -> int:
    """How many of this run's events are in analytics.events_by_time (rows of earlier runs do not count)."""
    from cassandra import InvalidRequest

    cluster = cassandra_cluster(connections, consistency="LOCAL_QUORUM")
    try:
        session = cluster.connect()
        select = session.prepare("SELECT event_id FROM analytics.events_by_time WHERE event_date = ?")
        return sum(1 for d in days for row in session.execute(select, (d,)) if row.event_id in mine)
    except InvalidRequest:  # no keyspace or table yet: they appear with the first run
        return 0
    finally:
        cluster.shutdown()


def runs(port: int) -> str:
    """Dagster's runs by status, from its GraphQL API (the UI's own), e.g. '3 (2 success, 1 started)'."""
    query = "{ runsOrError(limit: 1000) { ... on Runs { results { status } } } }"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            results = json.loads(response.read())["data"]["runsOrError"]["results"]
    except (OSError, KeyError, TypeError, ValueError):  # the webserver is still starting
        return "-"
    statuses = Counter(r["status"].lower() for r in results)
    return f"{len(results)}" + (f" ({', '.join(f'{n} {s}' for s, n in statuses.most_common())})" if results else "")


def lake_files(connections: Connections, prefix: str) -> int:
    client = s3_client(connections)
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=names.BUCKET, Prefix=prefix)
        return sum(page.get("KeyCount", 0) for page in pages)
    except Exception:
        return 0


def main(port: int = 3000, events: int = 30_000, exit_when_served: bool = False, value_format: str = "json") -> int:
    connections = Connections.from_env()
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start = now - dt.timedelta(hours=3)
    days = sorted({(start + dt.timedelta(hours=h)).date() for h in range(3)})
    keys = LOCAL_KEYS | (AVRO_KEYS if value_format == "avro" else {})
    config = sink_config(keys)
    ensure_topic(connections, names.TOPIC, 3)  # before the sink subscribes to it
    print(f"demo: sink config {config.relative_to(REPO_ROOT)} = config/s3-sink.json + "
          + ", ".join(f"{k}={v}" for k, v in keys.items()))
    print("      (record time files events by when they happened, so an hour is complete and replays land in the "
          "same files; bad records go to " + names.DLQ_TOPIC + ")")
    env = os.environ | {"PATH": f"{BIN}:{os.environ['PATH']}"}
    procs = {
        "sink": subprocess.Popen([str(BIN / "sluice"), "sink", "--config", str(config), "--create-bucket",
                                  "--instance-id", "demo"], stdout=(WORK / "sink.log").open("w"),
                                 stderr=subprocess.STDOUT, env=env),
        "dagster": dagster_dev.start(WORK / "dagster", port, WORK / "dagster.log"),
    }
    sent: dict = {}
    start_ms, seed = int(start.timestamp() * 1000), int(time.time())
    mine = {uuid.UUID(json.loads(e.value)["event_id"]) for e in generate(events, 3, start_ms, BAD_RATIO, seed)
            if e.kind == "good"}
    producer = threading.Thread(target=lambda: sent.update(produce(
        connections, names.TOPIC, events, 3, start_ms, bad_ratio=BAD_RATIO, seed=seed, rate=2000, partitions=3,
        progress=False, value_format=value_format)), daemon=True)
    producer.start()
    last = now - dt.timedelta(hours=1)
    print(f"demo: streaming {events:,} {value_format.upper()} events over {start:%Y-%m-%d %H:00}-{now:%H:00} UTC "
          f"(partitions {start:%Y-%m-%d-%H}:00 to {last:%Y-%m-%d-%H}:00) into Kafka topic '{names.TOPIC}'; "
          f"Dagster UI starting at http://127.0.0.1:{port} (logs in {WORK.relative_to(REPO_ROOT)}/)")
    raw_prefix, landed_prefix = f"{names.TOPICS_DIR}/{names.TOPIC}/", f"{names.LANDED_DIR}/{names.TOPIC}/"
    began, reached, done = time.monotonic(), False, False
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGHUP):  # `kill`, or the terminal closed: stop what we started
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.is_set():
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"demo: {name} exited ({proc.returncode}); see {WORK / (name + '.log')}")
                    return 1
            rows = served(connections, days, mine)
            print(f"demo: {time.monotonic() - began:5.0f}s  produced {sum(sent.values()) if sent else 'streaming'}  "
                  f"raw files {lake_files(connections, raw_prefix)}  "
                  f"landed hours {lake_files(connections, landed_prefix)}  "
                  f"runs {runs(port)}  in Cassandra {rows:,} of the {len(mine):,} valid events",
                  flush=True)
            if rows > 0 and not reached:
                reached = True
                print(f"\ndemo: first rows reached Cassandra after {time.monotonic() - began:.0f}s. Look at:\n"
                      f"  http://127.0.0.1:{port}/asset-groups  (lineage raw -> dbt -> Cassandra)\n"
                      f"  http://127.0.0.1:{port}/automation  (sensors and the schedule)\n"
                      f"  http://127.0.0.1:{port}/locations/orchestration.definitions/jobs/dlq_reprocess/playground"
                      "  (Launch Run replays the dead letters)\n"
                      "  README.md, 'A 5-minute tour': a backfill, the DLQ replay, changing a dbt model\n"
                      "Ctrl-C stops the sink and Dagster; the stack keeps its data.\n", flush=True)
            if rows == len(mine) and not done:
                done = True
                print(f"demo: all {rows:,} valid events are in Cassandra, {time.monotonic() - began:.0f}s after start",
                      flush=True)
                if exit_when_served:
                    break
            stop.wait(5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the sink's last flush short
        print("demo: stopping the sink (it flushes and commits) and Dagster")
        procs["sink"].send_signal(signal.SIGTERM)
        dagster_dev.stop(procs["dagster"])
        try:
            procs["sink"].wait(timeout=60)
        except subprocess.TimeoutExpired:
            procs["sink"].kill()
            procs["sink"].wait()
        print("demo: stopped. The stack runs on: `./dev down` stops it; Kafka, Cassandra and the S3 lake keep "
              "their data in .stack/data/ for the next `./dev up`")
    if procs["sink"].returncode != 0:  # its last flush or commit failed: say so, by the exit code too
        print(f"demo: the sink exited {procs['sink'].returncode}; see {WORK / 'sink.log'}")
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="./dev demo", description="Sluice's whole flow on the local stack.")
    parser.add_argument("--port", type=int, default=3000, help="the Dagster UI's port (3000)")
    parser.add_argument("--events", type=int, default=30_000, help="sample events to stream (30,000)")
    parser.add_argument("--exit-when-served", action="store_true",
                        help="stop once every valid event is in Cassandra (for scripts and tests)")
    parser.add_argument("--format", choices=("json", "avro"), default="json",
                        help="avro: events as Avro in Confluent's wire format (config/events.avsc in the schema "
                             "registry), the sink with value.converter=AvroConverter")
    args = parser.parse_args()
    sys.exit(main(args.port, args.events, args.exit_when_served, args.format))
