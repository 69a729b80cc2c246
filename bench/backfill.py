"""A backfill of 24 hours as one run against 24 one-hour runs of the hourly flow, same data, same run.

    .venv/bin/python bench/backfill.py [--hours 24] [--per-hour 1000] [--goal 0.3] [--keep]

Needs the stack (`./dev up`). Writes two sample lakes of HOURS hours with the commit ledger of their sink
(`sluice sample-lake --ledger`), the same seed and so the same events, on fresh bucket, topic, connector and
keyspace names (one lake and keyspace per way of running, so neither finds the other's landed files, curated files
or Cassandra rows), and creates each topic in Kafka, empty. After one warm-up hour (imports, dbt's first start,
untimed in the figures), it runs the `hourly_flow` job in process (a) over the whole range as ONE run (the
`dagster/asset_partition_range_start`/`_end` tags, as a backfill with the single-run policy launches it) and
(b) as HOURS one-hour runs, then prints both wall times and the ratio a/b against the goal (0.3), where the time
goes (each step's seconds, the assets' own `duration_s`, dbt's per-node execution time, the rest of the run),
and whether both keyspaces hold the same event ids per hour and the same hourly counts. Drops what it created
unless --keep. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402
from results import report  # noqa: E402
from sample_lakes import PARTITIONS, build_lake, cleanup, print_goal, print_kept  # noqa: E402

from ingest.cassandra_client import cassandra_cluster  # noqa: E402
from ingest.connections import Connections  # noqa: E402
from orchestration.lib.windows import partition_key  # noqa: E402

START = dt.datetime(2024, 1, 15, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
STEPS = ("raw_events", "sluice_dbt_models", "cassandra_events_by_time", "cassandra_hourly_event_counts")
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}  # not dagster-dbt's warning per run


def execute(instance: dg.DagsterInstance, lake: dict, **how) -> dict:
    """One run of hourly_flow (`how`: partition_key=, or tags= of a range): its seconds and where they went."""
    from orchestration.definitions import defs

    job = defs().resolve_job_def("hourly_flow")
    began = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):  # dbt's own log lines
        result = job.execute_in_process(resources=lake["resources"], instance=instance, run_config=QUIET, **how)
    total = time.monotonic() - began
    assert result.success
    steps = {s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(result.run_id)
             if s.start_time and s.end_time}
    own, dbt_nodes = {}, defaultdict(float)
    for step in STEPS:
        for m in result.asset_materializations_for_node(step)[:1]:  # a range run repeats its metadata per hour
            if "duration_s" in m.metadata:
                own[step] = m.metadata["duration_s"].value
    seen = set()
    for m in result.asset_materializations_for_node("sluice_dbt_models"):
        if "Execution Duration" in m.metadata and m.asset_key not in seen:  # once per model per run
            seen.add(m.asset_key)
            dbt_nodes[m.asset_key.to_user_string()] += m.metadata["Execution Duration"].value
    tests = {}
    for c in result.get_asset_check_evaluations():
        if "Execution Duration" in c.metadata:
            tests[c.check_name + c.asset_key.to_user_string()] = c.metadata["Execution Duration"].value
    dbt_nodes["tests (sum; dbt runs them in threads)"] = sum(tests.values())
    failed = sorted({c.check_name for c in result.get_asset_check_evaluations() if not c.passed})
    return {"total": total, "steps": steps, "own": own, "dbt": dict(dbt_nodes), "failed": failed}


def held(session, keyspace: str, hours: list[dt.datetime]) -> dict:
    """What the keyspace serves: the sorted event ids per hour and the hourly counts rows of the window's days."""
    ids = {}
    for h in hours:
        rows = session.execute(f"SELECT event_id FROM {keyspace}.events_by_time WHERE event_date = %s "
                               "AND event_time >= %s AND event_time < %s", (h.date(), h, h + HOUR))
        ids[partition_key(h)] = sorted(str(r.event_id) for r in rows)
    counts = sorted(tuple(r) for d in sorted({h.date() for h in hours})
                    for r in session.execute(f"SELECT event_date, event_hour, event_type, category, events, users, "
                                             f"revenue FROM {keyspace}.hourly_event_counts WHERE event_date = %s",
                                             (d,)))
    return {"ids": ids, "counts": counts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=24, help="hours of the backfill")
    parser.add_argument("--per-hour", type=int, default=1000, help="events per hour (before repeats)")
    parser.add_argument("--goal", type=float, default=0.3, help="the ratio one run / hour-by-hour not to exceed")
    parser.add_argument("--keep", action="store_true", help="keep the buckets, topics and keyspaces")
    args = parser.parse_args()
    connections = Connections.from_env()
    tag = uuid.uuid4().hex[:8]
    hours = [START + k * HOUR for k in range(args.hours)]
    first, last = partition_key(hours[0]), partition_key(hours[-1])

    start_ms = int(START.timestamp() * 1000)
    one = build_lake(connections, f"bench-backfill-{tag}-range", f"bench_backfill_{tag}_range", args.hours,
                     start_ms, args.per_hour)
    each = build_lake(connections, f"bench-backfill-{tag}-hourly", f"bench_backfill_{tag}_hourly", args.hours,
                      start_ms, args.per_hour)
    lakes = [one, each]
    print(f"two lakes of {args.hours} hours ({first} .. {last}), {args.per_hour} events/hour on {PARTITIONS} "
          f"partitions, with a ledger, seed 7: {one['lake']['rows']:,} / {each['lake']['rows']:,} rows written in "
          f"{one['write_s']:.1f} / {each['write_s']:.1f} s")

    instance = dg.DagsterInstance.ephemeral()
    try:
        warm = execute(instance, each, partition_key=first)  # rewritten by the timed run of the same hour
        print(f"warm-up: one hour ({first}) in {warm['total']:.1f} s (not counted)")
        ranged = execute(instance, one, tags={"dagster/asset_partition_range_start": first,
                                              "dagster/asset_partition_range_end": last})
        print(f"(a) one run of {args.hours} hours: {ranged['total']:.1f} s")
        hourly = []
        for h in hours:
            hourly.append(execute(instance, each, partition_key=partition_key(h)))
        print(f"(b) {args.hours} one-hour runs: {sum(r['total'] for r in hourly):.1f} s "
              f"(each {min(r['total'] for r in hourly):.1f} .. {max(r['total'] for r in hourly):.1f} s)")
        cluster = cassandra_cluster(connections)
        try:
            session = cluster.connect()
            served = [held(session, lake["keyspace"], hours) for lake in lakes]
        finally:
            cluster.shutdown()
    finally:
        if not args.keep:
            cleanup(connections, lakes)

    a, b = ranged["total"], sum(r["total"] for r in hourly)
    print(f"\nwhere the time goes, in seconds: (a) one run of {args.hours} hours, (b) the sum of {args.hours} "
          "one-hour runs")
    print(f"  {'':<56}{'(a)':>8} {'(b)':>8} {'a/b':>6}")

    def row(label: str, x: float, y: float) -> None:
        print(f"  {label:<56}{x:8.2f} {y:8.2f} {x / y if y else float('nan'):6.2f}")

    row("whole run (execute_in_process)", a, b)
    for step in STEPS:
        row(f"step {step}", ranged["steps"].get(step, 0.0), sum(r["steps"].get(step, 0.0) for r in hourly))
        if step in ranged["own"]:
            row("  its duration_s", ranged["own"][step], sum(r["own"].get(step, 0.0) for r in hourly))
        if step == "sluice_dbt_models":
            for node in ranged["dbt"]:
                row(f"  dbt {node}", ranged["dbt"][node], sum(r["dbt"].get(node, 0.0) for r in hourly))
            row("  dbt outside its nodes (start, parse, connect, events)",
                ranged["steps"].get(step, 0.0) - sum(ranged["dbt"].values()),
                sum(r["steps"].get(step, 0.0) - sum(r["dbt"].values()) for r in hourly))
    row("outside the steps (run start, plan, events, end)", a - sum(ranged["steps"].values()),
        b - sum(sum(r["steps"].values()) for r in hourly))
    failed = sorted(set(ranged["failed"]) | {c for r in hourly for c in r["failed"]})
    print(f"  failed checks: {', '.join(failed) or 'none'}")

    ranged_ids, hourly_ids = served[0]["ids"], served[1]["ids"]
    differ = [k for k in ranged_ids if ranged_ids[k] != hourly_ids[k]]
    ids = sum(len(v) for v in ranged_ids.values())
    same_counts = served[0]["counts"] == served[1]["counts"]
    print(f"Cassandra: events_by_time ids per hour {'the same' if not differ else 'DIFFER'} in both keyspaces "
          f"({ids:,} / {sum(len(v) for v in hourly_ids.values()):,} ids over {len(ranged_ids)} hours, "
          f"{sum(1 for v in ranged_ids.values() if v)} hours non-empty"
          + (f"; differ in {', '.join(differ)}" if differ else "") + "); hourly_event_counts rows "
          f"{'the same' if same_counts else 'DIFFER'} ({len(served[0]['counts'])} / {len(served[1]['counts'])})")
    ratio = a / b
    print_goal(f"one run / {args.hours} one-hour runs", ratio, args.goal)
    if args.keep:
        print_kept(lakes)
    report("backfill", [
        (f"one run of {args.hours} hours", "s", round(a, 1)),
        (f"{args.hours} one-hour runs", "s", round(b, 1)),
        ("Cassandra ids per hour", "", "same" if not differ else f"differ in {len(differ)} hours"),
        ("ids served", "", ids),
    ], ratios={f"one run / {args.hours} runs": ratio},
        notes=f"{args.per_hour:,} events/hour, {PARTITIONS} partitions, ledger; goal <= {args.goal:g}")
    return 0 if not differ and same_counts else 1


if __name__ == "__main__":
    sys.exit(main())
