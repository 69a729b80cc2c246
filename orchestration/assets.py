"""The raw-zone landing asset and the Cassandra serving assets, each partitioned by hour."""

import dataclasses
import datetime as dt
import time

import dagster as dg
from dagster_aws.s3 import S3Resource

from ingest.connections import Connections
from ingest.lake import lake_connection
from orchestration.cassandra_config import TableMapping, identifier, load_mappings
from orchestration.landing import land_hour
from orchestration.offsets import audit_offsets
from orchestration.partitions import hour_path, hourly, partition_key
from orchestration.resources import CassandraResource, LakeResource, consistency_level
from orchestration.serving import ensure_counts_table, ensure_events_table, load_counts_window, load_events_window

HOURLY = {"partitions_def": hourly, "backfill_policy": dg.BackfillPolicy.single_run()}  # a range: one run
OVERLAPS = dg.AssetCheckSpec("no_repeated_kafka_records", asset="raw_events",
                             description="No Kafka record appears twice in the hour's landed file.")
OFFSETS = dg.AssetCheckSpec("kafka_offsets_complete", asset="raw_events",
                            description="Every offset the sink committed is in the raw zone or in the DLQ (no gaps).")
RECONCILE = dg.AssetCheckSpec("counts_reconcile_across_stages", asset="cassandra_events_by_time",
                              description="For the window: distinct valid events landed from the raw zone = staged "
                                          "rows = mart rows = rows Cassandra holds.")


@dg.asset(**HOURLY, group_name="raw", owners=["team:data-platform"], kinds={"s3", "parquet"},
          check_specs=[OVERLAPS, OFFSETS])
def raw_events(context: dg.AssetExecutionContext, s3: S3Resource, lake: LakeResource):
    """One hour of events as the S3 sink wrote them, landed as one Parquet file per hour (each Kafka record once)."""
    began = time.monotonic()
    connections = Connections.from_env()
    con = lake_connection(connections)
    client = s3.get_client()
    hours = _hours(context)
    landed = [land_hour(con, client, lake.bucket, lake.topics_dir, lake.landed_dir, lake.topic, hour)
              for hour in hours]
    rows = sum(h.rows for h in landed)
    files = sum(h.files for h in landed)
    repeated = sum(h.repeated for h in landed)
    offsets = {}
    for h in landed:
        for p, (lo, hi) in h.offsets.items():
            old = offsets.get(p, (lo, hi))
            offsets[p] = (min(old[0], lo), max(old[1], hi))
    check_rows = con.sql("select count(*) - count(distinct (_kafka_topic, _kafka_partition, _kafka_offset)) from "
                         f"read_parquet([{', '.join(repr(f's3://{lake.bucket}/{h.key}') for h in landed)}])"
                         ).fetchone()[0]
    audit = audit_offsets(con, client, connections, lake.bucket, lake.topics_dir, lake.topic,
                          lake.connector, lake.dlq_topic)
    con.close()
    yield dg.MaterializeResult(metadata={
        "rows": dg.MetadataValue.int(rows),
        "sink_files": dg.MetadataValue.int(files),
        "repeated_records_dropped": dg.MetadataValue.int(repeated),
        "kafka_partitions": dg.MetadataValue.int(len(offsets)),
        "offset_ranges": dg.MetadataValue.json({str(p): list(r) for p, r in sorted(offsets.items())}),
        "landed": dg.MetadataValue.text(", ".join(f"s3://{lake.bucket}/{h.key}" for h in landed)),
        "duration_s": dg.MetadataValue.float(round(time.monotonic() - began, 3)),
        # A range run (backfill) reports its totals on every hour it covers; this is the split.
        "rows_by_hour": dg.MetadataValue.json({partition_key(h): r.rows for h, r in zip(hours, landed, strict=True)}),
    })
    yield dg.AssetCheckResult(check_name=OVERLAPS.name, passed=check_rows == 0,
                              metadata={"repeated": dg.MetadataValue.int(check_rows)})
    if audit is None:
        yield dg.AssetCheckResult(check_name=OFFSETS.name, passed=True,
                                  metadata={"note": dg.MetadataValue.text("no sink watermark yet: nothing committed")})
    else:
        yield dg.AssetCheckResult(check_name=OFFSETS.name, passed=audit.ok, metadata={
            "gaps": dg.MetadataValue.int(audit.gaps),
            "committed": dg.MetadataValue.int(sum(audit.committed.values())),
            "in_raw_zone": dg.MetadataValue.int(sum(audit.held.values())),
            "dead_lettered": dg.MetadataValue.int(sum(audit.dead_lettered.values())),
            "repeated_in_raw_zone": dg.MetadataValue.int(audit.repeated),
        })


@dg.asset(**HOURLY, group_name="serving", owners=["team:data-platform"], kinds={"cassandra"},
          deps=[dg.AssetKey("events_by_time")], check_specs=[RECONCILE])
def cassandra_events_by_time(context: dg.AssetExecutionContext, cassandra: CassandraResource, lake: LakeResource):
    """The window's curated events in Cassandra's analytics.events_by_time (TTL and consistency of the seed)."""
    mapping = _mapping(lake, cassandra)
    window = context.partition_time_window
    rows = _mart_rows(lake, "events_by_time", "event_date, event_time, event_id, event_type, payload", context)
    with cassandra.session() as session:
        ensure_events_table(session, mapping)
        result = load_events_window(session, mapping, rows, window.start, window.end,
                                    consistency_level(mapping.consistency))
        held = _count_window(session, mapping, window.start, window.end)
    yield dg.MaterializeResult(metadata={
        "rows_written": dg.MetadataValue.int(result.written),
        "rows_deleted": dg.MetadataValue.int(result.deleted),
        "duration_s": dg.MetadataValue.float(round(result.seconds, 3)),
        "table": dg.MetadataValue.text(f"{mapping.keyspace}.{mapping.table}"),
        "ttl_seconds": dg.MetadataValue.int(mapping.ttl_seconds),
        "consistency": dg.MetadataValue.text(mapping.consistency),
    })
    stages = _stage_counts(lake, context)
    stages["cassandra"] = held
    yield dg.AssetCheckResult(check_name=RECONCILE.name, passed=len(set(stages.values())) == 1,
                              metadata={stage: dg.MetadataValue.int(n) for stage, n in stages.items()})


@dg.asset(**HOURLY, group_name="serving", owners=["team:analytics"], kinds={"cassandra"},
          deps=[dg.AssetKey("hourly_event_counts")])
def cassandra_hourly_event_counts(context: dg.AssetExecutionContext, cassandra: CassandraResource,
                                  lake: LakeResource):
    """Hourly counts per event type and category in Cassandra's analytics.hourly_event_counts."""
    mapping = _mapping(lake, cassandra)
    rows = _mart_rows(lake, "hourly_event_counts",
                      "event_date, event_hour, event_type, category, events, users, revenue", context)
    hours = [(h.date(), h.hour) for h in _hours(context)]
    with cassandra.session() as session:
        ensure_counts_table(session, mapping.keyspace)
        result = load_counts_window(session, mapping.keyspace, rows, hours, consistency_level(mapping.consistency))
    return dg.MaterializeResult(metadata={
        "rows_written": dg.MetadataValue.int(result.written),
        "rows_deleted": dg.MetadataValue.int(result.deleted),
        "events": dg.MetadataValue.int(sum(r[4] for r in rows)),
        "duration_s": dg.MetadataValue.float(round(result.seconds, 3)),
    })


def _mapping(lake: LakeResource, cassandra: CassandraResource) -> TableMapping:
    """The seed connector's mapping to events_by_time: the lake topic's own, else the only one there is
    (a lake fed from another topic name still serves into the seed's table); keyspace overridable."""
    mappings = [m for m in load_mappings() if m.table == "events_by_time"]
    mapping = next((m for m in mappings if m.topic == lake.topic), mappings[0])
    if cassandra.keyspace:
        mapping = dataclasses.replace(mapping, keyspace=identifier("keyspace", cassandra.keyspace))
    return mapping


def _hours(context: dg.AssetExecutionContext) -> list[dt.datetime]:
    window = context.partition_time_window
    count = int((window.end - window.start).total_seconds() // 3600)
    return [window.start.astimezone(dt.UTC) + dt.timedelta(hours=k) for k in range(count)]


def _mart_rows(lake: LakeResource, model: str, columns: str, context) -> list[tuple]:
    """The curated rows of the window's hours (each hour is one file the dbt run just wrote)."""
    files = [f"s3://{lake.bucket}/curated/{model}/event_date={h:%Y-%m-%d}/event_hour={h:%H}/part-0.parquet"
             for h in _hours(context)]
    con = lake_connection(Connections.from_env())
    try:
        listing = ", ".join(repr(f) for f in files)
        return con.sql(f"select {columns} from read_parquet([{listing}], hive_partitioning = true, "
                       "hive_types = {'event_date': 'date', 'event_hour': 'integer'})").fetchall()
    finally:
        con.close()


def _stage_counts(lake: LakeResource, context) -> dict[str, int]:
    """Distinct events of the window at each stage in the lake: landed (raw, valid), staged, mart."""
    hours = _hours(context)
    start, end = hours[0], hours[-1] + dt.timedelta(hours=1)
    landed = [f"s3://{lake.bucket}/{lake.landed_dir}/{lake.topic}/{hour_path(h)}/part-0.parquet" for h in hours]
    curated = {m: [f"s3://{lake.bucket}/curated/{m}/event_date={h:%Y-%m-%d}/event_hour={h:%H}/part-0.parquet"
                   for h in hours] for m in ("stg_events", "events_by_time")}
    window = f"event_time >= '{start.isoformat()}'::timestamptz and event_time < '{end.isoformat()}'::timestamptz"
    con = lake_connection(Connections.from_env())
    try:
        def count(files: list[str], what: str) -> int:
            listing = ", ".join(repr(f) for f in files)
            return con.sql(f"select {what} from read_parquet([{listing}], union_by_name = true) where {window}"
                           ).fetchone()[0]

        return {"raw_valid": count(landed, "count(distinct event_id)"),
                "staged": count(curated["stg_events"], "count(*)"),
                "mart": count(curated["events_by_time"], "count(*)")}
    finally:
        con.close()


def _count_window(session, mapping, start: dt.datetime, end: dt.datetime) -> int:
    statement = session.prepare(f"SELECT count(*) FROM {mapping.keyspace}.{mapping.table} "
                                "WHERE event_date = ? AND event_time >= ? AND event_time < ?")
    days = {(start + dt.timedelta(hours=k)).date() for k in range(int((end - start).total_seconds() // 3600))}
    return sum(session.execute(statement, (d, start, end)).one()[0] for d in days)

