"""The dlq_reprocess job and the DLQ growth sensor, run by Dagster over a DLQ the real sink filled."""

import dagster as dg

from orchestration.dlq_job import KafkaResource, dlq_growth_sensor_for, dlq_reprocess
from orchestration.resources import LakeResource
from support.sink import produce_events, run_sink, sink_config


def test_the_job_replays_or_parks_every_dead_letter_and_the_sensor_alerts_on_growth(
    tmp_path, connections, s3, names
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

    sensor = dlq_growth_sensor_for(dlq, threshold=100)
    with dg.build_sensor_context(resources={"kafka": kafka}) as context:
        skip = sensor(context)
        assert skip.skip_message.startswith(f"ALERT: DLQ {dlq} grew by {bad} ")
        cursor = context.cursor
    with dg.build_sensor_context(resources={"kafka": kafka}, cursor=cursor) as context:
        assert sensor(context).skip_message == f"DLQ {dlq}: {bad} records (0 since the last alert)"

    result = dlq_reprocess.execute_in_process(
        run_config={"ops": {"reprocess": {"config": {
            "dlq_topic": dlq, "parking_topic": f"{dlq}-parked", "group_id": f"{dlq}-reprocess",
            "repairs": ["default_event_type", "coerce_numeric_timestamp"],
        }}}},
        resources={"kafka": kafka, "lake": LakeResource(bucket=bucket)},
    )

    assert result.success
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata
    assert metadata["read"].value == bad
    assert metadata["replayed"].value + metadata["parked"].value == bad
    assert metadata["parked"].value > 0 and sum(metadata["parked_reasons"].value.values()) == metadata["parked"].value
    assert metadata["audit"].value.startswith(f"s3://{bucket}/_sluice/dlq-audit/date=")
