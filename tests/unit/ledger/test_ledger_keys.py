import datetime as dt

from ingest.ledger.keys import (
    hour_index_key,
    hour_index_prefix,
    ledger_prefix,
    manifest_key,
    parse_hour_index_key,
    watermark_key,
    watermark_prefix,
)

HOUR = dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC)


def test_manifests_sit_per_partition_in_offset_order():
    assert ledger_prefix("s3-sink", "events") == "_sluice/s3-sink/ledger/events/"
    assert manifest_key("s3-sink", "events", 3, 1200) == "_sluice/s3-sink/ledger/events/00003/00000000000000001200.json"


def test_an_hour_index_entry_names_its_utc_hour_partition_and_round():
    local = HOUR.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert hour_index_prefix("s3-sink", "events", local) == "_sluice/s3-sink/hours/events/2024-01-15T10/"
    key = hour_index_key("s3-sink", "events", HOUR, 3, 1200)
    assert key == "_sluice/s3-sink/hours/events/2024-01-15T10/00003+00000000000000001200.json"
    assert parse_hour_index_key(key) == (3, 1200)


def test_watermarks_sit_under_the_connectors_name():
    assert watermark_prefix("s3-sink", "events") == "_sluice/s3-sink/watermarks/events/"
    assert watermark_key("s3-sink", "events", 2) == "_sluice/s3-sink/watermarks/events/2.json"
