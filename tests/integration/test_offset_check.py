"""The raw zone's Kafka offsets against the sink's commits and its DLQ: no gap, and a lost file is found."""

import dagster as dg

from orchestration.assets.raw import raw_events
from orchestration.resources import KafkaResource, LakeResource, s3_resource
from support.sink import object_keys, produce_events, run_sink, sink_config


def offsets_check(result) -> dg.AssetCheckEvaluation:
    return next(c for c in result.get_asset_check_evaluations() if c.check_name == "kafka_offsets_complete")


def test_every_committed_offset_is_in_the_raw_zone_or_the_dlq_and_a_lost_file_shows(
    tmp_path, connections, s3, lake, names
):
    topic, dlq, bucket = names["topic"], names["dlq"], names["bucket"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": bucket, "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "flush.size": "100", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.context.headers.enable": "true",
    })
    deliveries = produce_events(connections, topic, 1500, partitions=2, bad_ratio=0.05, seed=17)
    bad = sum(1 for *_, kind in deliveries if kind != "good")
    assert run_sink(config).returncode == 0
    resources = {
        "s3": s3_resource(connections),
        "lake": LakeResource(bucket=bucket, topic=topic, connector=names["name"], dlq_topic=dlq),
        "kafka": KafkaResource(bootstrap_servers=connections.kafka_bootstrap),
    }

    first = offsets_check(dg.materialize([raw_events], partition_key="2024-01-15-10:00", resources=resources))

    assert first.passed, first.metadata
    assert first.metadata["gaps"].value == 0
    assert first.metadata["committed"].value == len(deliveries)
    assert first.metadata["dead_lettered"].value == bad
    assert first.metadata["in_raw_zone"].value == len(deliveries) - bad

    lost = next(k for k in object_keys(s3, bucket, f"topics/{topic}/") if "hour=11" in k)
    lost_rows = lake.sql(f"select count(*) from read_parquet('s3://{bucket}/{lost}')").fetchone()[0]
    s3.delete_object(Bucket=bucket, Key=lost)

    second = offsets_check(dg.materialize([raw_events], partition_key="2024-01-15-10:00", resources=resources))

    assert not second.passed
    assert second.metadata["gaps"].value == lost_rows > 0


def test_dead_letters_are_read_from_the_dlqs_first_kept_offset_and_odd_headers_count_without_a_partition(
    connections, names
):
    from confluent_kafka import Producer, TopicPartition
    from confluent_kafka.admin import AdminClient

    from ingest.clients import ensure_topic, kafka_config
    from ingest.lake.offsets import dead_letters

    topic, dlq = names["topic"], names["dlq"]
    ensure_topic(connections, dlq)
    producer = Producer(kafka_config(connections))
    for n in range(6):
        headers = [("__connect.errors.topic", topic.encode()), ("__connect.errors.partition", str(n % 2).encode())]
        producer.produce(dlq, value=b"{bad", headers=headers)
    producer.produce(dlq, value=b"{bad", headers=[("__connect.errors.topic", topic.encode()),
                                                  ("__connect.errors.partition", b"\xff\xfe")])
    producer.flush(30)
    admin = AdminClient(kafka_config(connections))
    for future in admin.delete_records([TopicPartition(dlq, 0, 2)]).values():  # retention took the first two
        future.result(timeout=30)

    assert dead_letters(connections, dlq, topic) == {0: 2, 1: 2, -1: 1}
