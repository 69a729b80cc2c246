"""Real faults on the local stack for the tests: the helpers shared with the benchmarks live in stack.faults (a bench
must not import the test tree) and are re-exported here; what only tests need (`./dev` as a user runs it, a kill
in the middle of a writer's stream) is defined here."""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from collections.abc import Callable, Sized

from ingest.connections import REPO_ROOT
from stack.faults import (
    dlq_offsets,
    frozen,
    kill_service,
    lake_offsets,
    ledger_check,
    paused,
    start_service,
    stop_service,
)

__all__ = ["dev", "dlq_offsets", "frozen", "kill_mid_writes", "kill_service", "lake_offsets", "ledger_check",
           "paused", "start_service", "stop_service"]


def dev(*args: str) -> subprocess.CompletedProcess:
    """`./dev ARGS` as a user runs it, output captured."""
    return subprocess.run([str(REPO_ROOT / "dev"), *args], capture_output=True, text=True, timeout=600)


def kill_mid_writes(name: str, write_one: Callable[[int], None], acked: Sized, at_least: int,
                    errors: tuple[type[BaseException], ...] = (Exception,)) -> BaseException:
    """`write_one(0)`, `write_one(1)`, ... in a thread until one raises `errors`; the service SIGKILLed once
    `at_least` writes are acknowledged (`len(acked)`), then started again. Returns the error the kill caused."""
    failure: list[BaseException] = []

    def write() -> None:
        for i in itertools.count():
            try:
                write_one(i)
            except errors as exc:
                failure.append(exc)
                return

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    deadline = time.monotonic() + 60
    while len(acked) < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(acked) >= at_least, f"only {len(acked)} writes acknowledged in 60 s"
    kill_service(name)
    writer.join(timeout=30)
    assert not writer.is_alive() and failure, f"the writer did not see {name} die"
    start_service(name)
    return failure[0]
