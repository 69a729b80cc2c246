"""The raw zone, landed: one Parquet file per UTC hour of what the S3 sink committed (by its ledger, else by
directory), each Kafka record once."""

import time

import dagster as dg
from dagster_aws.s3 import S3Resource

from ingest.config import DEFAULT_SCHEMA
from ingest.lake.landing import land_window
from ingest.lake.ledger import hour_rounds
from ingest.lake.listing import committed_offsets, watermarks
from ingest.lake.offsets import audit_hour, dead_letters
from ingest.lake.schemas import lake_schema
from ingest.schema import load_schema
from orchestration.checks import (
    no_repeated_records,
    offsets_complete,
    offsets_result,
    per_hour,
    repeated_records_result,
)
from orchestration.lib.windows import partition_key
from orchestration.metadata import table_metadata
from orchestration.partitions import hourly_asset_args, window_hours
from orchestration.resources import KafkaResource, LakeResource, lake_connection, service_connections


def _hour_rounds(client, lake: LakeResource, hours: list) -> dict | None:
    """Each hour's committed rounds by the sink's ledger; None when the lake has no ledger."""
    committed = committed_offsets(watermarks(client, lake.bucket, lake.connector, lake.topic))
    rounds = {hour: hour_rounds(client, lake.bucket, lake.connector, lake.topic, hour, committed) for hour in hours}
    return None if any(r is None for r in rounds.values()) else rounds


@dg.asset(**hourly_asset_args, group_name="raw", owners=["team:data-platform"], kinds={"s3", "parquet"},
          check_specs=[no_repeated_records, offsets_complete])
def raw_events(context: dg.AssetExecutionContext, s3: S3Resource, lake: LakeResource, kafka: KafkaResource):
    """One hour of events as the S3 sink wrote them, landed as one Parquet file per hour (each Kafka record once)."""
    began = time.monotonic()
    client, hours = s3.get_client(), window_hours(context)
    with lake_connection(s3) as con:
        rounds = _hour_rounds(client, lake, hours)
        window = land_window(con, client, lake.bucket, lake.topics_dir, lake.landed_dir, lake.topic, hours, rounds)
        audits = None
        if rounds is not None:
            declares_letters = any(m.dlq_offsets for hour_rounds_ in rounds.values() for m in hour_rounds_)
            dlq = dead_letters(service_connections(kafka, s3), lake.dlq_topic, lake.topic) \
                if lake.dlq_topic and declares_letters else None
            audits = [audit_hour(con, lake.bucket, h, rounds[h], landed.sources, landed.missing_files,
                                 landed.key, dlq) for h, landed in zip(hours, window.landed, strict=True)]
    # the columns of the schema the sink recorded for the topic (its sluice.schema.file), else the default one
    schema = lake_schema(client, lake.bucket, lake.connector, lake.topic) or load_schema(DEFAULT_SCHEMA)
    yield dg.MaterializeResult(metadata={
        **table_metadata(context, window.rows, f"s3://{lake.bucket}/{lake.landed_dir}/{lake.topic}",
                         schema.arrow_schema()),
        "rows": dg.MetadataValue.int(window.rows),
        "sink_files": dg.MetadataValue.int(window.files),
        "repeated_records_dropped": dg.MetadataValue.int(window.repeated),
        "kafka_partitions": dg.MetadataValue.int(len(window.offsets)),
        "offset_ranges": dg.MetadataValue.json({str(p): list(r) for p, r in window.offsets.items()}),
        "landed": dg.MetadataValue.text(", ".join(f"s3://{lake.bucket}/{h.key}" for h in window.landed)),
        "discovered_by": dg.MetadataValue.text("commit ledger" if rounds is not None else "hour directory"),
        "duration_s": dg.MetadataValue.float(round(time.monotonic() - began, 3)),
        # A range run (backfill) reports its totals on every hour it covers; this is the split.
        "rows_by_hour": dg.MetadataValue.json({partition_key(h): r.rows
                                               for h, r in zip(window.hours, window.landed, strict=True)}),
    })
    keys = [partition_key(h) for h in hours]
    yield from per_hour(context, no_repeated_records, {
        k: repeated_records_result(n) for k, n in zip(keys, window.repeated_after_landing, strict=True)})
    yield from per_hour(context, offsets_complete, {
        k: offsets_result(None if audits is None else audits[i]) for i, k in enumerate(keys)})
