"""`dagster dev -w workspace.yaml` (webserver + daemon) as the demo, the benchmarks and the browser tests start it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ingest.connections import REPO_ROOT

BIN = Path(sys.executable).parent
MANAGED = "# written by sluice (stack/dagster_dev.py): delete this line to keep your own settings"
# No first-visit newsletter dialog over the UI, no usage telemetry sent from a local run. A failed run (an asset's
# error, or a worker that died: see orchestration/sensors.py run_worker_watchdog) is retried twice; runs of one
# partition wait for each other (one at a time per dagster/partition value); run monitoring fails a run that never
# starts (3 min) or runs for more than 2 hours. The daemon looks at the run queue every second, not every 5 (the
# default): a run the raw-zone sensor requests starts ~2 s sooner on average. What Sluice's library code logs
# (loggers `sluice.*` and `ingest.*`: the DLQ job, the loaders) goes into the run's log in the UI.
INSTANCE = f"""{MANAGED}
nux:
  enabled: false
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
run_retries:
  enabled: true
  max_retries: 2
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  max_runtime_seconds: 7200
  poll_interval_seconds: 30
concurrency:
  runs:
    tag_concurrency_limits:
      - key: dagster/partition
        value:
          applyLimitPerUniqueValue: true
        limit: 1
python_logs:
  managed_python_loggers:
    - sluice
    - ingest
  python_log_level: INFO
"""


def dagster_home(path: Path) -> Path:
    """Create `path` with Sluice's dagster.yaml; a file without the MANAGED line is the user's and is kept."""
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists() or config.read_text().startswith(MANAGED):
        config.write_text(INSTANCE)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dagster_env(home: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for Dagster's commands: `env` over ours, DAGSTER_HOME=home, the venv's bin on PATH."""
    return os.environ | (env or {}) | {"DAGSTER_HOME": str(dagster_home(home)), "PATH": f"{BIN}:{os.environ['PATH']}"}


def start(home: Path, port: int, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `dagster dev` on 127.0.0.1:port in its own process group; output to `log`."""
    return subprocess.Popen([str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                            cwd=REPO_ROOT, env=dagster_env(home, env), stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(port: int, proc: subprocess.Popen, log: Path, timeout: float = 180) -> str:
    """Wait until the webserver answers; returns its base URL. Raises with the log's tail if it exits or times out."""
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dagster dev exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                return url
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s:\n{log.read_text()[-4000:]}")


def stop(proc: subprocess.Popen, timeout: float = 60) -> None:
    """SIGTERM (dagster dev stops its webserver, daemon and code servers), then SIGKILL to whatever of its process
    group is left (a run worker, say): it runs in a session of its own, so nothing else would stop it."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
