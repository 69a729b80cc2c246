import datetime as dt

from orchestration.lib.windows import hours_of, partition_key, partition_start


def test_partition_keys_round_trip_in_utc():
    hour = dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC)
    assert partition_key(hour) == "2024-01-15-10:00"
    assert partition_start("2024-01-15-10:00") == hour


def test_a_window_covers_its_hours_end_excluded():
    start = dt.datetime(2024, 1, 15, 22, tzinfo=dt.UTC)
    assert [partition_key(h) for h in hours_of(start, start + dt.timedelta(hours=3))] == [
        "2024-01-15-22:00", "2024-01-15-23:00", "2024-01-16-00:00"]
