"""The watermark document the sink writes: today's keys in today's order, read back to the same value."""

import json

import pytest

from ingest.ledger.errors import LedgerError
from ingest.ledger.watermark import Watermark

HOUR = 1_705_312_800_000  # 2024-01-15T10:00:00Z


def test_a_watermark_holds_offsets_lag_and_times_in_the_documented_order():
    mark = Watermark.at("s3-sink", "events", 2, 43, 100, HOUR + 2_000, HOUR + 1_500, HOUR + 60_123)
    assert list(mark.to_json().items()) == [
        ("connector", "s3-sink"), ("topic", "events"), ("partition", 2), ("committed_offset", 43),
        ("end_offset", 100), ("lag", 57), ("max_record_time", "2024-01-15T10:00:02.000Z"),
        ("complete_until", "2024-01-15T10:00:01.500Z"), ("complete_until_ms", HOUR + 1_500),
        ("updated_at", "2024-01-15T10:01:00.123Z")]
    assert mark.key == "_sluice/s3-sink/watermarks/events/2.json"


def test_a_watermark_without_end_offset_or_times_has_no_lag_and_lag_is_never_negative():
    mark = Watermark.at("s3-sink", "events", 0, 7, None, None, None, HOUR)
    assert (mark.end_offset, mark.lag, mark.max_record_time, mark.complete_until, mark.complete_until_ms) == (
        None, None, None, None, None)
    assert Watermark.at("s3-sink", "events", 0, 120, 100, None, None, HOUR).lag == 0


def test_a_watermark_round_trips_through_json_and_ignores_unknown_fields():
    mark = Watermark.at("s3-sink", "events", 1, 43, 100, HOUR, HOUR, HOUR)
    document = json.loads(json.dumps(mark.to_json())) | {"future": 1}
    assert Watermark.from_json(mark.key, document) == mark


def test_a_watermark_without_its_partition_is_refused_by_key():
    with pytest.raises(LedgerError, match="watermark w.json: no field 'partition'"):
        Watermark.from_json("w.json", {"connector": "s3-sink", "topic": "events"})
