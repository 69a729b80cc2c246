"""Listings of the lake, called directly against the local S3: keys and watermarks."""

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from ingest.lake.listing import least_complete, list_keys, watermarks
from ingest.ledger.watermark import Watermark


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def put(s3, bucket: str, key: str, body: bytes = b"x") -> str:
    """Puts an object; returns its ETag."""
    return s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]


def put_watermark(s3, bucket: str, topic: str, partition: int, complete_until_ms: int | None) -> Watermark:
    mark = Watermark.at("sink", topic, partition, 10, 10, complete_until_ms, complete_until_ms, 0)
    put(s3, bucket, mark.key, json.dumps(mark.to_json()).encode())
    return mark


@pytest.fixture
def bucket(s3, unique_name) -> str:
    s3.create_bucket(Bucket=unique_name)
    return unique_name


def test_list_keys_gives_sorted_keys_and_etags_with_the_suffix_under_the_prefix(s3, bucket):
    b = put(s3, bucket, "a/b.parquet", b"b")
    a = put(s3, bucket, "a/a.parquet", b"a")
    c = put(s3, bucket, "a/sub/c.parquet", b"c")
    doc = put(s3, bucket, "a/doc.json", b"{}")
    put(s3, bucket, "ab/d.parquet")

    assert list_keys(s3, bucket, "a/") == [("a/a.parquet", a), ("a/b.parquet", b), ("a/sub/c.parquet", c)]
    assert list_keys(s3, bucket, "a/", suffix=".json") == [("a/doc.json", doc)]
    assert list_keys(s3, bucket, "nothing/") == []


def test_list_keys_reads_every_page(s3, bucket):
    keys = [f"p/{i:04d}.parquet" for i in range(1005)]  # more than one page of 1000
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: put(s3, bucket, key), keys))

    assert [k for k, _ in list_keys(s3, bucket, "p/")] == keys


def test_watermarks_are_those_of_the_topic_one_per_partition(s3, bucket):
    zero = put_watermark(s3, bucket, "events", 0, 1_705_312_800_000)
    one = put_watermark(s3, bucket, "events", 1, 1_705_316_400_000)
    put_watermark(s3, bucket, "events2", 0, 1)  # another topic whose name starts the same

    assert watermarks(s3, bucket, "sink", "events") == [zero, one]
    assert watermarks(s3, bucket, "other-sink", "events") == []


def test_the_topic_is_complete_until_its_least_advanced_partition(s3, bucket):
    put_watermark(s3, bucket, "events", 0, 1_705_316_400_000)  # 2024-01-15T11:00Z
    put_watermark(s3, bucket, "events", 1, 1_705_312_800_123)  # 2024-01-15T10:00:00.123Z
    put_watermark(s3, bucket, "events", 2, 1_705_320_000_000)

    assert least_complete(watermarks(s3, bucket, "sink", "events")) == dt.datetime(2024, 1, 15, 10, 0, 0, 123000,
                                                                                  tzinfo=dt.UTC)


def test_nothing_is_complete_while_a_partition_has_no_watermark_yet(s3, bucket):
    put_watermark(s3, bucket, "events", 0, 1_705_316_400_000)
    put_watermark(s3, bucket, "events", 1, None)

    assert least_complete(watermarks(s3, bucket, "sink", "events")) is None


def test_nothing_is_complete_without_watermarks(s3, bucket):
    assert least_complete(watermarks(s3, bucket, "sink", "events")) is None
