"""Jobs: the hourly flow raw -> dbt -> Cassandra, the daily rebuild of the aggregates, DLQ reprocessing.

The asset jobs run every step in the run's own process (in-process executor): the multiprocess default starts a
Python process per step that imports Dagster, dbt and the code location again, ~30 s of a ~48 s hour run on two cores,
for steps that follow one another anyway (each waits for its upstream). A run whose process dies is failed and
retried as before: the process Dagster's run monitoring and run_worker_watchdog watch is the one that runs the steps.
"""

import dagster as dg
from dagster_aws.s3 import S3Resource

from ingest.dlq.audit import audit_glob
from ingest.dlq.repairs import REPAIRS
from ingest.dlq.reprocess import reprocess_dlq
from orchestration.resources import KafkaResource, LakeResource, SchemaRegistryResource, service_connections

hourly_flow = dg.define_asset_job(
    "hourly_flow", selection=dg.AssetSelection.assets("raw_events").downstream(),
    description="One hour (or a range, as one run) from the raw zone through dbt into Cassandra.",
    executor_def=dg.in_process_executor,
)

daily_aggregates = dg.define_asset_job(
    "daily_aggregates",
    selection=dg.AssetSelection.assets("hourly_event_counts", "cassandra_hourly_event_counts"),
    description="Rebuilds yesterday's hourly aggregates in the lake and Cassandra, 24 hours in one run.",
    executor_def=dg.in_process_executor,
)


class DlqConfig(dg.Config):
    """Every field has a default, so the job launches from the UI without config: the lake's DLQ topic
    (SLUICE_DLQ_TOPIC, events-dlq), parked records to `<dlq>-parked`, progress in group `sluice-dlq-reprocess`."""

    dlq_topic: str | None = None
    parking_topic: str | None = None
    group_id: str = "sluice-dlq-reprocess"
    repairs: list[str] = ["default_event_type", "coerce_numeric_timestamp"]
    max_records: int | None = None
    max_hops: int = 3  # replays of one record before it is parked


@dg.op(description="Re-validates each DLQ record with the sink's validation (the schema the lake's connector "
                   "recorded for its topic), applies the selected repairs, "
                   f"replays fixed records to their topic and parks the rest. Repairs: {', '.join(REPAIRS)}.")
def reprocess(context: dg.OpExecutionContext, config: DlqConfig, kafka: KafkaResource, lake: LakeResource,
              s3: S3Resource, schema_registry: SchemaRegistryResource):
    def progress(done: int, total: int) -> None:
        context.log.info("DLQ: %d of ~%d records", done, total)

    dlq_topic = config.dlq_topic or lake.dlq_topic
    if not dlq_topic:
        raise dg.Failure("no DLQ topic: set the op's dlq_topic or the lake resource's dlq_topic (SLUICE_DLQ_TOPIC)")
    result = reprocess_dlq(service_connections(kafka, s3, schema_registry), dlq_topic, group_id=config.group_id,
                           repairs=list(config.repairs), parking_topic=config.parking_topic or f"{dlq_topic}-parked",
                           audit_bucket=lake.bucket, max_records=config.max_records, progress=progress,
                           max_hops=config.max_hops, connector=lake.connector,
                           sink_groups=frozenset({f"connect-{lake.connector}"}))
    context.log.info("DLQ: read %d, replayed %d, parked %d; reasons parked: %s", result.read, result.replayed,
                     result.parked, dict(result.reasons))
    context.add_output_metadata({
        "read": dg.MetadataValue.int(result.read),
        "replayed": dg.MetadataValue.int(result.replayed),
        "parked": dg.MetadataValue.int(result.parked),
        "parked_reasons": dg.MetadataValue.json(dict(result.reasons)),
        "rules_applied": dg.MetadataValue.json(dict(result.rules)),
        "audit": dg.MetadataValue.text(f"s3://{lake.bucket}/{result.audit_key}" if result.audit_key else "-"),
        "audit_query": dg.MetadataValue.md(f"`select * from read_json_auto('{audit_glob(lake.bucket)}')`"),
    })
    return result.read


@dg.job(description="Reprocess the dead-letter queue: replay repaired records to the source topic, park the rest, "
                    "with an audit trail in the lake (which DLQ offset became which new offset, under which rule).")
def dlq_reprocess():
    reprocess()
