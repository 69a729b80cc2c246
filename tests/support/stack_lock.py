"""One local stack shared by parallel test processes: a readers-writer lock on files under the stack's folder.

A test that stops, freezes or kills a service takes the lock exclusively; every other test of the stack takes it
shared, so none runs while a service is away on purpose. A turnstile in front gives the exclusive side priority:
once a disruptive test waits, no new shared holder gets in, and it waits only for the tests already running.
flock(2) locks end with the process that holds them, so a killed worker leaves nothing locked.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from ingest.connections import stack_dir


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def stack_lock(exclusive: bool, root: Path | None = None) -> Iterator[None]:
    folder = (root or stack_dir()) / "locks"
    if exclusive:
        with _flock(folder / "turnstile", fcntl.LOCK_EX), _flock(folder / "stack", fcntl.LOCK_EX):
            yield
    else:
        with _flock(folder / "turnstile", fcntl.LOCK_EX):
            pass
        with _flock(folder / "stack", fcntl.LOCK_SH):
            yield
