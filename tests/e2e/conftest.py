"""One lake filled by the real sink (two hours of events, 5% malformed, a DLQ), one `dagster dev` over it on a free
port, and a headless Chromium page per test; every test leaves screenshots in artifacts/e2e/ (SLUICE_E2E_ARTIFACTS).
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ingest.connections import REPO_ROOT
from support.dagster_ui import chromium, dagster_dev
from support.sink import produce_events, run_sink, sink_config

ARTIFACTS = Path(os.environ.get("SLUICE_E2E_ARTIFACTS", REPO_ROOT / "artifacts" / "e2e"))
# Assertions wait as long as actions do (Playwright's expect defaults to 5 s): a UI on a machine busy with the rest
# of the suite may take longer to draw a page, which is not what these tests are about.
expect.set_options(timeout=30_000)


# One lake and one `dagster dev` for the UI and run-recovery modules (they run on one worker: SHARED in
# tests/conftest.py); `./dev demo` (test_demo.py) starts its own.
@pytest.fixture(scope="package")
def lake(tmp_path_factory, connections, s3, kafka, cassandra) -> dict:
    """Names of this run's topic, bucket, sink, DLQ and keyspace, and what was produced into them."""
    run = f"e2e{uuid.uuid4().hex[:10]}"
    names = {"topic": f"{run}-ev", "bucket": run, "sink": f"{run}-sink", "dlq": f"{run}-dlq", "keyspace": run}
    work = tmp_path_factory.mktemp("e2e")
    config = sink_config(work, names["sink"], topics=names["topic"], **{
        "s3.bucket.name": names["bucket"], "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": names["dlq"],
        "errors.deadletterqueue.context.headers.enable": "true",
    })
    deliveries = produce_events(connections, names["topic"], 2000, partitions=2, hours=2, bad_ratio=0.05, seed=66)
    sink = run_sink(config)
    assert sink.returncode == 0, sink.stdout[-3000:]
    good = sum(1 for *_, kind in deliveries if kind == "good")
    return names | {"work": work, "good": good, "bad": len(deliveries) - good}


@pytest.fixture(scope="package")
def dagster_url(lake) -> str:
    """`dagster dev` (webserver + daemon) on this run's lake; the raw-zone sensor stopped so that the runs under
    test are the ones the UI launches."""
    env = {"SLUICE_LAKE_BUCKET": lake["bucket"], "SLUICE_LAKE_TOPIC": lake["topic"],
           "SLUICE_SINK_NAME": lake["sink"], "SLUICE_DLQ_TOPIC": lake["dlq"],
           "SLUICE_CASSANDRA_KEYSPACE": lake["keyspace"]}
    with dagster_dev(lake["work"] / "dagster", env, stopped_sensors=("raw_zone_sensor",)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, request):
    """A fresh browser context (no stored UI state); saves `<test>-final.png` whatever the outcome."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', request.node.name)}-final.png")
    context.close()


@pytest.fixture
def screenshot(page):
    """screenshot(name, **options): save the page as artifacts/e2e/<name>.png (options: Playwright's, e.g. clip)."""

    def save(name: str, **options) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=path, **options)
        return path

    return save
