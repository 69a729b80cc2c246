"""The raw zone, landed: one Parquet file per UTC hour of what the S3 sink committed (by its ledger, else by
directory), each Kafka record once."""

import time

import dagster as dg
from dagster_aws.s3 import S3Resource

from ingest.lake.landing import land_window
from ingest.lake.listing import committed_offsets, watermarks
from ingest.lake.offsets import audit_offsets
from orchestration.checks import no_repeated_records, offsets_complete, offsets_result, repeated_records_result
from orchestration.lib.windows import partition_key
from orchestration.partitions import hourly_asset_args, window_hours
from orchestration.resources import KafkaResource, LakeResource, duckdb_lake, service_connections


@dg.asset(**hourly_asset_args, group_name="raw", owners=["team:data-platform"], kinds={"s3", "parquet"},
          check_specs=[no_repeated_records, offsets_complete])
def raw_events(context: dg.AssetExecutionContext, s3: S3Resource, lake: LakeResource, kafka: KafkaResource):
    """One hour of events as the S3 sink wrote them, landed as one Parquet file per hour (each Kafka record once)."""
    began = time.monotonic()
    client = s3.get_client()
    con = duckdb_lake(s3)
    try:
        committed = committed_offsets(watermarks(client, lake.bucket, lake.connector, lake.topic))
        window = land_window(con, client, lake.bucket, lake.topics_dir, lake.landed_dir, lake.topic,
                             window_hours(context), lake.connector, committed)
        audit = audit_offsets(con, client, service_connections(kafka, s3), lake.bucket, lake.topics_dir,
                              lake.topic, committed, lake.dlq_topic)
    finally:
        con.close()
    yield dg.MaterializeResult(metadata={
        "rows": dg.MetadataValue.int(window.rows),
        "sink_files": dg.MetadataValue.int(window.files),
        "repeated_records_dropped": dg.MetadataValue.int(window.repeated),
        "kafka_partitions": dg.MetadataValue.int(len(window.offsets)),
        "offset_ranges": dg.MetadataValue.json({str(p): list(r) for p, r in window.offsets.items()}),
        "landed": dg.MetadataValue.text(", ".join(f"s3://{lake.bucket}/{h.key}" for h in window.landed)),
        "duration_s": dg.MetadataValue.float(round(time.monotonic() - began, 3)),
        # A range run (backfill) reports its totals on every hour it covers; this is the split.
        "rows_by_hour": dg.MetadataValue.json({partition_key(h): r.rows
                                               for h, r in zip(window.hours, window.landed, strict=True)}),
    })
    yield repeated_records_result(window.repeated_after_landing)
    yield offsets_result(audit)
