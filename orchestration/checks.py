"""Asset checks, one result per hour partition: their specs, and the results built from what the audits found.

The specs are partitioned like their assets, so the UI shows each hour's result. A run of one hour reports it
as an `AssetCheckResult`; a range run (a backfill, one run) reports one evaluation per hour it covers.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import dagster as dg

from ingest.lake.offsets import HourAudit
from orchestration.partitions import hourly

SAMPLE = 5  # ids shown per difference


def _spec(name: str, asset: str, description: str) -> dg.AssetCheckSpec:
    with warnings.catch_warnings():  # partitioned checks are a preview of Dagster 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(name, asset=asset, description=description, partitions_def=hourly)


no_repeated_records = _spec(
    "no_repeated_kafka_records", "raw_events", "No Kafka record appears twice in the hour's landed file.")
offsets_complete = _spec(
    "kafka_offsets_complete", "raw_events",
    "Every offset the sink's ledger committed with an event time in the hour is in the hour's landed file or in "
    "the DLQ, exactly once (and every file the ledger lists holds the rows it declares).")
stage_counts_reconcile = _spec(
    "counts_reconcile_across_stages", "cassandra_events_by_time",
    "For the hour, the same set of event ids at every stage: the distinct valid events landed from the raw zone, "
    "the staged rows, the mart's rows and the rows Cassandra holds.")

Result = tuple[bool, dict[str, dg.MetadataValue]]


def per_hour(context: dg.AssetExecutionContext, spec: dg.AssetCheckSpec,
             results: dict[str, Result]) -> Iterator:
    """The check's result for each hour partition of the run (`results`: partition key -> (passed, metadata))."""
    if context.has_partition_key:
        passed, metadata = results[context.partition_key]
        yield dg.AssetCheckResult(asset_key=spec.asset_key, check_name=spec.name, passed=passed, metadata=metadata)
        return
    for key, (passed, metadata) in results.items():
        yield dg.AssetCheckEvaluation(asset_key=spec.asset_key, check_name=spec.name, passed=passed,
                                      metadata=metadata, partition=key)
    output = next(name for name, s in context.assets_def.check_specs_by_output_name.items() if s.key == spec.key)
    yield dg.Output(None, output_name=output)  # the check's step output, which a range run must still give


def repeated_records_result(repeated: int) -> Result:
    return repeated == 0, {"repeated": dg.MetadataValue.int(repeated)}


def offsets_result(audit: HourAudit | None) -> Result:
    if audit is None:
        return True, {"note": dg.MetadataValue.text(
            "no commit ledger in the lake (not written by Sluice's sink): its offsets cannot be audited")}
    metadata = {
        "gaps": dg.MetadataValue.int(audit.gaps),
        "rounds": dg.MetadataValue.int(audit.rounds),
        "sink_files": dg.MetadataValue.int(audit.files),
        "committed_in_hour": dg.MetadataValue.int(audit.in_hour + audit.rows_missing),
        "in_landed": dg.MetadataValue.int(audit.landed),
        "not_landed": dg.MetadataValue.int(audit.not_landed),
        "stray_in_landed": dg.MetadataValue.int(audit.stray_landed),
        "repeated_in_landed": dg.MetadataValue.int(audit.repeated_landed),
        "rows_missing_from_files": dg.MetadataValue.int(audit.rows_missing),
        "dead_letters": dg.MetadataValue.int(audit.dead_letters),
        "dead_letters_in_dlq": dg.MetadataValue.int(audit.dead_letters_found),
        "dead_letters_missing": dg.MetadataValue.int(audit.dead_letters_missing),
        "dead_letters_repeated": dg.MetadataValue.int(audit.dead_letters_repeated),
        "dead_letters_expired": dg.MetadataValue.int(audit.dead_letters_expired),
    }
    if audit.missing_files:
        metadata["missing_files"] = dg.MetadataValue.json(audit.missing_files[:20])
    return audit.ok, metadata


def ids_result(stages: dict[str, set[str]]) -> Result:
    """Passed when every stage holds the same ids; the metadata counts each stage and shows what differs."""
    names = list(stages)
    metadata = {name: dg.MetadataValue.int(len(ids)) for name, ids in stages.items()}
    passed = True
    for before, after in zip(names, names[1:], strict=False):
        for label, diff in ((f"in_{before}_not_{after}", stages[before] - stages[after]),
                            (f"in_{after}_not_{before}", stages[after] - stages[before])):
            if diff:
                passed = False
                metadata[label] = dg.MetadataValue.int(len(diff))
                metadata[f"{label}_sample"] = dg.MetadataValue.json(sorted(diff)[:SAMPLE])
    return passed, metadata
