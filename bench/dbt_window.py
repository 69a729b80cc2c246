"""dbt build of the event models for one window against the same SQL run directly in DuckDB, same run.

    .venv/bin/python bench/dbt_window.py [--events 1000000]

Needs the stack (`./dev up`). Writes a one-hour sample raw zone of EVENTS events (plus its repeats) to a fresh
bucket, then times: `dbt build` of the four event models and their tests for that window; the compiled SQL of
the same models run in one DuckDB connection (a table per model, then one Parquet file per model for the hour,
as the lake_window materialization writes); and `dbt parse` with and without partial parsing.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.connections import Connections  # noqa: E402
from ingest.lake.connection import lake_connection  # noqa: E402
from ingest.lake.sample import write_sample_lake  # noqa: E402

PROJECT = ROOT / "dbt_project"
DBT = str(Path(sys.executable).parent / "dbt")
START_MS = 1_705_309_200_000  # 2024-01-15T09:00:00Z
WINDOW = {"window_start": "2024-01-15T09:00:00Z", "window_end": "2024-01-15T10:00:00Z"}
MODELS = ("stg_events", "int_events_enriched", "events_by_time", "hourly_event_counts")


def run_dbt(bucket: str, work: Path, *args: str) -> float:
    env = os.environ | {"SLUICE_LAKE_BUCKET": bucket, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    began = time.monotonic()
    result = subprocess.run([DBT, *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
                             "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
                            cwd=PROJECT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-3000:])
    return time.monotonic() - began


def run_direct(connections: Connections, bucket: str, work: Path) -> float:
    """The compiled SQL of each model, in dependency order, in one DuckDB connection over the lake."""
    compiled = {p.stem: p.read_text() for p in (work / "target" / "compiled" / "sluice" / "models").rglob("*.sql")}
    seed = PROJECT / "seeds" / "event_types.csv"
    began = time.monotonic()
    con = lake_connection(connections.s3)
    con.execute(f"create table event_types as select * from read_csv('{seed}', header = true, "
                "types = {'retention_days': 'integer'})")
    for model in MODELS:
        sql = compiled[model].replace('"memory"."main".', "")
        con.execute(f"create table {model} as {sql}")
        con.execute(f"copy (select * exclude (event_date, event_hour) from {model} order by all) to "
                    f"'s3://{bucket}/direct/{model}/event_date=2024-01-15/event_hour=09/part-0.parquet' "
                    "(format parquet, compression zstd)")
    rows = con.sql("select count(*) from events_by_time").fetchone()[0]
    con.close()
    seconds = time.monotonic() - began
    print(f"  direct DuckDB wrote {rows:,} events_by_time rows")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    connections = Connections.from_env()
    bucket = f"bench-dbt-{uuid.uuid4().hex[:8]}"
    work = ROOT / ".stack" / "bench" / bucket
    work.mkdir(parents=True, exist_ok=True)

    began = time.monotonic()
    lake = write_sample_lake(connections, bucket, "events", 1, START_MS, args.events, partitions=4, seed=3)
    print(f"sample raw zone: {lake['rows']:,} rows in {lake['files']} files ({time.monotonic() - began:.1f}s)")

    vars_ = ["--vars", json.dumps(WINDOW)]
    build = run_dbt(bucket, work, "build", *vars_)
    run_only = run_dbt(bucket, work, "run", *vars_)
    direct = run_direct(connections, bucket, work)
    parse_full = run_dbt(bucket, work, "parse", "--no-partial-parse")
    parse_partial = run_dbt(bucket, work, "parse")

    print(f"\none window of {args.events:,} events (2024-01-15T09)")
    print(f"  dbt build (4 models, seed, 25 tests)  {build:8.2f} s")
    print(f"  dbt run (4 models)                    {run_only:8.2f} s")
    print(f"  same SQL directly in DuckDB           {direct:8.2f} s")
    print(f"  ratio dbt run / direct {run_only / direct:.2f}, dbt build / direct {build / direct:.2f}")
    print(f"  dbt parse: {parse_full:.2f} s full, {parse_partial:.2f} s partial")
    return 0


if __name__ == "__main__":
    sys.exit(main())
