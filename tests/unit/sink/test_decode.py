import datetime as dt
import json

import pytest

from ingest.config import DEFAULT_SCHEMA
from ingest.schema import load_schema
from ingest.sink.decode import Decoder

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

