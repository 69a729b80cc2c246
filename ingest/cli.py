"""The `sluice` command line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys

from ingest.connections import Connections
from ingest.health import CHECKS
from ingest.lake.names import LakeNames
from ingest.timefmt import epoch_ms, iso_seconds, parse_iso


def _check(args: argparse.Namespace) -> int:
    unknown = sorted(set(args.services) - set(CHECKS))
    if unknown:
        print(f"unknown service(s) {', '.join(unknown)}; allowed: {', '.join(CHECKS)}", file=sys.stderr)
        return 2
    connections = Connections.from_env()
    failed = 0
    for name, check in CHECKS.items():
        if args.services and name not in args.services:
            continue
        try:
            print(f"{name:<10} ok      {check(connections)}")
        except Exception as exc:  # any client error means "not reachable"; show it
            failed += 1
            print(f"{name:<10} FAILED  {type(exc).__name__}: {exc}")
    return 1 if failed else 0


def _config(_: argparse.Namespace) -> int:
    for key, value in Connections.from_env().describe().items():
        print(f"{key} = {value}")
    return 0


def _sink(args: argparse.Namespace) -> int:
    from ingest.config import load_sink_config
    from ingest.errors import SluiceError
    from ingest.sink.runner import run_sink

    try:
        config = load_sink_config(args.config)
        return run_sink(config, instance_id=args.instance_id, create_bucket=args.create_bucket,
                        exit_when_idle=args.exit_when_idle, stats_every=args.stats_every,
                        exit_at_end=args.exit_at_end)
    except SluiceError as exc:
        logging.getLogger("sluice").error("%s", exc)
        return 2


def _start_ms(text: str | None, hours: float) -> int:
    if text is None:  # the last `hours` whole hours before now
        now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        return epoch_ms(now - dt.timedelta(hours=hours))
    return epoch_ms(parse_iso(text))


def _produce(args: argparse.Namespace) -> int:
    from ingest.produce import produce

    if not 0 <= args.bad_ratio <= 1:
        print(f"--bad-ratio {args.bad_ratio}: allowed 0..1", file=sys.stderr)
        return 2
    sent = produce(Connections.from_env(), args.topic, args.count, args.hours, _start_ms(args.start, args.hours),
                   bad_ratio=args.bad_ratio, seed=args.seed, rate=args.rate, partitions=args.partitions,
                   progress=not args.quiet, value_format=args.format)
    print(json.dumps({"topic": args.topic, "sent": dict(sorted(sent.items())), "total": sum(sent.values())}))
    return 0


def _sample_lake(args: argparse.Namespace) -> int:
    from ingest.sample_lake import write_sample_lake

    from_ms = _start_ms(args.start, args.hours)
    result = write_sample_lake(Connections.from_env(), args.bucket, args.topic, args.hours, from_ms, args.count,
                               seed=args.seed, ledger=args.ledger)
    print(json.dumps({k: v for k, v in result.items() if k != "keys"} | {
        "window_start": iso_seconds(from_ms), "window_end": iso_seconds(from_ms + args.hours * 3_600_000)}))
    return 0


def _cassandra_init(args: argparse.Namespace) -> int:
    """The serving keyspace and tables (SLUICE_CASSANDRA_KEYSPACE, else the connector's mapping), created by the
    statements the loads would run, so that the loads' role needs only SELECT and MODIFY."""
    from ingest.cassandra_client import cassandra_cluster
    from ingest.errors import SluiceError
    from ingest.serving.load import ensure_serving_tables
    from ingest.serving.mapping import SEED, connection_settings, serving_mapping

    path = args.config or SEED
    try:
        settings = connection_settings(Connections.from_env().cassandra, path)
        mapping = serving_mapping(LakeNames.from_env().topic, os.environ.get("SLUICE_CASSANDRA_KEYSPACE") or None,
                                  path)
        cluster = cassandra_cluster(settings)
        try:
            for name, created in ensure_serving_tables(cluster.connect(), mapping).items():
                print(f"{'created' if created else 'found':<8} {name}")
        finally:
            cluster.shutdown()
    except SluiceError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sluice", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="send one real request to Kafka, S3, Cassandra and the schema registry")
    check.add_argument(
        "services", nargs="*", metavar="SERVICE", help=f"any of {', '.join(CHECKS)} (default: all)"
    )
    check.set_defaults(func=_check)
    sub.add_parser("config", help="print the connection settings in effect (secrets masked)").set_defaults(
        func=_config
    )

    sink = sub.add_parser("sink", help="run the Kafka -> S3 sink with a Kafka Connect S3 sink config")
    sink.add_argument("--config", required=True, help="connector JSON, e.g. config/s3-sink.json")
    sink.add_argument("--instance-id", help="static group membership: restarts take their partitions back at once")
    sink.add_argument("--create-bucket", action="store_true", help="create s3.bucket.name if it does not exist")
    sink.add_argument("--exit-when-idle", type=float, metavar="SECONDS",
                      help="flush, commit and exit after this long without records")
    sink.add_argument("--exit-at-end", action="store_true",
                      help="flush, commit and exit once every assigned partition is consumed to its end")
    sink.add_argument("--stats-every", type=float, default=10.0, metavar="SECONDS", help="progress log period")
    sink.set_defaults(func=_sink)

    prod = sub.add_parser("produce", help="send sample events (some malformed on purpose) to a topic")
    prod.add_argument("--topic", required=True)
    prod.add_argument("--count", type=int, required=True)
    prod.add_argument("--rate", type=float, default=0.0, help="events per second (0: as fast as possible)")
    prod.add_argument("--bad-ratio", type=float, default=0.0, help="share of malformed events, 0..1")
    prod.add_argument("--hours", type=float, default=3.0, help="hours of event time the events spread over")
    prod.add_argument("--start", help="event time of the first event, ISO 8601 (default: HOURS before this hour)")
    prod.add_argument("--seed", type=int, default=0)
    prod.add_argument("--partitions", type=int, default=3, help="partitions of the topic if it is created")
    prod.add_argument("--quiet", action="store_true", help="no progress bar")
    prod.add_argument("--format", choices=("json", "avro"), default="json",
                      help="avro: registers config/events.avsc as <topic>-value and sends Confluent's wire format")
    prod.set_defaults(func=_produce)

    lake = sub.add_parser("sample-lake", help="write a sample raw zone to S3 without Kafka (for dbt development)")
    lake.add_argument("--hours", type=int, default=3, help="hours of event time")
    lake.add_argument("--start", help="first hour, ISO 8601 (default: HOURS before this hour)")
    lake.add_argument("--count", type=int, default=30_000, help="events before duplicates")
    names = LakeNames.from_env()
    lake.add_argument("--bucket", default=names.bucket)
    lake.add_argument("--topic", default=names.topic)
    lake.add_argument("--seed", type=int, default=0)
    lake.add_argument("--ledger", metavar="NAME",
                      help="also write the commit ledger and watermarks of the sink named NAME (all committed)")
    lake.set_defaults(func=_sample_lake)

    cassandra = sub.add_parser("cassandra", help="Cassandra's serving schema").add_subparsers(dest="action",
                                                                                              required=True)
    init = cassandra.add_parser("init", help="create the serving keyspace and tables that do not exist yet (as a "
                                "role that may create them), printing each one created or found")
    init.add_argument("--config", metavar="PATH", help="the DataStax sink's connector JSON (default: "
                      "config/cassandra-sink.json): its table mapping, auth.*, ssl.* and cloud.* keys")
    init.set_defaults(func=_cassandra_init)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sluice").setLevel(os.environ.get("SLUICE_LOG_LEVEL", "INFO").upper())
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
