"""The Dagster UI as a data team uses it, in headless Chromium against `dagster dev` over the real stack.

The lake holds two hours (2024-01-15 09:00 and 10:00 UTC) that the real sink wrote, and a DLQ it filled.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse

from confluent_kafka import Consumer, TopicPartition
from playwright.sync_api import Page, expect

from ingest.clients import kafka_config

LOCATION = "orchestration.definitions"
CHAIN = ["raw_events", "stg_events", "int_events_enriched", "events_by_time", "cassandra_events_by_time"]
ALL_ASSETS = {*CHAIN, "event_types", "hourly_event_counts", "cassandra_hourly_event_counts"}
HOURS = "[2024-01-15-09:00...2024-01-15-10:00]"
GROUPS = ("raw", "transform", "serving")
GRAPH_BOX = """els => {
  const r = els.map(e => e.getBoundingClientRect()), m = 24;
  const x = Math.min(...r.map(b => b.left)) - m, y = Math.min(...r.map(b => b.top)) - m;
  return {x, y, width: Math.max(...r.map(b => b.right)) + m - x, height: Math.max(...r.map(b => b.bottom)) + m - y};
}"""


def lineage(page: Page, base: str, expected: int, selection: str = "") -> dict[str, float]:
    """Open the global lineage graph (filtered by an asset selection) with every group expanded, as the UI does
    after ⌥E; once `expected` asset nodes are drawn, return each one's name and x position."""
    path = f"~{urllib.parse.quote(selection, safe='')}/" if selection else "/"
    page.goto(f"{base}/asset-groups{path}?expanded=" + ",".join(f"global@global:{g}" for g in GROUPS))
    names = page.locator("foreignObject [class*=AssetNode_assetName] [data-tooltip]")  # asset nodes, not groups
    expect(names).to_have_count(expected, timeout=30_000)
    return dict(names.evaluate_all(
        "els => els.map(e => [e.dataset.tooltip, Number(e.closest('foreignObject').getAttribute('x'))])"))


def test_lineage_shows_one_chain_from_the_raw_zone_through_dbt_to_cassandra(dagster_url, page, screenshot):
    page.set_viewport_size({"width": 2400, "height": 1300})  # wide enough for full asset nodes, not minimal ones
    assert set(lineage(page, dagster_url, len(ALL_ASSETS))) == ALL_ASSETS
    screenshot("lineage")
    screenshot("lineage-graph", clip=page.locator("foreignObject").evaluate_all(GRAPH_BOX))  # the README's picture

    nodes = lineage(page, dagster_url, len(CHAIN) + 1, '+key:"cassandra_events_by_time"')
    assert set(nodes) == {*CHAIN, "event_types"}  # everything the Cassandra table is built from, and nothing else
    xs = [nodes[name] for name in CHAIN]
    assert xs == sorted(xs) and len(set(xs)) == len(xs), f"not one left-to-right chain: {nodes}"
    screenshot("lineage-upstream-of-cassandra")


def test_every_asset_page_shows_its_description_owners_group_and_kinds(dagster_url, page, screenshot):
    from orchestration.definitions import defs

    specs = {spec.key.to_user_string(): spec for spec in defs().resolve_all_asset_specs()}
    assert set(specs) == ALL_ASSETS
    for name, spec in sorted(specs.items()):
        assert spec.description and spec.owners and spec.group_name and spec.kinds, f"{name} lacks a property"
        page.goto(f"{dagster_url}/assets/{name}")
        expect(page.get_by_text(" ".join(spec.description.split()[:8])).first).to_be_visible()
        for owner in spec.owners:
            expect(page.get_by_text(owner.removeprefix("team:"), exact=True).first).to_be_visible()
        expect(page.get_by_role("link", name=spec.group_name, exact=True).first).to_be_visible()
        for kind in spec.kinds:
            expect(page.get_by_text(re.compile(f"^{re.escape(kind)}$", re.IGNORECASE)).first).to_be_visible()
    screenshot("asset-page")


def test_jobs_sensors_and_the_schedule_are_listed_with_descriptions(dagster_url, page, screenshot):
    page.goto(f"{dagster_url}/automation")
    for kind, name in [("sensors", "raw_zone_sensor"), ("sensors", "dlq_growth_sensor"),
                       ("sensors", "run_failure_log"), ("sensors", "run_worker_watchdog"),
                       ("schedules", "daily_aggregates_schedule")]:
        expect(page.locator(f"a[href$='/{kind}/{name}']")).to_be_visible()
    screenshot("automation")
    page.locator("a[href$='/sensors/raw_zone_sensor']").click()
    expect(page.get_by_text("Follows the sink's commit ledger")).to_be_visible()
    for job, description in [("dlq_reprocess", "Reprocess the dead-letter queue"),
                             ("daily_aggregates", "Rebuilds yesterday's hourly aggregates"),
                             ("hourly_flow", "One hour (or a range, as one run)")]:
        page.goto(f"{dagster_url}/locations/{LOCATION}/jobs/{job}")
        expect(page.get_by_text(description)).to_be_visible()


def test_a_two_hour_backfill_launched_from_the_ui_lands_both_hours_in_cassandra(
    dagster_url, lake, page, screenshot, cassandra
):
    page.goto(f"{dagster_url}/asset-groups")
    page.get_by_role("button", name="Materialize all…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Launch runs to materialize 8 assets")).to_be_visible()
    dialog.get_by_text("Show all partitions").click()  # 2024 is older than the 90 days shown at first
    dialog.locator("input[type=text]").first.fill(HOURS)
    dialog.locator("input[type=text]").first.press("Enter")
    expect(dialog.get_by_text("2 partitions", exact=True)).to_be_visible()
    screenshot("backfill-dialog")
    dialog.get_by_role("button", name="Launch backfill").click()

    created = page.get_by_text(re.compile(r"^Created backfill \w+$"))  # the toast
    expect(created).to_be_visible()
    backfill = created.inner_text().split()[-1]

    page.goto(f"{dagster_url}/runs/b/{backfill}")
    expect(page.get_by_text("2024-01-15-09:00...2024-01-15-10:00")).to_be_visible()
    status = page.get_by_text("Status", exact=True).locator("xpath=..")
    expect(status).to_contain_text(re.compile(r"Succeeded|Failed|Cancel"), timeout=420_000)
    screenshot("backfill")
    assert status.inner_text().split() == ["Status", "Succeeded"]
    expect(page.get_by_text("100% completed")).to_have_count(len(ALL_ASSETS))

    # What the backfill did, read back from the services: every valid event of both hours is served.
    served = cassandra.execute(f"SELECT count(*) FROM {lake['keyspace']}.events_by_time WHERE event_date = %s",
                               (dt.date(2024, 1, 15),)).one()[0]
    assert served == lake["good"]
    # ... and the asset page shows it as metadata.
    page.goto(f"{dagster_url}/assets/raw_events")
    rows = page.locator("tr").filter(has=page.get_by_text("rows", exact=True))
    expect(rows).to_contain_text(str(lake["good"]))
    split = page.locator("tr").filter(has=page.get_by_text("rows_by_hour", exact=True))
    expect(split).to_contain_text("2024-01-15-09:00")
    expect(split).to_contain_text("2024-01-15-10:00")
    screenshot("raw-events-asset")
    # Numeric metadata is charted (by run here: the partition axis shows the latest hours, not 2024's).
    page.get_by_role("button", name="Plots").click()
    page.get_by_role("button", name="Events").click()
    for label in ("rows", "sink_files", "duration_s"):
        expect(page.get_by_text(label, exact=True)).to_be_visible()
    assert page.locator("canvas").count() >= 3
    screenshot("raw-events-plots", full_page=True)


def test_the_dlq_job_launched_from_the_ui_replays_or_parks_every_dead_letter(
    dagster_url, lake, connections, page, screenshot
):
    page.goto(f"{dagster_url}/locations/{LOCATION}/jobs/dlq_reprocess/playground")
    expect(page.get_by_text(f"dlq_topic: {lake['dlq']}")).to_be_visible()  # the lake's DLQ, no config to type
    page.get_by_role("button", name="Launch Run").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}"))
    outcome = page.get_by_text(re.compile(r"^(RUN_SUCCESS|RUN_FAILURE)$")).first
    expect(outcome).to_be_visible(timeout=180_000)
    screenshot("dlq-run")
    assert outcome.inner_text() == "RUN_SUCCESS"
    metadata = {key: int(page.locator("tr").filter(has=page.get_by_text(key, exact=True)).last
                         .locator("td").last.inner_text())
                for key in ("read", "replayed", "parked")}
    assert metadata["read"] == lake["bad"]
    assert metadata["replayed"] + metadata["parked"] == lake["bad"]
    assert records(connections, f"{lake['dlq']}-parked") == metadata["parked"]


def records(connections, topic: str) -> int:
    consumer = Consumer(kafka_config(connections, **{"group.id": "sluice-e2e-count"}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(high - low for low, high in (consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                                                for p in partitions))
    finally:
        consumer.close()
