"""`python -m stack up|down|status|logs` — what `./dev` calls."""

from __future__ import annotations

import argparse
import os
import sys

from stack import control
from stack.settings import StackSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./dev", description="the local Kafka, Cassandra, S3 and schema registry of Sluice"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("up", "start what is not running and wait until it answers"),
        ("down", "stop what `up` started"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("services", nargs="*", metavar="SERVICE", help=f"any of {', '.join(control.NAMES)}")
    sub.add_parser("status", help="state, endpoint, pid and memory of each service")
    logs = sub.add_parser("logs", help="the last lines of a service's log")
    logs.add_argument("service", choices=control.NAMES)
    logs.add_argument("-n", "--lines", type=int, default=100)
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing as the log grows")
    args = parser.parse_args(argv)

    settings = StackSettings.from_env()
    if args.command == "up":
        control.up(settings, args.services)
    elif args.command == "down":
        control.down(settings, args.services)
    elif args.command == "status":
        return 0 if control.status(settings) else 1
    elif args.command == "logs":
        log = control.services(settings, [args.service])[0].proc.log_file
        if not log.exists():
            print(f"no log yet at {log}", file=sys.stderr)
            return 1
        os.execvp("tail", ["tail", "-n", str(args.lines), *(["-F"] if args.follow else []), str(log)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
