"""`./dev demo` as the README runs it (smaller), with JSON and with Avro events: it serves the UI and every valid
event it streams reaches Cassandra."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import urllib.request

import pytest

from ingest.connections import REPO_ROOT
from stack.dagster_dev import free_port

# Runs the raw-zone sensor launched after `since` (the demo's Dagster home keeps earlier demos' runs).
RUNS = """{ runsOrError(filter: {createdAfter: %f, tags: [{key: "dagster/sensor_name", value: "raw_zone_sensor"}]})
           { ... on Runs { results { status jobName } } } }"""


def watch_ui(port: int, proc: subprocess.Popen, since: float, seen: dict) -> None:
    """While the demo runs: does the UI answer, and which jobs has the sensor launched (Dagster's GraphQL API)?"""
    query = json.dumps({"query": RUNS % since}).encode()
    while proc.poll() is None and "hourly_flow" not in seen.get("jobs", set()):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/asset-groups", timeout=10) as page:
                seen["ui"] = page.status
            request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query,
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.loads(response.read())
            seen["jobs"] = {run["jobName"] for run in answer["data"]["runsOrError"]["results"]}
        except OSError:  # not up yet
            pass
        except Exception as exc:  # an answer of another shape: keep it for the assertion's message
            seen["error"] = repr(exc)
        time.sleep(2)


@pytest.mark.parametrize("value_format", ["json", "avro"])
def test_the_demo_serves_the_ui_and_brings_every_valid_event_to_cassandra(cassandra, s3, kafka, registry,
                                                                          value_format):
    port, since = free_port(), time.time()
    proc = subprocess.Popen([str(REPO_ROOT / "dev"), "demo", "--port", str(port), "--events", "3000",
                             "--exit-when-served", "--format", value_format], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen: dict = {}
    watcher = threading.Thread(target=watch_ui, args=(port, proc, since, seen), daemon=True)
    watcher.start()
    # A demo that never gets there fails, it does not hang the suite: SIGTERM stops it as Ctrl-C does.
    timer = threading.Timer(600, proc.terminate)
    timer.start()
    try:
        output = proc.communicate(timeout=720)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        output = proc.communicate()[0]
    finally:
        timer.cancel()
    watcher.join(timeout=30)

    assert proc.returncode == 0, output[-4000:]
    assert seen.get("ui") == 200, (seen, output[-4000:])
    assert "hourly_flow" in seen.get("jobs", set()), (seen, output[-4000:])  # the sensor launched the flow
    assert "first rows reached Cassandra after" in output
    served = re.search(r"demo: all ([\d,]+) valid events are in Cassandra", output)
    assert served, output[-4000:]
    produced = re.findall(r"produced (\d+) ", output)
    assert produced and int(produced[-1]) == 3000
    assert 2800 < int(served.group(1).replace(",", "")) < 3000  # 2% malformed went to the DLQ instead
    assert "demo: stopped." in output
    assert f"3,000 {value_format.upper()} events" in output
    assert ("value.converter=io.confluent.connect.avro.AvroConverter" in output) == (value_format == "avro")
