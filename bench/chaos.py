"""A chaos run of two sink processes: does every record still land in the lake or the DLQ exactly once?

    .venv/bin/python bench/chaos.py [--events 200000] [--rate 4000] [--kills 6] [--s3-freeze 60]
                                    [--broker-down 15] [--seed 7]

Needs the stack (`./dev up`); it stops Kafka and freezes S3, so use a stack nobody else is using. Streams EVENTS
events (1% malformed) at RATE/s into a fresh 4-partition topic, read by two `sluice sink` processes in one group
(the seed config, tasks.max=2, flush.size=2500, the record-time extractor, a DLQ with context headers). While it
streams: KILLS SIGKILLs spread over the stream, alternating between the processes (each restarted after 1-3 s),
and on a timeline of its own the broker stopped for BROKER_DOWN seconds (past the 10 s session timeout), then S3
frozen with SIGSTOP for S3_FREEZE seconds. The sinks then drain until the group's committed offsets stop moving
(each partition's last files stay open until a shutdown), get SIGTERM, which commits the rest, and every offset
must then be committed. Prints what was produced and written, the records missing or duplicated in the lake and
in the DLQ (read back with read_committed), the ledger's tiling problems, kills, rewinds and wall time, and appends
them to bench/RESULTS.md (`bench/results.py`). Exits 0 only if nothing is missing, duplicated or out of place.
Logs: .stack/bench/chaos-<run>/.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results import report  # noqa: E402

from ingest.clients import ensure_topic, s3_client  # noqa: E402
from ingest.connections import Connections  # noqa: E402
from ingest.lake.connection import lake_connection  # noqa: E402
from ingest.lake.ledger import committed_rounds, ledger_partitions, read_ledger  # noqa: E402
from ingest.lake.listing import list_keys  # noqa: E402
from ingest.produce import produce  # noqa: E402
from stack.faults import (  # noqa: E402
    committed,
    dlq_offsets,
    frozen,
    lake_offsets,
    ledger_check,
    start_service,
    stop_service,
)

SLUICE = str(Path(sys.executable).parent / "sluice")
START_MS = 1_705_309_200_000  # 2024-01-15T09:00:00Z
PARTITIONS = 4
BAD_RATIO = 0.01
QUIET_S = 40  # committed offsets unchanged this long: drained (above the S3 client's 30 s backoff cap)
DRAIN_TIMEOUT_S = 900


class SinkProcess:
    """One of the two `sluice sink` processes; every (re)start logs to a file of its own."""

    def __init__(self, label: str, config: Path, workdir: Path):
        self.label, self.config, self.workdir = label, config, workdir
        self.logs: list[Path] = []
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.logs.append(self.workdir / f"sink-{self.label}-{len(self.logs)}.log")
        with self.logs[-1].open("w") as log:
            self.proc = subprocess.Popen([SLUICE, "sink", "--config", str(self.config), "--create-bucket",
                                          "--stats-every", "1", "--instance-id", f"chaos-{self.label}"],
                                         stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def terminate(self, timeout: float = 120) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def rewinds(self) -> int:
        """Rewinds over all its lives: the last `rewinds=` each life logged (a killed one's last second is lost)."""
        counts = [re.findall(r"rewinds=(\d+)", log.read_text()) for log in self.logs]
        return sum(int(found[-1]) for found in counts if found)


def sink_config(workdir: Path, names: dict[str, str]) -> Path:
    document = json.loads((ROOT / "config" / "s3-sink.json").read_text())
    document["name"] = names["sink"]
    document["config"].update({
        "topics": names["topic"], "s3.bucket.name": names["bucket"], "tasks.max": "2", "flush.size": "2500",
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time", "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": names["dlq"], "errors.deadletterqueue.context.headers.enable": "true"})
    path = workdir / "sink.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=4_000, help="events per second (default 4000: ~50 s)")
    parser.add_argument("--kills", type=int, default=6, help="SIGKILLs while streaming, alternating processes")
    parser.add_argument("--s3-freeze", type=float, default=60, metavar="SECONDS", help="S3 SIGSTOPped this long")
    parser.add_argument("--broker-down", type=float, default=15, metavar="SECONDS", help="Kafka stopped this long")
    parser.add_argument("--seed", type=int, default=7, help="the events' and the kill times' seed")
    args = parser.parse_args()
    if args.rate <= 0:
        parser.error("--rate must be positive: the faults are spread over the stream's duration")

    connections = Connections.from_env()
    run = uuid.uuid4().hex[:8]
    names = {"topic": f"chaos-{run}", "bucket": f"chaos-{run}", "sink": f"chaos-{run}-sink", "dlq": f"chaos-{run}-dlq"}
    workdir = ROOT / ".stack" / "bench" / f"chaos-{run}"
    workdir.mkdir(parents=True)
    rng = random.Random(args.seed)
    stream_s = args.events / args.rate
    began = time.monotonic()

    def say(what: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {what}", flush=True)

    ensure_topic(connections, names["topic"], PARTITIONS)
    config = sink_config(workdir, names)
    sinks = [SinkProcess(label, config, workdir) for label in ("a", "b")]
    for sink in sinks:
        sink.start()
    deliveries: list = []
    producer = threading.Thread(target=produce, args=(connections, names["topic"], args.events, 3, START_MS), kwargs={
        "bad_ratio": BAD_RATIO, "seed": args.seed, "rate": args.rate, "partitions": PARTITIONS, "progress": False,
        "deliveries": deliveries})
    fault_errors: list[BaseException] = []

    def service_faults() -> None:
        """The broker stopped and started, then S3 frozen; non-daemon, so S3 is always continued."""
        try:
            time.sleep(0.15 * stream_s)
            say(f"kafka: stopping for {args.broker_down:g}s")
            stop_service("kafka")
            time.sleep(args.broker_down)
            start_service("kafka")
            say("kafka: back")
            time.sleep(2)
            with frozen("s3"):
                say(f"s3: frozen for {args.s3_freeze:g}s")
                time.sleep(args.s3_freeze)
            say("s3: continued")
        except BaseException as exc:
            fault_errors.append(exc)

    faults = threading.Thread(target=service_faults, name="service-faults")
    say(f"streaming {args.events:,} events at {args.rate:,.0f}/s into {names['topic']}; logs in {workdir}")
    producer.start()
    faults.start()
    kills = kills_while_streaming = 0
    group_id = f"connect-{names['sink']}"
    try:
        gap = stream_s / (args.kills + 1)
        for i in range(args.kills):
            time.sleep(max(0.0, began + (i + 1 + rng.uniform(-0.25, 0.25)) * gap - time.monotonic()))
            sink = sinks[i % 2]
            sink.kill()
            kills += 1
            kills_while_streaming += producer.is_alive()
            say(f"SIGKILL sink {sink.label} ({kills}/{args.kills})")
            time.sleep(rng.uniform(1.0, 3.0))
            sink.start()
        producer.join()
        say(f"stream done: {len(deliveries):,} events acknowledged")
        faults.join()
        ends = [1 + max((o for p, o, _ in deliveries if p == part), default=-1) for part in range(PARTITIONS)]
        # Each partition's last files stay open (no wall-clock rotation in this config) until SIGTERM closes and
        # commits them; so drained means: every offset committed, or the committed offsets quiet for QUIET_S.
        drain_began = last_move = time.monotonic()
        group = None
        while (now_group := committed(connections, group_id, names["topic"], PARTITIONS)) != ends:
            if now_group != group:
                group, last_move = now_group, time.monotonic()
            if time.monotonic() - last_move > QUIET_S or time.monotonic() - drain_began > DRAIN_TIMEOUT_S:
                break
            time.sleep(1)
        say(f"drained to {sum(now_group):,} of {sum(ends):,} offsets committed; SIGTERM to both sinks")
    finally:
        codes = [sink.terminate() for sink in sinks if sink.proc is not None]
        faults.join()
    wall_s = time.monotonic() - began
    group = committed(connections, group_id, names["topic"], PARTITIONS)

    s3, lake = s3_client(connections), lake_connection(connections.s3)
    good = {(p, o) for p, o, kind in deliveries if kind == "good"}
    bad = {(p, o) for p, o, kind in deliveries if kind != "good"}
    rows, dead = lake_offsets(lake, names["bucket"], names["topic"]), dlq_offsets(connections, names["dlq"])
    by_partition = dict(enumerate(group))
    covered, problems = ledger_check(s3, names["bucket"], names["sink"], names["topic"], by_partition)
    rounds = sum(len(committed_rounds(read_ledger(s3, names["bucket"], names["sink"], names["topic"], p),
                                      by_partition.get(p)))
                 for p in ledger_partitions(s3, names["bucket"], names["sink"], names["topic"]))
    figures = {
        "lake missing": len(good - set(rows)), "lake duplicated": sum(n - 1 for n in rows.values() if n > 1),
        "lake stray (not a good record)": len(set(rows) - good),
        "DLQ missing": len(bad - set(dead)), "DLQ duplicated": sum(n - 1 for n in dead.values() if n > 1),
        "DLQ stray (not a bad record)": len(set(dead) - bad), "ledger tiling problems": len(problems),
    }

    print(f"\nchaos run {run}, seed {args.seed}: {wall_s:.0f} s wall time")
    print(f"  produced          {len(deliveries):>9,}  ({len(good):,} good, {len(bad):,} malformed)")
    print(f"  raw files         {len(list_keys(s3, names['bucket'], 'topics/' + names['topic'] + '/')):>9,}")
    print(f"  manifests         {rounds:>9,}  committed rounds; they account for "
          f"{sum(n for (_, k), n in covered.items() if k == 'rows'):,} rows and "
          f"{sum(n for (_, k), n in covered.items() if k == 'dlq'):,} dead letters")
    print(f"  rows in the lake  {sum(rows.values()):>9,}")
    print(f"  dead letters      {sum(dead.values()):>9,}  (read_committed)")
    print(f"  SIGKILLs          {kills:>9}  ({kills_while_streaming} while streaming), 1 broker restart "
          f"({args.broker_down:g} s), 1 S3 freeze ({args.s3_freeze:g} s)")
    print(f"  rewinds           {sum(s.rewinds() for s in sinks):>9}  (sum of the sinks' last rewinds= per life)")
    print(f"  exit codes on SIGTERM: {codes}  (0: clean stop)")
    for label, n in figures.items():
        print(f"  {label:<31}{n:>7,}")
    for problem in problems[:10]:
        print(f"    {problem}")
    for exc in fault_errors:
        print(f"  fault injection failed: {exc!r}")
    if group != ends:
        print(f"  committed offsets {group} are not the topic's ends {ends}")
    ok = not any(figures.values()) and not fault_errors and group == ends and not any(codes)
    print("OK: every record is in the lake or the DLQ exactly once" if ok else "FAILED: see the figures above")
    report("chaos", [("wall time", "s", round(wall_s)), ("produced", "events", len(deliveries)),
                     ("rows in the lake", "", sum(rows.values())), ("dead letters", "", sum(dead.values())),
                     ("SIGKILLs", "", kills), ("rewinds", "", sum(s.rewinds() for s in sinks)),
                     *[(label, "", n) for label, n in figures.items()],
                     ("every offset committed", "", "yes" if group == ends else "no"),
                     ("outcome", "", "OK" if ok else "FAILED")],
           notes=f"{args.events:,} events at {args.rate:,.0f}/s, {args.kills} kills, broker down "
                 f"{args.broker_down:g} s, S3 frozen {args.s3_freeze:g} s, seed {args.seed}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
