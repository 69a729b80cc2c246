"""`./dev demo` as the README runs it (smaller): it serves the UI and every valid event it streams reaches Cassandra."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import urllib.request

from ingest.connections import REPO_ROOT
from stack.dagster_dev import free_port


def test_the_demo_serves_the_ui_and_brings_every_valid_event_to_cassandra(cassandra, s3, kafka):
    port = free_port()
    proc = subprocess.Popen([str(REPO_ROOT / "dev"), "demo", "--port", str(port), "--events", "3000",
                             "--exit-when-served"], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    timer = threading.Timer(600, proc.kill)  # a demo that never gets there fails, it does not hang the suite
    timer.start()
    lines, ui = [], None
    try:
        for line in proc.stdout:
            lines.append(line)
            if "first rows reached Cassandra" in line:  # the UI is up while the demo runs
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/asset-groups", timeout=10) as page:
                    ui = page.status
                query = json.dumps({"query": "{ runsOrError { ... on Runs { results { status jobName } } } }"})
                request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query.encode(),
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=10) as response:
                    launched = json.loads(response.read())["data"]["runsOrError"]["results"]
        proc.wait()
    finally:
        timer.cancel()
    output = "".join(lines)
    assert proc.returncode == 0, output[-4000:]
    assert ui == 200, output[-4000:]
    assert any(run["jobName"] == "hourly_flow" for run in launched)  # the raw-zone sensor launched the flow
    served = re.search(r"demo: all ([\d,]+) valid events are in Cassandra", output)
    assert served, output[-4000:]
    produced = re.findall(r"produced (\d+) ", output)
    assert produced and int(produced[-1]) == 3000
    assert 2800 < int(served.group(1).replace(",", "")) < 3000  # 2% malformed went to the DLQ instead
    assert "demo: stopped." in output
