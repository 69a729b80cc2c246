"""The ./dev entry point against the running stack: status reports it, a second `up` leaves it alone."""

import os
import re
import subprocess
import sys
from pathlib import Path

from support.faults import dev


def pids(status_output: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w+)\s+ready\s+\S+\s+pid (\d+)", status_output, re.MULTILINE))


def test_status_shows_four_ready_services(kafka, s3, cassandra, registry):
    result = dev("status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(pids(result.stdout)) == {"kafka", "cassandra", "s3", "registry"}


def test_up_again_keeps_the_running_services(kafka, s3, cassandra, registry):
    before = pids(dev("status").stdout)
    result = dev("up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "starting" not in result.stdout
    assert pids(dev("status").stdout) == before


SLUICE = str(Path(sys.executable).parent / "sluice")


def test_sluice_check_names_the_service_it_cannot_reach(kafka):
    ok = subprocess.run([SLUICE, "check"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert len(re.findall(r"^\w+\s+ok\s", ok.stdout, re.MULTILINE)) == 4

    bad = subprocess.run(
        [SLUICE, "check", "kafka"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SLUICE_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
    )
    assert bad.returncode == 1
    assert re.search(r"^kafka\s+FAILED\s", bad.stdout, re.MULTILINE)
