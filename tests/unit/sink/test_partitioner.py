import datetime as dt

import numpy as np

from ingest.sink.partitioner import DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner

HOURLY = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH"


def ms(*args) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp() * 1000)


def encoded(partitioner, times) -> list[str]:
    codes, names = partitioner.encode(np.array(times, dtype=np.int64))
    return [names[c] for c in codes]


def test_hourly_layout_matches_the_connector():
    p = TimeBasedPartitioner(HOURLY, 3_600_000, "UTC")
    assert encoded(p, [ms(2024, 1, 15, 10, 0), ms(2024, 1, 15, 10, 59, 59), ms(2024, 1, 15, 11)]) == [
        "year=2024/month=01/day=15/hour=10", "year=2024/month=01/day=15/hour=10", "year=2024/month=01/day=15/hour=11",
    ]


def test_time_zone_moves_records_to_their_local_day():
    p = TimeBasedPartitioner("'dt'=YYYY-MM-dd", 86_400_000, "America/New_York")
    # 03:00 UTC on the 15th is 22:00 on the 14th in New York (EST, UTC-5).
    assert encoded(p, [ms(2024, 1, 15, 3), ms(2024, 1, 15, 5)]) == ["dt=2024-01-14", "dt=2024-01-15"]


def test_daylight_saving_day_keeps_local_midnight():
    p = TimeBasedPartitioner("YYYY-MM-dd'T'HH", 86_400_000, "Europe/Berlin")
    # 2024-03-31 is 23 hours long in Berlin; 22:30 UTC is already 00:30 on April 1st (CEST, UTC+2).
    assert encoded(p, [ms(2024, 3, 31, 21, 30), ms(2024, 3, 31, 22, 30)]) == ["2024-03-31T00", "2024-04-01T00"]


def test_ten_minute_partitions_floor_the_minute():
    p = TimeBasedPartitioner("'hour'=HH/'minute'=mm", 600_000, "UTC")
    assert encoded(p, [ms(2024, 1, 15, 10, 9, 59), ms(2024, 1, 15, 10, 10)]) == [
        "hour=10/minute=00", "hour=10/minute=10",
    ]


def test_default_partitioner_uses_the_kafka_partition():
    codes, names = DefaultPartitioner().encode(7, 3)
    assert [names[c] for c in codes] == ["partition=7"] * 3


def test_field_partitioner_escapes_values_that_would_change_the_key_shape():
    codes, names = FieldPartitioner(["source", "event_type"]).encode([["web", "../ios"], ["a/b", "click"]])
    assert [names[c] for c in codes] == ["source=web/event_type=a%2Fb", "source=..%2Fios/event_type=click"]
