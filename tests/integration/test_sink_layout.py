"""The seed config over three hours of events on two partitions: the connector's keys, files and rows."""

import datetime as dt
import json
from collections import Counter

import pytest

from support.sink import object_keys, produce_events, run_sink, sink_config

HOUR_MS = 3_600_000


def hour_dir(ms: int) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return f"year={t:%Y}/month={t:%m}/day={t:%d}/hour={t:%H}"


def expected_files(records, flush_size: int, rotate_ms: int, on_change: bool) -> dict[str, int]:
    """An independent model of the rules: {file name: rows} for one partition's (offset, time_ms). `on_change`:
    Confluent's rule that a record of another encoded partition than the one before closes the files."""
    files: dict[str, int] = {}
    open_files: dict[str, tuple[int, int]] = {}
    count, base, current = 0, None, None

    def close():
        nonlocal count, base
        for enc, (start, rows) in open_files.items():
            files[f"{enc}@{start}"] = rows
        open_files.clear()
        count, base = 0, None

    for offset, t in records:
        enc = hour_dir(t)
        if count and rotate_ms > 0 and (t - base >= rotate_ms or (on_change and enc != current)):
            close()
        if base is None:
            base = t
        start, rows = open_files.get(enc, (offset, 0))
        open_files[enc] = (start, rows + 1)
        count, current = count + 1, enc
        if count >= flush_size:
            close()
    close()
    return files


@pytest.mark.parametrize("rotation", ["sluice", "confluent"])
def test_seed_config_writes_the_connectors_keys_and_rows(tmp_path, connections, s3, lake, names, rotation):
    topic, bucket = names["topic"], names["bucket"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": bucket, "flush.size": "60", "sluice.rotation": rotation,
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
    })
    deliveries = produce_events(connections, topic, 3000, partitions=2, seed=7)

    result = run_sink(config)
    assert result.returncode == 0, result.stdout

    prefix = f"s3://{bucket}/"
    rows = dict(lake.sql(f"""
        select filename, count(*) from read_parquet('s3://{bucket}/topics/*/*/*/*/*/*.parquet', filename = true)
        group by filename""").fetchall())
    rows = {name.removeprefix(prefix): n for name, n in rows.items()}
    assert sorted(rows) == object_keys(s3, bucket, "topics/")

    got = lake.sql(f"""
        select _kafka_partition, _kafka_offset, epoch_ms(event_time) as t, year, month, day, hour
        from read_parquet('s3://{bucket}/topics/{topic}/*/*/*/*/*.parquet', hive_partitioning = true)
        order by 1, 2""").fetchall()
    assert sorted((p, o) for p, o, *_ in got) == sorted((p, o) for p, o, _ in deliveries), result.stdout
    assert {p for p, *_ in got} == {0, 1}
    assert all(hour_dir(t) == f"year={y}/month={m}/day={d}/hour={h}" for _, _, t, y, m, d, h in got)
    assert {h for *_, h in got} == {"09", "10", "11"}

    expected = {}
    for partition in (0, 1):
        records = [(o, t) for p, o, t, *_ in got if p == partition]
        for name, n in expected_files(records, 60, 600_000, rotation == "confluent").items():
            enc, start = name.split("@")
            expected[f"topics/{topic}/{enc}/{topic}+{partition}+{int(start):010d}.snappy.parquet"] = n
    assert rows == expected
    assert f"topics/{topic}/year=2024/month=01/day=15/hour=09/{topic}+0+0000000000.snappy.parquet" in rows
    assert max(rows.values()) == 60 and list(rows.values()).count(60) > 10  # both rules closed files
    if rotation == "sluice":  # records ±30 s out of order around an hour's end do not fragment the files
        per_hour = Counter((p, y, m, d, h) for p, _, _, y, m, d, h in got)
        floor = sum(-(-n // 60) for n in per_hour.values())
        assert len(rows) <= 1.5 * floor, (len(rows), floor)


def test_watermarks_record_the_committed_offset_and_completeness_per_partition(tmp_path, connections, s3, names):
    topic, bucket = names["topic"], names["bucket"]
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": bucket, "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "sluice.watermark.lateness.ms": "5000",
    })
    deliveries = produce_events(connections, topic, 1200, partitions=2, seed=4, hours=1)
    before = dt.datetime.now(dt.UTC).timestamp() * 1000

    result = run_sink(config)

    assert result.returncode == 0, result.stdout
    keys = object_keys(s3, bucket, f"_sluice/{names['name']}/watermarks/")
    assert keys == [f"_sluice/{names['name']}/watermarks/{topic}/{p}.json" for p in (0, 1)]
    for partition, key in enumerate(keys):
        doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        end = 1 + max(o for p, o, _ in deliveries if p == partition)
        assert (doc["topic"], doc["partition"], doc["committed_offset"]) == (topic, partition, end)
        assert (doc["end_offset"], doc["lag"]) == (end, 0)
        # caught up: complete until the wall clock minus the lateness, well past every 2024 record
        assert doc["complete_until_ms"] >= before - 5000
        assert doc["max_record_time"].startswith("2024-01-15T09:")
