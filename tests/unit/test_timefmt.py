import datetime as dt

from ingest.timefmt import compact, epoch_ms, iso_millis, iso_seconds, parse_iso, utc

MS = 1_705_313_045_123  # 2024-01-15T10:04:05.123Z


def test_epoch_milliseconds_as_iso_text():
    assert iso_millis(MS) == "2024-01-15T10:04:05.123Z"
    assert iso_seconds(MS) == "2024-01-15T10:04:05Z"
    assert compact(MS) == "20240115T100405123000Z"


def test_aware_datetimes_in_any_zone_are_written_in_utc():
    moment = dt.datetime(2024, 1, 15, 11, 4, 5, 123000, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert iso_millis(moment) == "2024-01-15T10:04:05.123Z"
    assert utc(moment) == utc(MS)


def test_parsing_reads_z_and_treats_a_missing_zone_as_utc():
    assert epoch_ms(parse_iso("2024-01-15T10:04:05.123Z")) == MS
    assert parse_iso("2024-01-15T10:04:05.123") == parse_iso("2024-01-15T10:04:05.123+00:00")
