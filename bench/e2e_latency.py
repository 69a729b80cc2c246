"""End-to-end latency: from producing an event to reading it from Cassandra, through the real flow.

    flock /tmp/sluice-bench.lock .venv/bin/python bench/e2e_latency.py [--batches 6] [--every 10] [--size 50]
    flock /tmp/sluice-bench.lock .venv/bin/python bench/e2e_latency.py --ages 1,9,72 [--size 500]  # late data

Needs the stack (`./dev up`). Runs what the demo runs, on fresh names: `sluice sink` with the seed config
(config/s3-sink.json) plus the record-time extractor and `rotate.schedule.interval.ms` 2000 (so an idle partition's
files close within seconds), and `dagster dev -w workspace.yaml` (webserver + daemon; raw-zone sensor on). Every
EVERY seconds it produces SIZE events whose event times lie in the previous hour (complete once the sink has caught
up), then polls Cassandra each second and prints the latency per event: median, p95, max. With `--ages`, batch
i's event times lie in the whole hour that began AGES[i] hours before it is produced (late data: an hour whose
runs are long done, or never happened), and the latency is printed per age.

Then, from the Dagster instance the runs were recorded in, each successful run's overhead: its wall time (launch
by the daemon -> end) minus the time its steps ran (the union of their start..end), split into the worker's start
(launch -> RUN_START) and what remains inside the run; the figures go to a table and a line of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results import report  # noqa: E402

from ingest.cassandra_client import cassandra_cluster  # noqa: E402
from ingest.connections import Connections  # noqa: E402
from ingest.produce import generate, produce  # noqa: E402
from stack import dagster_dev  # noqa: E402

BIN = Path(sys.executable).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between batches")
    parser.add_argument("--size", type=int, default=50, help="events per batch")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--ages", help="comma-separated hours: one batch per age, event times that old")
    args = parser.parse_args()
    ages = [float(a) for a in args.ages.split(",")] if args.ages else None
    if ages:
        args.batches = len(ages)
    connections = Connections.from_env()
    run = uuid.uuid4().hex[:8]
    names = {"topic": f"lat-{run}", "bucket": f"lat-{run}", "sink": f"lat-{run}-sink", "keyspace": f"lat_{run}"}
    work = Path(tempfile.mkdtemp(prefix="sluice-latency-"))
    document = json.loads((ROOT / "config" / "s3-sink.json").read_text())
    document["name"] = names["sink"]
    document["config"].update({"topics": names["topic"], "s3.bucket.name": names["bucket"],
                               "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
                               "rotate.schedule.interval.ms": "2000"})
    (work / "sink.json").write_text(json.dumps(document))
    env = os.environ | {"SLUICE_LAKE_BUCKET": names["bucket"], "SLUICE_LAKE_TOPIC": names["topic"],
                        "SLUICE_SINK_NAME": names["sink"], "SLUICE_CASSANDRA_KEYSPACE": names["keyspace"],
                        "PATH": f"{BIN}:{os.environ['PATH']}"}
    port = dagster_dev.free_port()
    produce(connections, names["topic"], 1, 1, int(time.time() * 1000) - 7_200_000, partitions=2, progress=False)
    procs = [
        subprocess.Popen([str(BIN / "sluice"), "sink", "--config", str(work / "sink.json"), "--create-bucket"],
                         stdout=(work / "sink.log").open("w"), stderr=subprocess.STDOUT, env=env),
        dagster_dev.start(work / "dagster", port, work / "dagster.log", env),
    ]
    produced: dict[str, float] = {}
    seen: dict[str, float] = {}
    cluster = cassandra_cluster(connections, consistency="LOCAL_QUORUM")
    try:
        dagster_dev.wait_ready(port, procs[1], work / "dagster.log")
        print(f"dagster dev on :{port}, logs in {work}")
        began = time.monotonic()
        session = cluster.connect()
        select = None
        batch = 0
        days: set = set()
        age_of: dict[str, float] = {}
        while len(seen) < args.batches * args.size and time.monotonic() - began < args.timeout:
            if batch < args.batches and time.monotonic() - began >= batch * args.every:
                age = ages[batch] if ages else 1.0
                hour = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=age)).replace(minute=0, second=0, microsecond=0)
                start_ms = int(hour.timestamp() * 1000)
                ids = [json.loads(e.value)["event_id"] for e in generate(args.size, 1, start_ms, 0, 1000 + batch)]
                produce(connections, names["topic"], args.size, 1, start_ms, seed=1000 + batch, partitions=2,
                        progress=False)
                now = time.monotonic()
                produced.update(dict.fromkeys(ids, now))
                age_of.update(dict.fromkeys(ids, age))
                days.add(hour.date())
                batch += 1
                print(f"batch {batch}: {args.size} events produced; {len(seen)} of {len(produced)} in Cassandra")
            try:
                select = select or session.prepare(f"SELECT event_id FROM {names['keyspace']}.events_by_time "
                                                   "WHERE event_date = ?")
                for day in sorted(days):
                    rows = session.execute(select, (day,))
                    now = time.monotonic()
                    for r in rows:
                        seen.setdefault(str(r.event_id), now)
            except Exception:  # the keyspace appears with the first run
                pass
            time.sleep(1)
    finally:
        cluster.shutdown()
        procs[0].terminate()
        dagster_dev.stop(procs[1])
        try:
            procs[0].wait(timeout=60)
        except subprocess.TimeoutExpired:
            procs[0].kill()
    latencies = sorted(seen[i] - produced[i] for i in produced if i in seen)
    if not latencies:
        raise SystemExit(f"no event reached Cassandra; see {work}")
    print(f"\n{len(latencies)} of {len(produced)} events reached Cassandra; produce -> Cassandra latency: "
          f"{_spread(latencies)}")
    for age in ages or []:
        mine = sorted(seen[i] - produced[i] for i in produced if i in seen and age_of[i] == age)
        wanted = sum(1 for i in produced if age_of[i] == age)
        print(f"  event times {age:g} h old: {len(mine)} of {wanted} in Cassandra"
              + (f", {_spread(mine)}" if mine else ""))
    runs = run_overheads(work / "dagster")
    for r in runs:
        print(f"  run {r['run_id'][:8]} {r['partition']}: wall {r['wall']:.1f} s, steps {r['steps']:.1f} s, "
              f"overhead {r['overhead']:.1f} s (worker start {r['worker_start']:.1f} s, in run {r['in_run']:.1f} s)")
    rows = [("events in Cassandra", "events", len(latencies)),
            ("latency median", "s", statistics.median(latencies)), ("latency p95", "s", _p95(latencies)),
            ("latency max", "s", latencies[-1]), ("successful runs", "runs", len(runs))]
    if runs:
        rows += [(f"run {name}, median", "s", statistics.median(r[key] for r in runs))
                 for name, key in (("wall", "wall"), ("steps", "steps"), ("overhead", "overhead"),
                                   ("worker start", "worker_start"), ("in-run overhead", "in_run"))]
        rows += [("run overhead, max", "s", max(r["overhead"] for r in runs))]
    report("e2e_latency", rows, notes=f"{args.batches} batches x {args.size} events every {args.every:g} s"
                                      + (f", ages {args.ages}" if args.ages else "") + ", demo sink settings")
    return 0 if len(latencies) == len(produced) else 1


def run_overheads(home: Path) -> list[dict]:
    """Per successful run: wall (daemon launch -> end), the union of its steps' start..end, and the rest."""
    import dagster as dg

    runs = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS])):
            run = record.dagster_run
            stats = instance.get_run_stats(run.run_id)
            steps = sorted((s.start_time, s.end_time) for s in instance.get_run_step_stats(run.run_id)
                           if s.start_time and s.end_time)
            launched = stats.launch_time or stats.start_time
            if not (launched and stats.start_time and stats.end_time and steps):
                continue
            busy, last = 0.0, 0.0
            for begin, end in steps:  # the union: steps of a multiprocess run may overlap
                begin = max(begin, last)
                busy += max(0.0, end - begin)
                last = max(last, end)
            wall = stats.end_time - launched
            runs.append({"run_id": run.run_id, "partition": run.tags.get("dagster/partition", "-"), "wall": wall,
                         "steps": busy, "overhead": wall - busy, "worker_start": stats.start_time - launched,
                         "in_run": stats.end_time - stats.start_time - busy})
    return sorted(runs, key=lambda r: r["partition"])


def _p95(latencies: list[float]) -> float:
    return latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]


def _spread(latencies: list[float]) -> str:
    return f"median {statistics.median(latencies):.1f} s, p95 {_p95(latencies):.1f} s, max {latencies[-1]:.1f} s"


if __name__ == "__main__":
    sys.exit(main())
