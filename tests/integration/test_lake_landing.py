"""Landing hours of the raw zone, called directly against the local S3: one file per hour, each record once."""

import datetime as dt
import io
import json
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.config import DEFAULT_SCHEMA
from ingest.lake.curated import stage_ids
from ingest.lake.keys import curated_key, hour_path, landed_key
from ingest.lake.landing import LandedHour, land_hour, land_window
from ingest.sample_lake import write_sample_lake
from ingest.schema import load_schema
from ingest.sink.writer import object_key, parquet_bytes
from support.sink import START_MS, object_keys

TOPIC = "events"
SCHEMA = load_schema(DEFAULT_SCHEMA).arrow_schema()
H10, H11, H12 = (dt.datetime(2024, 1, 15, h, tzinfo=dt.UTC) for h in (10, 11, 12))


def records(partition: int, offsets: range, hour: dt.datetime) -> pa.Table:
    """Raw rows as the sink writes them: the event's fields, then the Kafka coordinates."""
    rows = [{"event_id": str(uuid.UUID(int=partition * 1000 + o)), "event_type": "click",
             "event_time": hour + dt.timedelta(minutes=o), "payload": json.dumps({"o": o}),
             "user_id": f"u{o}", "session_id": None, "source": "web", "user_agent": None, "amount": float(o),
             "_kafka_topic": TOPIC, "_kafka_partition": partition, "_kafka_offset": o,
             "_kafka_timestamp": hour + dt.timedelta(minutes=o), "_kafka_key": f"k{o}".encode()} for o in offsets]
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def put_raw(s3, bucket: str, hour: dt.datetime, partition: int, offsets: range) -> str:
    key = object_key("topics", TOPIC, hour_path(hour), partition, offsets.start, ".snappy.parquet")
    s3.put_object(Bucket=bucket, Key=key, Body=parquet_bytes(records(partition, offsets, hour), "snappy"))
    return key


def read_landed(s3, bucket: str, hour: dt.datetime) -> pa.Table:
    body = s3.get_object(Bucket=bucket, Key=landed_key("landed", TOPIC, hour))["Body"].read()
    return pq.read_table(io.BytesIO(body))


def land(lake, s3, bucket: str, hour: dt.datetime) -> LandedHour:
    return land_hour(lake, s3, bucket, "topics", "landed", TOPIC, hour)


@pytest.fixture
def bucket(s3, unique_name) -> str:
    s3.create_bucket(Bucket=unique_name)
    return unique_name


def test_an_hour_lands_as_one_file_with_each_record_once_in_partition_and_offset_order(s3, lake, bucket):
    put_raw(s3, bucket, H10, 1, range(5, 8))
    put_raw(s3, bucket, H10, 0, range(0, 4))
    put_raw(s3, bucket, H10, 0, range(2, 5))  # a replay of offsets 2 and 3
    put_raw(s3, bucket, H11, 0, range(9, 12))  # another hour: not landed with this one

    landed = land(lake, s3, bucket, H10)

    assert landed == LandedHour(files=3, raw_rows=10, rows=8, offsets={0: (0, 4), 1: (5, 7)},
                                key="landed/events/year=2024/month=01/day=15/hour=10/part-0.parquet")
    assert landed.repeated == 2
    table = read_landed(s3, bucket, H10)
    assert list(zip(table["_kafka_partition"].to_pylist(), table["_kafka_offset"].to_pylist(), strict=True)) == [
        (0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 5), (1, 6), (1, 7)]
    expected = pa.concat_tables([records(0, range(0, 5), H10), records(1, range(5, 8), H10)])
    assert table.select(SCHEMA.names).to_pylist() == expected.to_pylist()
    assert object_keys(s3, bucket, "landed/") == [landed.key]


def test_relanding_an_hour_writes_the_same_bytes(s3, lake, bucket):
    put_raw(s3, bucket, H10, 0, range(0, 50))
    put_raw(s3, bucket, H10, 0, range(25, 60))
    put_raw(s3, bucket, H10, 2, range(0, 30))
    key = land(lake, s3, bucket, H10).key
    first = s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    again = land(lake, s3, bucket, H10)

    assert again.rows == 90
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == first


def test_an_empty_hour_lands_as_an_empty_file_with_the_events_schema(s3, lake, bucket):
    landed = land(lake, s3, bucket, H12)

    assert landed == LandedHour(0, 0, 0, {}, "landed/events/year=2024/month=01/day=15/hour=12/part-0.parquet")
    table = read_landed(s3, bucket, H12)
    assert table.num_rows == 0
    assert table.schema.equals(SCHEMA)


def test_relanding_an_hour_whose_raw_files_are_gone_replaces_the_landed_file_with_an_empty_one(s3, lake, bucket):
    raw = put_raw(s3, bucket, H10, 0, range(0, 3))
    assert land(lake, s3, bucket, H10).rows == 3
    s3.delete_object(Bucket=bucket, Key=raw)

    assert land(lake, s3, bucket, H10).rows == 0

    assert read_landed(s3, bucket, H10).num_rows == 0


def test_a_window_merges_offsets_per_partition_and_lands_no_record_twice(s3, lake, bucket):
    put_raw(s3, bucket, H10, 0, range(0, 4))
    put_raw(s3, bucket, H10, 0, range(2, 4))  # replayed
    put_raw(s3, bucket, H10, 1, range(0, 2))
    put_raw(s3, bucket, H11, 0, range(4, 7))
    put_raw(s3, bucket, H11, 1, range(2, 6))
    put_raw(s3, bucket, H11, 1, range(5, 6))  # replayed

    window = land_window(lake, s3, bucket, "topics", "landed", TOPIC, [H10, H11, H12])

    assert window.hours == [H10, H11, H12]
    assert [h.rows for h in window.landed] == [6, 7, 0]
    assert (window.files, window.rows, window.repeated) == (6, 13, 3)
    assert window.offsets == {0: (0, 6), 1: (0, 5)}
    assert window.repeated_after_landing == [0] * len(window.hours)


def test_a_window_starting_with_an_empty_hour_lands(s3, lake, bucket):
    put_raw(s3, bucket, H11, 0, range(0, 3))

    window = land_window(lake, s3, bucket, "topics", "landed", TOPIC, [H10, H11])

    assert [h.rows for h in window.landed] == [0, 3]
    assert window.repeated_after_landing == [0] * len(window.hours)


def test_a_sample_raw_zone_with_replays_lands_each_kafka_record_once(connections, s3, lake, unique_name):
    sample = write_sample_lake(connections, unique_name, TOPIC, 2, START_MS, 400, seed=3)
    raw = f"s3://{unique_name}/topics/{TOPIC}/*/*/*/*/*.parquet"
    distinct = lake.sql("select count(distinct (_kafka_partition, _kafka_offset)) "
                        f"from read_parquet('{raw}')").fetchone()[0]
    hours = [dt.datetime.fromtimestamp(START_MS / 1000, dt.UTC) + dt.timedelta(hours=k) for k in range(2)]

    window = land_window(lake, s3, unique_name, "topics", "landed", TOPIC, hours)

    assert window.files == sample["files"]
    assert window.rows == distinct
    assert window.repeated == sample["rows"] - distinct > 0
    assert window.repeated_after_landing == [0] * len(window.hours)


def test_stage_ids_are_the_hours_event_ids_at_each_stage(s3, lake, bucket):
    put_raw(s3, bucket, H10, 0, range(0, 4))
    put_raw(s3, bucket, H10, 0, range(2, 4))
    land(lake, s3, bucket, H10)
    curated = records(0, range(0, 3), H10).select(["event_id", "event_type", "event_time"])
    for model in ("stg_events", "events_by_time"):
        key = curated_key("curated", model, H10)
        s3.put_object(Bucket=bucket, Key=key, Body=parquet_bytes(curated, "snappy"))

    ids = {stage: sorted(held) for stage, held in stage_ids(lake, bucket, TOPIC, H10).items()}
    assert ids == {"raw_valid": [str(uuid.UUID(int=o)) for o in range(4)],
                   "staged": [str(uuid.UUID(int=o)) for o in range(3)],
                   "mart": [str(uuid.UUID(int=o)) for o in range(3)]}
