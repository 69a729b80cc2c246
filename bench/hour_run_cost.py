"""One hour's run of the hourly flow on a 3-hour lake against the same hour on a 500-hour lake, same run.

    .venv/bin/python bench/hour_run_cost.py [--small 3] [--large 500] [--per-hour 200] [--repeat 3] [--keep]

Needs the stack (`./dev up`). Writes two sample lakes with the commit ledger of their sink (`sluice sample-lake
--ledger`), on fresh bucket, topic, connector and keyspace names, with the same events per hour and the same last
hour, and creates each topic in Kafka, empty (the topic the sink read). Then materializes, in process, the hourly
flow — raw_events, the dbt models, cassandra_events_by_time, cassandra_hourly_event_counts — for the last hour of
each lake, REPEAT times taking turns, and prints the median seconds of the run and of each step (and the assets'
own `duration_s`) per lake, the ratio large/small against the goal (1.5: an hour's run must not grow with the
lake), and how many objects each lake holds, and appends them to bench/RESULTS.md (`bench/results.py`). Drops what
it created unless --keep. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402
from results import report  # noqa: E402
from sample_lakes import PARTITIONS, build_lake, cleanup, print_goal, print_kept  # noqa: E402

from ingest.clients import s3_client  # noqa: E402
from ingest.connections import Connections  # noqa: E402
from orchestration.assets.cassandra import cassandra_events_by_time, cassandra_hourly_event_counts  # noqa: E402
from orchestration.assets.dbt import dbt_models  # noqa: E402
from orchestration.assets.raw import raw_events  # noqa: E402

ASSETS = [raw_events, dbt_models(), cassandra_events_by_time, cassandra_hourly_event_counts]
STEPS = ("raw_events", "sluice_dbt_models", "cassandra_events_by_time", "cassandra_hourly_event_counts")
END_MS = 1_706_745_600_000  # 2024-02-01T00:00:00Z: both lakes end here
HOUR_MS = 3_600_000
PARTITION = "2024-01-31-23:00"  # their last hour
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def object_counts(client, bucket: str) -> Counter:
    """The lake's objects by kind: raw files, ledger manifests, hour index entries, watermarks, other."""
    counts: Counter = Counter()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            parts = o["Key"].split("/")
            kind = parts[2] if parts[0] == "_sluice" else parts[0]
            counts[{"topics": "raw", "ledger": "manifests", "hours": "hour index"}.get(kind, kind)] += 1
    return counts


def build(connections: Connections, tag: str, hours: int, per_hour: int) -> dict:
    name = f"bench-hour-{tag}-{hours}h"
    lake = build_lake(connections, name, f"bench_hour_{tag}_{hours}h", hours, END_MS - hours * HOUR_MS, per_hour)
    return lake | {"hours": hours, "objects": object_counts(s3_client(connections), name), "runs": []}


def run_once(instance: dg.DagsterInstance, lake: dict) -> dict:
    """One materialization of the hour: seconds of the whole call, of each step, the assets' duration_s."""
    began = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):  # dbt's own log lines
        result = dg.materialize(ASSETS, partition_key=PARTITION, resources=lake["resources"], instance=instance,
                                run_config=QUIET)
    total = time.monotonic() - began
    assert result.success
    steps = {s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(result.run_id)
             if s.start_time and s.end_time}
    own = {}
    for step in STEPS:
        for m in result.asset_materializations_for_node(step):
            if "duration_s" in m.metadata:
                own[step] = m.metadata["duration_s"].value
    failed = sorted({c.check_name for c in result.get_asset_check_evaluations() if not c.passed})
    rows = result.asset_materializations_for_node("raw_events")[0].metadata["rows"].value
    return {"total": total, "steps": steps, "own": own, "failed_checks": failed, "rows": rows}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=3, help="hours of the small lake")
    parser.add_argument("--large", type=int, default=500, help="hours of the large lake")
    parser.add_argument("--per-hour", type=int, default=200, help="events per hour (before repeats)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the hour per lake (the median is reported)")
    parser.add_argument("--goal", type=float, default=1.5, help="the ratio large/small not to exceed")
    parser.add_argument("--keep", action="store_true", help="keep the buckets, topics and keyspaces")
    args = parser.parse_args()
    connections = Connections.from_env()
    tag = uuid.uuid4().hex[:8]

    lakes = [build(connections, tag, hours, args.per_hour) for hours in (args.small, args.large)]
    print(f"lakes of {args.per_hour} events/hour on {PARTITIONS} partitions, with a ledger, all ending with hour "
          f"{PARTITION}")
    for lake in lakes:
        objects = lake["objects"]
        print(f"  {lake['hours']:>4}h  s3://{lake['names'].bucket}: {sum(objects.values()):,} objects "
              f"({', '.join(f'{k} {v:,}' for k, v in sorted(objects.items()))}); "
              f"{lake['lake']['rows']:,} rows written in {lake['write_s']:.1f} s")

    instance = dg.DagsterInstance.ephemeral()
    try:
        for _ in range(args.repeat):
            for lake in lakes:  # taking turns, so drift (caches, a busy host) hits both lakes alike
                lake["runs"].append(run_once(instance, lake))
    finally:
        if not args.keep:
            cleanup(connections, lakes)

    small, large = lakes
    print(f"\none hour's run ({PARTITION}), median of {args.repeat} runs per lake, in seconds")
    print(f"  {'':<52}{small['hours']:>6}h {large['hours']:>7}h {'ratio':>7}")

    def row(label: str, pick) -> tuple[float, float]:
        a = median([v for r in small["runs"] if (v := pick(r)) is not None])
        b = median([v for r in large["runs"] if (v := pick(r)) is not None])
        print(f"  {label:<52}{a:7.2f} {b:8.2f} {b / a:7.2f}")
        return a, b

    a, b = row("whole run (dg.materialize)", lambda r: r["total"])
    for step in STEPS:
        row(f"step {step}", lambda r, s=step: r["steps"].get(s))
        if any(step in r["own"] for r in small["runs"] + large["runs"]):
            row("  its duration_s", lambda r, s=step: r["own"].get(s))
    for lake in lakes:
        totals = ", ".join(f"{r['total']:.2f}" for r in lake["runs"])
        failed = sorted({c for r in lake["runs"] for c in r["failed_checks"]})
        print(f"  {lake['hours']}h runs: {totals} s; {lake['runs'][0]['rows']} rows landed; failed checks: "
              f"{', '.join(failed) or 'none'}")
    ratio = b / a
    print_goal(f"{large['hours']}h / {small['hours']}h", ratio, args.goal)
    if args.keep:
        print_kept(lakes)
    report("hour_run_cost", [
        *[(f"hour's run on the {lake['hours']}h lake", "s", round(median([r["total"] for r in lake["runs"]]), 2))
          for lake in lakes],
        *[(f"objects in the {lake['hours']}h lake", "", sum(lake["objects"].values())) for lake in lakes],
    ], ratios={f"{large['hours']}h / {small['hours']}h": ratio},
        notes=f"median of {args.repeat} runs, {args.per_hour:,} events/hour, {PARTITIONS} partitions, ledger; "
              f"goal <= {args.goal:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
