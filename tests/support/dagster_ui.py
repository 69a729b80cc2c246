"""`dagster dev` over the code location as a user starts it, on a free port, and headless Chromium to drive its UI."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

from ingest.connections import REPO_ROOT
from stack import dagster_dev as dev

CHROMIUM = os.environ.get("SLUICE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@contextmanager
def dagster_dev(home: Path, env: dict[str, str], stopped_sensors: tuple[str, ...] = (), stop_timeout: float = 60):
    """Start `dagster dev -w workspace.yaml` (webserver + daemon) with DAGSTER_HOME=home; yields its base URL.

    `stopped_sensors` are stopped in the instance first (`dagster sensor stop`), as a user would in the UI. On the
    way out it gets SIGTERM, and after `stop_timeout` SIGKILL (0: at once, as a crash; its code server would
    otherwise wait for a run in flight to end).
    """
    for sensor in stopped_sensors:
        done = subprocess.run([str(dev.BIN / "dagster"), "sensor", "stop", sensor, "-w", "workspace.yaml"],
                              cwd=REPO_ROOT, env=dev.dagster_env(home, env), capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"dagster sensor stop {sensor} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    port, log = dev.free_port(), home / "dagster-dev.log"
    proc = dev.start(home, port, log, env)
    try:
        yield dev.wait_ready(port, proc, log)
    finally:
        dev.stop(proc, stop_timeout)


@contextmanager
def chromium():
    """Playwright driving Debian's Chromium headless (installed by `./dev test`)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: ./dev test installs Debian's chromium (or set SLUICE_CHROMIUM)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
