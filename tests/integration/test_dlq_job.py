"""The dlq_reprocess job and the DLQ growth sensor, run by Dagster over a DLQ the real sink filled."""

import datetime as dt
import json
import re
import uuid

import dagster as dg

from ingest.lake.names import LakeNames
from ingest.topic_reader import read_to_end
from orchestration.assets.cassandra import cassandra_events_by_time
from orchestration.assets.dbt import dbt_models
from orchestration.assets.raw import raw_events
from orchestration.jobs import dlq_reprocess
from orchestration.resources import (
    KafkaResource,
    LakeResource,
    SchemaRegistryResource,
    default_resources,
    s3_resource,
)
from orchestration.sensors import dlq_growth_sensor_for
from support.sink import produce_events, run_sink, sink_config


def test_the_job_replays_or_parks_every_dead_letter_and_repaired_events_reach_cassandra(
    tmp_path, connections, s3, cassandra, names
):
    topic, dlq, bucket = names["topic"], names["dlq"], names["bucket"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": bucket, "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.context.headers.enable": "true",
    })
    deliveries = produce_events(connections, topic, 2000, partitions=2, bad_ratio=0.1, seed=13)
    bad = sum(1 for *_, kind in deliveries if kind != "good")
    assert run_sink(config).returncode == 0
    kafka = KafkaResource(bootstrap_servers=connections.kafka_bootstrap)

    sensor = dlq_growth_sensor_for(dlq_reprocess, dlq, threshold=100)
    with dg.build_sensor_context(resources={"kafka": kafka}) as context:
        skip = sensor(context)
        grew = int(re.match(rf"ALERT: DLQ {dlq} grew by (\d+) to \1 offsets ", skip.skip_message).group(1))
        assert bad < grew <= 2 * bad  # each dead letter, and a transaction marker per round that carried some
        cursor = context.cursor
    with dg.build_sensor_context(resources={"kafka": kafka}, cursor=cursor) as context:
        assert sensor(context).skip_message == f"DLQ {dlq}: {grew} offsets (0 since the last alert)"

    result = dlq_reprocess.execute_in_process(
        run_config={"ops": {"reprocess": {"config": {
            "dlq_topic": dlq, "parking_topic": f"{dlq}-parked", "group_id": f"{dlq}-reprocess",
            "repairs": ["default_event_type", "coerce_numeric_timestamp"],
        }}}},
        resources={"kafka": kafka, "lake": LakeResource(bucket=bucket, connector=names["name"]),
                   "s3": s3_resource(connections), "schema_registry": SchemaRegistryResource()},
    )

    assert result.success
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata
    assert metadata["read"].value == bad
    assert metadata["replayed"].value + metadata["parked"].value == bad
    assert metadata["parked"].value > 0 and sum(metadata["parked_reasons"].value.values()) == metadata["parked"].value
    assert metadata["audit"].value.startswith(f"s3://{bucket}/_sluice/dlq-audit/date=")

    # The repaired records flow the normal path: the sink takes them in, the hourly flow serves them.
    replayed = replayed_events(connections, topic, ends={p: 1 + max(o for q, o, _ in deliveries if q == p)
                                                         for p in (0, 1)})
    assert len(replayed) == metadata["replayed"].value > 0
    assert run_sink(config).returncode == 0
    event_id, event_time = replayed[0]
    hour = event_time.replace(minute=0, second=0, microsecond=0)
    resources = default_resources(connections, LakeNames(bucket=bucket, topic=topic, dlq_topic=dlq,
                                                         connector=names["name"]), keyspace=names["bucket"])
    served = dg.materialize([raw_events, dbt_models(), cassandra_events_by_time],
                            partition_key=f"{hour:%Y-%m-%d-%H}:00", resources=resources)
    assert served.success
    row = cassandra.execute(f"SELECT event_type FROM {names['bucket']}.events_by_time WHERE event_date = %s "
                            "AND event_time = %s AND event_id = %s", (hour.date(), event_time, event_id)).one()
    assert row is not None and row.event_type == "unknown"


def replayed_events(connections, topic: str, ends: dict[int, int]) -> list[tuple[uuid.UUID, dt.datetime]]:
    """(event_id, event_time) of the records the job put back on the topic after `ends`, repaired by a rule."""
    found = []
    for batch in read_to_end(connections, topic, start=ends):
        for m in batch:
            headers = dict(m.headers() or [])
            if b"default_event_type" in headers.get("sluice.dlq.rule", b""):
                event = json.loads(m.value())
                when = dt.datetime.fromisoformat(event["event_time"].replace("Z", "+00:00")).astimezone(dt.UTC)
                when = when.replace(tzinfo=None, microsecond=when.microsecond // 1000 * 1000)  # Cassandra: ms
                found.append((uuid.UUID(event["event_id"]), when))
    return found
