"""Serving: the curated marts of a window loaded into Cassandra (the DataStax sink's mapping, TTL, consistency)."""

import datetime as dt

import dagster as dg
from dagster_aws.s3 import S3Resource

from ingest.cassandra_client import consistency_level
from ingest.lake.curated import mart_rows, stage_ids
from ingest.serving.load import (
    ensure_counts_table,
    ensure_events_table,
    load_counts_window,
    load_events_window,
    window_ids,
    write_version,
)
from ingest.serving.mapping import serving_mapping
from orchestration.checks import ids_result, per_hour, stage_counts_reconcile
from orchestration.lib.windows import partition_key
from orchestration.metadata import table_metadata
from orchestration.partitions import hourly_asset_args, window_hours
from orchestration.resources import CassandraResource, LakeResource, lake_connection

HOUR = dt.timedelta(hours=1)
EVENTS_COLUMNS = "event_date, event_time, event_id, event_type, payload"
COUNTS_COLUMNS = "event_date, event_hour, event_type, category, events, users, revenue"


def run_version(context: dg.AssetExecutionContext) -> int:
    """This run's write timestamp for Cassandra: its creation time, so a later run of an hour always wins."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    return write_version(record.create_timestamp)


def _read_mart(s3: S3Resource, lake: LakeResource, model: str, columns: str, hours: list) -> list[tuple]:
    with lake_connection(s3) as con:
        return mart_rows(con, lake.bucket, model, columns, hours)


@dg.asset(**hourly_asset_args, group_name="serving", owners=["team:data-platform"], kinds={"cassandra"},
          deps=[dg.AssetKey("events_by_time")], check_specs=[stage_counts_reconcile])
def cassandra_events_by_time(context: dg.AssetExecutionContext, cassandra: CassandraResource, lake: LakeResource,
                             s3: S3Resource):
    """The window's curated events in Cassandra's analytics.events_by_time (TTL and consistency of the seed)."""
    mapping = serving_mapping(lake.topic, cassandra.keyspace)
    window, hours = context.partition_time_window, window_hours(context)
    rows = _read_mart(s3, lake, "events_by_time", EVENTS_COLUMNS, hours)
    with cassandra.session() as session:
        ensure_events_table(session, mapping)
        version = run_version(context)
        result = load_events_window(session, mapping, rows, window.start, window.end,
                                    consistency_level(mapping.consistency), version)
        held = {h: window_ids(session, mapping, h, h + HOUR) for h in hours}
    yield dg.MaterializeResult(metadata={
        **table_metadata(context, sum(len(ids) for ids in held.values()), f"{mapping.keyspace}.{mapping.table}"),
        "rows_written": dg.MetadataValue.int(result.written),
        "rows_deleted": dg.MetadataValue.int(result.deleted),
        "duration_s": dg.MetadataValue.float(round(result.seconds, 3)),
        "table": dg.MetadataValue.text(f"{mapping.keyspace}.{mapping.table}"),
        "ttl_seconds": dg.MetadataValue.int(mapping.ttl_seconds),
        "consistency": dg.MetadataValue.text(mapping.consistency),
        "write_timestamp": dg.MetadataValue.int(version),
    })
    with lake_connection(s3) as con:
        stages = {h: stage_ids(con, lake.bucket, lake.topic, h, lake.landed_dir) | {"cassandra": held[h]}
                  for h in hours}
    yield from per_hour(context, stage_counts_reconcile, {partition_key(h): ids_result(s) for h, s in stages.items()})


@dg.asset(**hourly_asset_args, group_name="serving", owners=["team:analytics"], kinds={"cassandra"},
          deps=[dg.AssetKey("hourly_event_counts")])
def cassandra_hourly_event_counts(context: dg.AssetExecutionContext, cassandra: CassandraResource,
                                  lake: LakeResource, s3: S3Resource):
    """Hourly counts per event type and category in Cassandra's analytics.hourly_event_counts."""
    mapping = serving_mapping(lake.topic, cassandra.keyspace)
    hours = window_hours(context)
    rows = _read_mart(s3, lake, "hourly_event_counts", COUNTS_COLUMNS, hours)
    with cassandra.session() as session:
        ensure_counts_table(session, mapping.keyspace)
        version = run_version(context)
        result = load_counts_window(session, mapping.keyspace, rows, [(h.date(), h.hour) for h in hours],
                                    consistency_level(mapping.consistency), version)
    return dg.MaterializeResult(metadata={
        **table_metadata(context, len(rows), f"{mapping.keyspace}.hourly_event_counts"),
        "rows_written": dg.MetadataValue.int(result.written),
        "rows_deleted": dg.MetadataValue.int(result.deleted),
        "events": dg.MetadataValue.int(sum(r[4] for r in rows)),
        "write_timestamp": dg.MetadataValue.int(version),
        "duration_s": dg.MetadataValue.float(round(result.seconds, 3)),
    })
