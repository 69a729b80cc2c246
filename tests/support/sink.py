"""Running the sink as the `sluice` command it is, producing sample events, listing the lake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.connections import REPO_ROOT, Connections
from ingest.topic_reader import read_to_end
from stack.faults import committed as committed  # re-exported: the tests take it from here

SEED_CONFIG = REPO_ROOT / "config" / "s3-sink.json"
SLUICE = str(Path(sys.executable).parent / "sluice")


def sink_config(tmp_path: Path, name: str, **changes: str) -> Path:
    """The seed S3 sink config with `changes` (None removes a key), written to a file."""
    document = json.loads(SEED_CONFIG.read_text())
    document["name"] = name
    for key, value in changes.items():
        if value is None:
            document["config"].pop(key, None)
        else:
            document["config"][key] = value
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def start_sink(config: Path, *args: str, log: Path | None = None,
               env: dict[str, str] | None = None) -> subprocess.Popen:
    """`sluice sink` in the background (with `env`: that environment); its output in .stdout, or with `log` in that
    file (read it with sink_log): a pipe nobody reads while the sink runs fills up (librdkafka logs every failed
    connect while a broker is away) and then blocks the sink."""
    out = open(log, "w") if log is not None else subprocess.PIPE  # noqa: SIM115 - the child holds it
    proc = subprocess.Popen([SLUICE, "sink", "--config", str(config), "--create-bucket", "--stats-every", "2",
                             *args], stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    if log is not None:
        out.close()
        proc.log_path = log
    return proc


def sink_log(proc: subprocess.Popen) -> str:
    """The output of a sink started with `log`."""
    return proc.log_path.read_text()


def run_sink(config: Path, *args: str, idle: float | None = None, timeout: float = 60,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the sink until it has committed every record its topics held (`--exit-at-end`), or with `idle` until it
    has seen no records for that many seconds; its output is in .stdout."""
    stop = ("--exit-at-end",) if idle is None else ("--exit-when-idle", str(idle))
    proc = start_sink(config, *stop, *args, env=env)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"sink did not finish within {timeout}s:\n{out[-4000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def produce_events(connections: Connections, topic: str, count: int, partitions: int, **kwargs) -> list:
    """Produce sample events; returns (partition, offset, kind) of each."""
    from ingest.produce import produce

    deliveries: list = []
    kwargs.setdefault("start_ms", START_MS)
    kwargs.setdefault("hours", 3)
    produce(connections, topic, count, partitions=partitions, progress=False, deliveries=deliveries, **kwargs)
    return sorted(deliveries)


START_MS = 1_705_309_200_000  # 2024-01-15T09:00:00Z


def object_keys(s3, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def read_all(connections, topic: str, expected: int | None = None) -> list:
    """Every committed record of `topic`, from each partition's first kept offset to its end as it is now.
    `expected` is not used (the read stops at the end, not at a count): kept so callers need not change."""
    return [m for batch in read_to_end(connections, topic) for m in batch]
