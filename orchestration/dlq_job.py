"""The DLQ in Dagster: the `dlq_reprocess` job (launchable from the UI with config) and a DLQ growth sensor."""

import dataclasses

import dagster as dg
from confluent_kafka import Consumer, TopicPartition

from ingest.clients import kafka_config
from ingest.connections import Connections
from orchestration.dlq.audit import audit_glob
from orchestration.dlq.repairs import REPAIRS
from orchestration.dlq.reprocess import reprocess_dlq
from orchestration.resources import LakeResource


class KafkaResource(dg.ConfigurableResource):
    """Kafka for the DLQ job and sensor; the other connection settings come from the environment."""

    bootstrap_servers: str

    def connections(self) -> Connections:
        return dataclasses.replace(Connections.from_env(), kafka_bootstrap=self.bootstrap_servers)


class DlqConfig(dg.Config):
    """Every field has a default, so the job launches from the UI without config: the lake's DLQ topic
    (SLUICE_DLQ_TOPIC, events-dlq), parked records to `<dlq>-parked`, progress in group `sluice-dlq-reprocess`."""

    dlq_topic: str | None = None
    parking_topic: str | None = None
    group_id: str = "sluice-dlq-reprocess"
    repairs: list[str] = ["default_event_type", "coerce_numeric_timestamp"]
    max_records: int | None = None


@dg.op(description="Re-validates each DLQ record with the sink's validation, applies the selected repairs, "
                   f"replays fixed records to their topic and parks the rest. Repairs: {', '.join(REPAIRS)}.")
def reprocess(context: dg.OpExecutionContext, config: DlqConfig, kafka: KafkaResource, lake: LakeResource):
    def progress(done: int, total: int) -> None:
        context.log.info("DLQ: %d of ~%d records", done, total)

    dlq_topic = config.dlq_topic or lake.dlq_topic
    if not dlq_topic:
        raise dg.Failure("no DLQ topic: set the op's dlq_topic or the lake resource's dlq_topic (SLUICE_DLQ_TOPIC)")
    result = reprocess_dlq(kafka.connections(), dlq_topic, group_id=config.group_id,
                           repairs=list(config.repairs), parking_topic=config.parking_topic or f"{dlq_topic}-parked",
                           audit_bucket=lake.bucket, max_records=config.max_records, progress=progress)
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


def dlq_depth(connections: Connections, topic: str) -> int | None:
    """Records in the DLQ topic (sum of high watermarks minus low), or None if it does not exist."""
    consumer = Consumer(kafka_config(connections, **{"group.id": "sluice-dlq-depth"}))
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return None
        depth = 0
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            depth += high - low
        return depth
    finally:
        consumer.close()


def dlq_growth_sensor_for(topic: str = "events-dlq", threshold: int = 100) -> dg.SensorDefinition:
    @dg.sensor(name="dlq_growth_sensor", job=dlq_reprocess, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Alerts (a warning in the sensor log, ALERT in its skip reason) when {topic} has grown "
                           f"by more than {threshold} records since the last alert; it never launches the job.")
    def dlq_growth_sensor(context: dg.SensorEvaluationContext, kafka: KafkaResource):
        depth = dlq_depth(kafka.connections(), topic)
        if depth is None:
            return dg.SkipReason(f"DLQ topic {topic} does not exist yet")
        last = int(context.cursor or 0)
        if depth - last > threshold:
            context.log.warning("DLQ %s grew by %d records to %d: run dlq_reprocess", topic, depth - last, depth)
            context.update_cursor(str(depth))
            return dg.SkipReason(f"ALERT: DLQ {topic} grew by {depth - last} to {depth} records "
                                 f"(threshold {threshold})")
        return dg.SkipReason(f"DLQ {topic}: {depth} records ({depth - last} since the last alert)")

    return dlq_growth_sensor
