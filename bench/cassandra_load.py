"""Sluice's Cassandra loader against a bare execute_concurrent_with_args loop, same rows, same statement, same run.

    .venv/bin/python bench/cassandra_load.py [--rows 1000000]

Needs the stack (`./dev up`). Makes ROWS events_by_time rows for one day in memory, loads them with a bare
`execute_concurrent_with_args` loop over the prepared INSERT (the baseline) into one table, and with
`ingest.serving.load.load_events_window` (the asset's loader: window replacement, TTL and write timestamps)
into another, then prints rows/s and the ratio (goal: >= 2) and appends them to bench/RESULTS.md
(`bench/results.py`). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results import report  # noqa: E402

from ingest.cassandra_client import cassandra_cluster, consistency_level  # noqa: E402
from ingest.connections import Connections  # noqa: E402
from ingest.serving.load import ensure_events_table, load_events_window, write_version  # noqa: E402
from ingest.serving.mapping import TableMapping  # noqa: E402

GOAL = 2.0  # the loader at least twice a bare execute_concurrent_with_args


def make_rows(count: int) -> list[tuple]:
    start = dt.datetime(2024, 1, 15, tzinfo=dt.UTC)
    step = 86_400_000_000 // count
    return [(start.date(), start + dt.timedelta(microseconds=i * step // 1000 * 1000), uuid.uuid4(), "page_view",
             '{"page":"/products/1","referrer":"search"}') for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from cassandra.concurrent import execute_concurrent_with_args

    connections = Connections.from_env()
    keyspace = f"bench_{uuid.uuid4().hex[:8]}"
    bare_map = TableMapping("events", keyspace, "events_bare", "LOCAL_QUORUM", 31_536_000)
    sluice_map = TableMapping("events", keyspace, "events_by_time", "LOCAL_QUORUM", 31_536_000)
    rows = make_rows(args.rows)
    start = dt.datetime(2024, 1, 15, tzinfo=dt.UTC)
    cluster = cassandra_cluster(connections, consistency="LOCAL_QUORUM")
    try:
        session = cluster.connect()
        for m in (bare_map, sluice_map):
            ensure_events_table(session, m)
        insert = session.prepare(f"INSERT INTO {keyspace}.events_bare (event_date, event_time, event_id, "
                                 "event_type, payload) VALUES (?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?")
        insert.consistency_level = consistency_level("LOCAL_QUORUM")
        params = [(*r, 31_536_000, int(r[1].timestamp() * 1_000_000)) for r in rows]
        began = time.monotonic()
        execute_concurrent_with_args(session, insert, params, concurrency=100, raise_on_first_error=True)
        bare = time.monotonic() - began
        began = time.monotonic()
        result = load_events_window(session, sluice_map, rows, start, start + dt.timedelta(days=1),
                                    consistency_level("LOCAL_QUORUM"), write_version(dt.datetime.now(dt.UTC)))
        sluice = time.monotonic() - began
        counts = [session.execute(f"SELECT count(*) FROM {keyspace}.{t} WHERE event_date = '2024-01-15'").one()[0]
                  for t in ("events_bare", "events_by_time")]
        session.execute(f"DROP KEYSPACE {keyspace}")
    finally:
        cluster.shutdown()
    print(f"\n{args.rows:,} events_by_time rows (one day, one partition key), LOCAL_QUORUM, TTL 365 days")
    print(f"  bare execute_concurrent_with_args (100 in flight)  {bare:7.1f} s  {args.rows / bare:>9,.0f} rows/s")
    print(f"  Sluice loader ({result.written:,} written)              {sluice:7.1f} s  "
          f"{args.rows / sluice:>9,.0f} rows/s")
    print(f"  ratio Sluice / bare: {bare / sluice:.2f}   (rows read back: {counts[0]:,} / {counts[1]:,})")
    report("cassandra_load", [
        ("bare execute_concurrent_with_args", "rows/s", round(args.rows / bare)),
        ("Sluice loader", "rows/s", round(args.rows / sluice)),
        ("rows read back (bare / Sluice)", "", f"{counts[0]:,} / {counts[1]:,}"),
    ], ratios={"Sluice / bare": bare / sluice},
        notes=f"{args.rows:,} events_by_time rows, one partition key, LOCAL_QUORUM; goal >= {GOAL:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
