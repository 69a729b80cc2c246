"""Background processes known by the pid files the stack wrote, and nothing else.

A pid file holds the pid and the process's start time (field 22 of /proc/PID/stat), so a pid that the
kernel has since given to another program is never mistaken for ours, let alone signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import deque
from pathlib import Path


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if fields[0] != "Z" else None


class Proc:
    """One named background process of the stack: its pid file and its log."""

    def __init__(self, name: str, run_dir: Path, log_dir: Path):
        self.name = name
        self.pid_file = run_dir / f"{name}.pid"
        self.log_file = log_dir / f"{name}.log"

    def pid(self) -> int | None:
        """The recorded pid if that very process still runs."""
        try:
            pid_text, started = self.pid_file.read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        return pid if _start_time(pid) == started else None

    def start(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            log.write(f"\n==== sluice stack: starting {self.name} at {time.ctime()}\n".encode())
            log.flush()
            popen = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: `down` signals it and its children only
            )
        self.pid_file.write_text(f"{popen.pid} {_start_time(popen.pid)}\n")
        return popen

    def stop(self, timeout: float = 60.0) -> bool:
        """SIGTERM the process group, SIGKILL after `timeout`; False if nothing of ours was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.pid() is not None:
            os.killpg(pid, signal.SIGKILL)
            while self.pid() is not None:
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return True

    def rss_mib(self) -> float | None:
        pid = self.pid()
        if pid is None:
            return None
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_file.exists():
            return f"(no log at {self.log_file})"
        with self.log_file.open(errors="replace") as log:
            return "".join(deque(log, maxlen=lines))
