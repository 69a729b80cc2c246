"""dbt build of the event models for one window against the same SQL run directly in DuckDB, same run.

    flock /tmp/sluice-bench.lock .venv/bin/python bench/dbt_window.py [--events 1000000]

Needs the stack (`./dev up`). Writes a one-hour sample raw zone of EVENTS events (plus its repeats) to a fresh
bucket, prepares the manifest as Dagster's code location does (`dbt parse`, untimed, like `./dev`'s preparation),
then times, each with a fresh target directory seeded with the prepared partial_parse.msgpack (as dagster-dbt
does for every invocation): `dbt build` of the four event models and their tests for that window with the
command line and environment Dagster's hourly run uses (orchestration/lib/dbt_args.py); `dbt run` of the same;
the compiled SQL of the same models run in one DuckDB connection (a table per model, then one Parquet file per
model for the hour, as the lake_window materialization writes); and `dbt parse` with and without partial parsing.
dbt's start-up is a command's wall time minus the `elapsed_time` of its run_results.json (imports, parse, adapter).
Prints a table and appends a line to bench/RESULTS.md. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results import report  # noqa: E402

from ingest.connections import Connections  # noqa: E402
from ingest.lake.connection import lake_connection  # noqa: E402
from ingest.lake.names import LakeNames  # noqa: E402
from ingest.sample_lake import write_sample_lake  # noqa: E402
from orchestration.dbt_project import prepare_args  # noqa: E402
from orchestration.lib import dbt_args  # noqa: E402

PROJECT = ROOT / "dbt_project"
DBT = str(Path(sys.executable).parent / "dbt")
START_MS = 1_705_309_200_000  # 2024-01-15T09:00:00Z
WINDOW = (dt.datetime(2024, 1, 15, 9, tzinfo=dt.UTC), dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC))
MODELS = ("stg_events", "int_events_enriched", "events_by_time", "hourly_event_counts")


@dataclass
class Timed:
    wall: float
    startup: float  # wall minus run_results.json's elapsed_time: dbt's imports, parse, adapter
    tests: int = 0


def run_dbt(bucket: str, work: Path, args: list[str], env: dict[str, str] | None = None,
            target: Path | None = None) -> Timed:
    """One dbt command as dagster-dbt runs it: a fresh target seeded with the prepared partial_parse.msgpack."""
    target = target or Path(tempfile.mkdtemp(dir=work, prefix="target-"))
    prepared = work / "target" / "partial_parse.msgpack"
    if target != work / "target" and prepared.exists():
        shutil.copy(prepared, target / "partial_parse.msgpack")
    env = os.environ | {"SLUICE_LAKE_BUCKET": bucket, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"} | (env or {})
    began = time.monotonic()
    result = subprocess.run([DBT, *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
                             "--target-path", str(target), "--log-path", str(target)],
                            cwd=PROJECT, env=env, capture_output=True, text=True)
    wall = time.monotonic() - began
    if result.returncode != 0:
        raise SystemExit(f"dbt {args[0]} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    results = target / "run_results.json"
    if not results.exists():
        return Timed(wall, wall)
    document = json.loads(results.read_text())
    tests = sum(1 for r in document["results"] if r["unique_id"].startswith("test."))
    return Timed(wall, wall - document["elapsed_time"], tests)


def run_direct(connections: Connections, bucket: str, compiled_dir: Path) -> float:
    """The compiled SQL of each model, in dependency order, in one DuckDB connection over the lake."""
    compiled = {p.stem: p.read_text() for p in (compiled_dir / "compiled" / "sluice" / "models").rglob("*.sql")}
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
    (work / "target").mkdir(parents=True, exist_ok=True)

    began = time.monotonic()
    lake = write_sample_lake(connections, bucket, "events", 1, START_MS, args.events, partitions=4, seed=3)
    print(f"sample raw zone: {lake['rows']:,} rows in {lake['files']} files ({time.monotonic() - began:.1f}s)")

    hourly, hourly_env, prepare = invocation(bucket)
    prepared = run_dbt(bucket, work, prepare, target=work / "target")  # what ./dev and dagster dev do, once
    build_target = Path(tempfile.mkdtemp(dir=work, prefix="target-"))
    build = run_dbt(bucket, work, hourly, hourly_env, target=build_target)
    run_only = run_dbt(bucket, work, ["run", *hourly[hourly.index("--vars"):]], hourly_env)
    direct = run_direct(connections, bucket, build_target)
    parse_full = run_dbt(bucket, work, [*prepare, "--no-partial-parse"])
    parse_partial = run_dbt(bucket, work, prepare)  # a fresh target seeded with the prepared parse, same vars

    rows = [("dbt build (4 models, seed, tests), wall", "s", build.wall),
            ("  of which dbt start-up", "s", build.startup),
            ("  data tests run", "tests", build.tests),
            ("dbt run (4 models), wall", "s", run_only.wall),
            ("  of which dbt start-up", "s", run_only.startup),
            ("same SQL directly in DuckDB", "s", direct),
            ("dbt parse, full", "s", parse_full.wall),
            ("dbt parse, partial", "s", parse_partial.wall),
            ("manifest preparation (untimed in runs)", "s", prepared.wall)]
    report("dbt_window", rows, ratios={"direct / dbt build": direct / build.wall,
                                       "direct / dbt run": direct / run_only.wall},
           notes=f"{args.events:,} events, window 2024-01-15T09, {os.cpu_count()} cores shared")
    return 0


def invocation(bucket: str) -> tuple[list[str], dict[str, str], list[str]]:
    """Dagster's hourly dbt command line and environment, and the preparation's `dbt parse` command line, for
    this bench's lake (its raw zone is the sink's `topics/`, not `landed/`)."""
    variables = dbt_args.dbt_vars(*WINDOW, bucket, "topics", "events")
    prepare = prepare_args(LakeNames(bucket=bucket, topic="events"), raw_root="topics")
    return dbt_args.dbt_build_args(variables), dbt_args.window_env(variables), prepare


if __name__ == "__main__":
    sys.exit(main())
