"""Is a run's worker process still there? Dagster's run monitoring cannot ask the default run launcher (it has no
worker health check), so a run whose worker died (SIGKILL, OOM, a stopped `dagster dev`) would stay 'Started'.
The launcher's workers are processes on this host, and each run's event log names its worker's pid."""

from __future__ import annotations

import os
import re

STARTED = re.compile(r"^Started process for run \(pid: (\d+)\)")


def worker_pid(messages: list[str]) -> int | None:
    """The run worker's pid from a run's engine event messages (the latest start: a resumed run starts again)."""
    pids = [int(m.group(1)) for m in (STARTED.match(text or "") for text in messages) if m]
    return pids[-1] if pids else None


def process_alive(pid: int, proc: str = "/proc") -> bool:
    """The process exists and is not a zombie (exited, not yet reaped); unknown counts as alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: there
        return True
    try:
        with open(f"{proc}/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"
