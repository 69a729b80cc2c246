"""The `sluice` command line."""

from __future__ import annotations

import argparse
import sys

from ingest.connections import Connections
from ingest.health import CHECKS


def _check(args: argparse.Namespace) -> int:
    unknown = sorted(set(args.services) - set(CHECKS))
    if unknown:
        print(f"unknown service(s) {', '.join(unknown)}; allowed: {', '.join(CHECKS)}", file=sys.stderr)
        return 2
    conn = Connections.from_env()
    failed = 0
    for name, check in CHECKS.items():
        if args.services and name not in args.services:
            continue
        try:
            print(f"{name:<10} ok      {check(conn)}")
        except Exception as exc:  # any client error means "not reachable"; show it
            failed += 1
            print(f"{name:<10} FAILED  {type(exc).__name__}: {exc}")
    return 1 if failed else 0


def _config(_: argparse.Namespace) -> int:
    for key, value in Connections.from_env().describe().items():
        print(f"{key} = {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sluice", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="send one real request to Kafka, S3 and Cassandra")
    check.add_argument(
        "services", nargs="*", metavar="SERVICE", help=f"any of {', '.join(CHECKS)} (default: all)"
    )
    check.set_defaults(func=_check)
    sub.add_parser("config", help="print the connection settings in effect (secrets masked)").set_defaults(
        func=_config
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
