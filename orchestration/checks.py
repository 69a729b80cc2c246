"""Asset checks: their specs, and the results built from what the plain-Python audits found."""

from __future__ import annotations

import dagster as dg

from ingest.lake.offsets import OffsetAudit

no_repeated_records = dg.AssetCheckSpec(
    "no_repeated_kafka_records", asset="raw_events",
    description="No Kafka record appears twice in the hour's landed file.")
offsets_complete = dg.AssetCheckSpec(
    "kafka_offsets_complete", asset="raw_events",
    description="Every offset the sink committed is in the raw zone or in the DLQ (no gaps).")
stage_counts_reconcile = dg.AssetCheckSpec(
    "counts_reconcile_across_stages", asset="cassandra_events_by_time",
    description="For the window: distinct valid events landed from the raw zone = staged rows = mart rows = rows "
                "Cassandra holds.")


def repeated_records_result(repeated: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(check_name=no_repeated_records.name, passed=repeated == 0,
                               metadata={"repeated": dg.MetadataValue.int(repeated)})


def offsets_result(audit: OffsetAudit | None) -> dg.AssetCheckResult:
    if audit is None:
        return dg.AssetCheckResult(check_name=offsets_complete.name, passed=True, metadata={
            "note": dg.MetadataValue.text("no sink watermark yet: nothing committed")})
    return dg.AssetCheckResult(check_name=offsets_complete.name, passed=audit.ok, metadata={
        "gaps": dg.MetadataValue.int(audit.gaps),
        "committed": dg.MetadataValue.int(sum(audit.committed.values())),
        "in_raw_zone": dg.MetadataValue.int(sum(audit.held.values())),
        "dead_lettered": dg.MetadataValue.int(sum(audit.dead_lettered.values())),
        "repeated_in_raw_zone": dg.MetadataValue.int(audit.repeated),
    })


def reconcile_result(stages: dict[str, int]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(check_name=stage_counts_reconcile.name, passed=len(set(stages.values())) == 1,
                               metadata={stage: dg.MetadataValue.int(n) for stage, n in stages.items()})
