"""The per-hour offset check against the sink's ledger: every committed offset of the hour in landed/ or the DLQ,
once; a lost file, a thinned landed file and a DLQ without the letters each fail the hour that holds them."""

import io

import dagster as dg
import pyarrow.parquet as pq
import pytest

from ingest.lake.keys import landed_key
from ingest.lake.landing import land_hour
from ingest.lake.ledger import hour_rounds
from ingest.lake.listing import committed_offsets, watermarks
from ingest.lake.offsets import audit_hour, dead_letters
from ingest.sink.writer import parquet_bytes
from orchestration.assets.raw import raw_events
from orchestration.resources import KafkaResource, LakeResource, s3_resource
from support.sink import object_keys, produce_events, run_sink, sink_config

HOURS = ["2024-01-15-09:00", "2024-01-15-10:00", "2024-01-15-11:00"]
RANGE = {"dagster/asset_partition_range_start": HOURS[0], "dagster/asset_partition_range_end": HOURS[-1]}


def offsets_checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {c.partition: c for c in result.get_asset_check_evaluations() if c.check_name == "kafka_offsets_complete"}


@pytest.fixture
def sunk(tmp_path, connections, names):
    """1,500 events over 09:00-12:00 UTC, 5 % malformed, through the sink with a DLQ."""
    topic, dlq, bucket = names["topic"], names["dlq"], names["bucket"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": bucket, "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "flush.size": "100", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.context.headers.enable": "true",
    })
    deliveries = produce_events(connections, topic, 1500, partitions=2, bad_ratio=0.05, seed=17)
    assert run_sink(config).returncode == 0
    return deliveries


def resources(connections, names, dlq_topic: str) -> dict:
    return {"s3": s3_resource(connections),
            "lake": LakeResource(bucket=names["bucket"], topic=names["topic"], connector=names["name"],
                                 dlq_topic=dlq_topic),
            "kafka": KafkaResource(bootstrap_servers=connections.kafka_bootstrap)}


def test_each_hour_accounts_for_its_offsets_and_a_lost_file_fails_its_hour_only(sunk, connections, s3, lake, names):
    good = sum(1 for *_, kind in sunk if kind == "good")
    res = resources(connections, names, names["dlq"])

    backfill = offsets_checks(dg.materialize([raw_events], tags=RANGE, resources=res))

    assert sorted(backfill) == HOURS  # one evaluation per hour of the range run
    assert all(c.passed for c in backfill.values()), {k: c.metadata for k, c in backfill.items()}
    assert sum(c.metadata["in_landed"].value for c in backfill.values()) == good
    assert sum(c.metadata["committed_in_hour"].value for c in backfill.values()) == good
    letters = [(c.metadata["dead_letters"].value, c.metadata["dead_letters_in_dlq"].value) for c in backfill.values()]
    assert all(declared == found for declared, found in letters) and any(declared for declared, _ in letters)

    lost = next(k for k in object_keys(s3, names["bucket"], f"topics/{names['topic']}/") if "hour=10" in k)
    lost_rows = lake.sql(f"select count(*) from read_parquet('s3://{names['bucket']}/{lost}')").fetchone()[0]
    s3.delete_object(Bucket=names["bucket"], Key=lost)

    after = {h: offsets_checks(dg.materialize([raw_events], partition_key=h, resources=res))[h] for h in HOURS[:2]}

    assert after[HOURS[0]].passed
    assert not after[HOURS[1]].passed
    assert after[HOURS[1]].metadata["rows_missing_from_files"].value == lost_rows > 0
    assert after[HOURS[1]].metadata["gaps"].value == lost_rows
    assert after[HOURS[1]].metadata["missing_files"].value == [lost]


def test_a_thinned_landed_file_and_a_dlq_without_the_letters_fail(sunk, connections, s3, lake, names):
    bucket, topic = names["bucket"], names["topic"]
    committed = committed_offsets(watermarks(s3, bucket, names["name"], topic))
    hour = raw_events.partitions_def.time_window_for_partition_key(HOURS[1]).start
    rounds = hour_rounds(s3, bucket, names["name"], topic, hour, committed)
    landed = land_hour(lake, s3, bucket, "topics", "landed", topic, hour, rounds)
    letters = dead_letters(connections, names["dlq"], topic)

    whole = audit_hour(lake, bucket, hour, rounds, landed.sources, landed.missing_files, landed.key, letters)

    assert whole.ok and whole.landed == whole.in_hour == landed.rows > 0
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=landed.key)["Body"].read()))
    s3.put_object(Bucket=bucket, Key=landed_key("landed", topic, hour), Body=parquet_bytes(table.slice(3), "zstd"))
    no_letters = dead_letters(connections, f"{names['dlq']}-absent", topic)

    thinned = audit_hour(lake, bucket, hour, rounds, landed.sources, [], landed.key, no_letters)

    assert not thinned.ok
    assert thinned.not_landed == 3 and thinned.stray_landed == 0
    assert thinned.dead_letters_missing == thinned.dead_letters == whole.dead_letters_found > 0
    assert thinned.gaps == 3 + thinned.dead_letters


def test_dead_letters_are_read_from_the_dlqs_first_kept_offset_and_trimmed_ones_count_as_expired(connections, names):
    from confluent_kafka import Producer, TopicPartition
    from confluent_kafka.admin import AdminClient

    from ingest.clients import ensure_topic, kafka_config
    from ingest.lake.offsets import _letters

    topic, dlq = names["topic"], names["dlq"]
    ensure_topic(connections, dlq)
    producer = Producer(kafka_config(connections))
    for n in range(6):
        headers = [("__connect.errors.topic", topic.encode()), ("__connect.errors.partition", str(n % 2).encode()),
                   ("__connect.errors.offset", str(10 + n).encode())]
        producer.produce(dlq, value=b"{bad", headers=headers)
    producer.produce(dlq, value=b"{bad", headers=[("__connect.errors.topic", topic.encode()),
                                                  ("__connect.errors.partition", b"\xff\xfe")])
    producer.flush(30)
    admin = AdminClient(kafka_config(connections))
    for future in admin.delete_records([TopicPartition(dlq, 0, 2)]).values():  # retention took the first two
        future.result(timeout=30)

    index = dead_letters(connections, dlq, topic)

    assert dict(index.letters) == {(0, 12): 1, (1, 13): 1, (0, 14): 1, (1, 15): 1}
    assert (index.without_coordinates, index.trimmed, index.oldest) == (1, True, {0: 12, 1: 13})

    class Round:  # what _letters reads of a manifest
        def __init__(self, partition, offsets):
            self.partition, self.dlq_offsets = partition, offsets

    # partition 0 declared 10, 12, 14 and 16: 10 expired (below the oldest kept), 16 lost; one letter without
    # coordinates may be it
    assert _letters([Round(0, (10, 12, 14, 16))], index) == (4, 2, 0, 0, 1)
    index.without_coordinates = 0
    assert _letters([Round(0, (10, 12, 14, 16))], index) == (4, 2, 1, 0, 1)
