import datetime as dt
import json

import pytest

from ingest.config import DEFAULT_SCHEMA
from ingest.schema import load_schema
from ingest.sink.decode import Decoder
from ingest.sink.watermark import next_watermark
from ingest.sink.writer import object_key

GOOD = {"event_id": "0b6c8f43-2c8f-4f22-9f0a-2d1a0e5e1b11", "event_type": "click",
        "event_time": "2024-01-15T10:00:00.123Z", "payload": {"a": [1, 2]}}


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder(load_schema(DEFAULT_SCHEMA))


def value(**changes) -> bytes:
    event = {**GOOD, **changes}
    return json.dumps({k: v for k, v in event.items() if v is not ...}).encode()


def test_good_value_becomes_typed_columns(decoder):
    row = decoder.decode([value(amount=3)]).good.to_pylist()[0]
    assert row["event_time"] == dt.datetime(2024, 1, 15, 10, 0, 0, 123000, tzinfo=dt.UTC)
    assert (row["event_id"], row["event_type"], row["payload"], row["amount"]) == (GOOD["event_id"], "click",
                                                                                   '{"a":[1,2]}', 3.0)
    assert row["user_id"] is None


@pytest.mark.parametrize(
    ("raw", "reason", "stage"),
    [
        (b"{not json", "value is not valid JSON", "VALUE_CONVERTER"),
        (b"\xff\xfe", "value is not UTF-8 text", "VALUE_CONVERTER"),
        (b"[1, 2]", "value is a JSON array, not an object", "VALUE_CONVERTER"),
        (None, "null value (tombstone) with behavior.on.null.values=fail", "TASK_PUT"),
        (value(event_type=...), "missing required field 'event_type'", "TASK_PUT"),
        (value(event_type=None), "missing required field 'event_type'", "TASK_PUT"),
        (value(event_type=7), "field event_type must be a string, got ubigint", "TASK_PUT"),
        (value(payload="text"), "field payload must be an object or array, got varchar", "TASK_PUT"),
        (value(event_id="not-a-uuid"), "field event_id is not a uuid: not-a-uuid", "TASK_PUT"),
        (value(event_time="yesterday"), "field event_time is not an ISO 8601 time: yesterday", "TASK_PUT"),
        (value(event_time="2150-01-01T00:00:00Z"), "field event_time is out of range", "TASK_PUT"),
        (value(amount="12"), "field amount must be a number, got varchar", "TASK_PUT"),
    ],
)
def test_each_kind_of_bad_value_gets_its_reason(decoder, raw, reason, stage):
    decoded = decoder.decode([value(), raw, value()])
    assert decoded.good["i"].to_pylist() == [0, 2]
    assert decoded.bad_index == [1]
    assert decoded.bad_reason[0].startswith(reason)
    assert decoded.bad_stage == [stage]


def test_object_key_is_the_connectors():
    assert object_key("topics", "events", "year=2024/month=01/day=15/hour=10", 0, 0, ".snappy.parquet") == (
        "topics/events/year=2024/month=01/day=15/hour=10/events+0+0000000000.snappy.parquet"
    )


def test_watermark_never_moves_back_and_follows_the_clock_when_caught_up():
    assert next_watermark(None, 5_000, caught_up=False, now_ms=9_000, lateness_ms=1_000) == 4_000
    assert next_watermark(4_000, 3_000, caught_up=False, now_ms=9_000, lateness_ms=0) == 4_000
    assert next_watermark(4_000, None, caught_up=True, now_ms=9_000, lateness_ms=1_000) == 8_000
    assert next_watermark(None, None, caught_up=False, now_ms=9_000, lateness_ms=0) is None
