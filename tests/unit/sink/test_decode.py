import datetime as dt
import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ingest.config import DEFAULT_SCHEMA
from ingest.errors import ConfigError
from ingest.schema import from_json_schema, load_schema
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



def raw(**numbers: str) -> bytes:
    """A good value with fields given as JSON literals (NaN, 1e999, 2^70 ... exactly as a producer wrote them)."""
    text = json.dumps(GOOD)[:-1]
    return (text + "".join(f', "{k}": {v}' for k, v in numbers.items()) + "}").encode()


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("NaN", "field amount is not a finite number: NaN"),
        ("Infinity", "field amount is not a finite number: Infinity"),
        ("-Infinity", "field amount is not a finite number: -Infinity"),
        ("1e999", "field amount is not a finite number: 1e999"),
        ("-1e999", "field amount is not a finite number: -1e999"),
        ("1e16", "field amount is above its maximum 1000000000: 10000000000000000.0"),
        ("-1e16", "field amount is below its minimum -1000000000: -10000000000000000.0"),
        (str(2**70), "field amount is above its maximum 1000000000: 1180591620717411303424"),
        ("1000000000.01", "field amount is above its maximum 1000000000: 1000000000.01"),
    ],
)
def test_a_non_finite_or_out_of_range_amount_goes_to_the_dlq_with_its_reason(decoder, amount, reason):
    decoded = decoder.decode([value(), raw(amount=amount), value()])
    assert decoded.good["i"].to_pylist() == [0, 2]
    assert (decoded.bad_index, decoded.bad_reason, decoded.bad_stage) == ([1], [reason], ["TASK_PUT"])
    assert decoded.bad_exception == ["org.apache.kafka.connect.errors.DataException"]


def test_an_amount_at_its_bounds_passes(decoder):
    decoded = decoder.decode([raw(amount="-1000000000"), raw(amount="1000000000"), raw(amount="1e9"),
                              raw(amount="-0"), raw(amount="999999999.99")])
    assert decoded.bad_index == []
    assert decoded.good["amount"].to_pylist() == [-1e9, 1e9, 1e9, 0.0, 999999999.99]


COUNTS = from_json_schema({"type": "object", "properties": {
    "count": {"type": "integer"},
    "share": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
    "ratio": {"type": "number", "minimum": -0.5, "maximum": 0.5},
    "big": {"type": "number"},
}})


@pytest.fixture(scope="module")
def counts() -> Decoder:
    return Decoder(COUNTS)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"count": "NaN"}, "field count is not a finite number: NaN"),
        ({"count": "-Infinity"}, "field count is not a finite number: -Infinity"),
        ({"count": "1e999"}, "field count is not a finite number: 1e999"),
        ({"count": str(2**63)}, "field count is outside the int64 range: 9223372036854775808"),
        ({"count": str(2**64 - 1)}, "field count is outside the int64 range: 18446744073709551615"),
        ({"count": str(2**70)}, "field count is outside the int64 range: 1180591620717411303424"),
        ({"count": str(-(2**63) - 1)}, "field count is outside the int64 range: -9223372036854775809"),
        ({"count": "12.5"}, "field count must be an integer, got double"),
        ({"share": "0"}, "field share is not above its exclusiveMinimum 0: 0"),
        ({"share": "100"}, "field share is not below its exclusiveMaximum 100: 100"),
        ({"share": str(2**63 - 1)}, "field share is not below its exclusiveMaximum 100: 9223372036854775807"),
        ({"ratio": "-0.51"}, "field ratio is below its minimum -0.5: -0.51"),
        ({"ratio": "0.6"}, "field ratio is above its maximum 0.5: 0.6"),
        ({"big": "1e999"}, "field big is not a finite number: 1e999"),
        ({"big": "NaN"}, "field big is not a finite number: NaN"),
    ],
)
def test_integer_and_number_fields_keep_to_int64_finite_values_and_their_bounds(counts, fields, reason):
    decoded = counts.decode([b"{}", ("{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}").encode()])
    assert (decoded.good["i"].to_pylist(), decoded.bad_index, decoded.bad_reason) == ([0], [1], [reason])


def test_integers_at_the_int64_edges_and_big_finite_numbers_pass(counts):
    values = [f'{{"count": {2**63 - 1}, "share": 1, "ratio": -0.5, "big": {2**70}}}',
              f'{{"count": {-(2**63)}, "share": 99, "ratio": 0.5, "big": 1e300}}']
    decoded = counts.decode([v.encode() for v in values])
    assert decoded.bad_reason == []
    assert decoded.good.select(["count", "share", "ratio", "big"]).to_pylist() == [
        {"count": 2**63 - 1, "share": 1, "ratio": -0.5, "big": float(2**70)},
        {"count": -(2**63), "share": 99, "ratio": 0.5, "big": 1e300},
    ]


def event_times(decoder: Decoder, *times: str) -> list[dt.datetime]:
    decoded = decoder.decode([value(event_time=t) for t in times])
    assert decoded.bad_reason == []
    return decoded.good["event_time"].to_pylist()


def test_a_time_without_a_zone_is_utc_by_default(decoder):
    assert event_times(decoder, "2024-01-15T10:00:00", "2024-01-15T10:00:00.5", "2024-01-15T10:00:00+01:00") == [
        dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC), dt.datetime(2024, 1, 15, 10, 0, 0, 500000, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 15, 9, tzinfo=dt.UTC),
    ]


@pytest.mark.parametrize(
    ("timezone", "utc_hour"),
    [("UTC", dt.datetime(2024, 1, 15, 10)), ("Asia/Kolkata", dt.datetime(2024, 1, 15, 4, 30)),
     ("America/New_York", dt.datetime(2024, 1, 15, 15))],
)
def test_a_time_without_a_zone_is_read_in_the_configured_timezone(timezone, utc_hour):
    decoder = Decoder(load_schema(DEFAULT_SCHEMA), timezone)
    got = event_times(decoder, "2024-01-15T10:00:00", "2024-01-15T10:00:00Z")
    assert got == [utc_hour.replace(tzinfo=dt.UTC), dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC)]


def test_the_hosts_time_zone_is_never_used():
    # DuckDB takes the host's zone once per process (ICU's default), so the host zone is set on a child process
    script = ("import json; from ingest.config import DEFAULT_SCHEMA; from ingest.schema import load_schema; "
              "from ingest.sink.decode import Decoder; "
              f"v = {value(event_time='2024-01-15T10:00:00')!r}; "
              "print(Decoder(load_schema(DEFAULT_SCHEMA)).decode([v]).good['event_time'][0].as_py().isoformat())")
    out = subprocess.run([sys.executable, "-c", script], env={**os.environ, "TZ": "Asia/Kolkata"},
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "2024-01-15T10:00:00+00:00"


def test_an_unknown_timezone_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        Decoder(load_schema(DEFAULT_SCHEMA), "Mars/Olympus_Mons")
    assert err.value.key == "timezone"


def _utf8(value: bytes) -> bool:
    try:
        value.decode()
        return True
    except UnicodeDecodeError:
        return False


def both_ways(decoder: Decoder, values: list[bytes | None]) -> tuple[pa.Table, pa.Table]:
    """(what the screen passes, what the full query finds good), on the same values, without the flag columns."""
    batch = pa.table({"i": pa.array(range(len(values)), pa.int32()), "raw": pa.array(values, pa.binary())})
    screened = decoder._run(decoder.screen, batch)
    valid_utf8 = [v for v in values if v is None or v.isascii() or _utf8(v)]
    if len(valid_utf8) == len(values):  # the screen over text Arrow checked gives the same
        text = pa.table({"i": batch["i"], "text": batch["raw"].cast(pa.string())})
        assert repr(decoder._run(decoder.screen_text, text).to_pylist()) == repr(screened.to_pylist())  # NaN too
    full = decoder._run(decoder.query, batch)
    return (screened.filter(screened["clean"]).drop_columns(["clean"]),
            full.filter(pc.is_null(full["error"])).drop_columns(["stage", "error"]))


EDGES = [value(), value(amount=3), value(amount=-0.0), value(payload=[1, {"b": "é"}]), value(user_id=None),
         value(event_id="0B6C8F43-2C8F-4F22-9F0A-2D1A0E5E1B11"), value(event_time="2024-01-15T10:00:00"),
         value(event_time="2024-01-15 10:00:00+05:30"), raw(amount=str(2**70)), raw(amount="1e9"),
         b'{"event_type": "a", "event_type": "b", "event_id": "0b6c8f43-2c8f-4f22-9f0a-2d1a0e5e1b11", '
         b'"event_time": "2024-01-15T10:00:00Z", "payload": {}}',
         b"{not json", b"\xff", b"[1]", b'"text"', None, value(event_type=7), value(payload="x"), value(amount="1"),
         value(event_time="1969-12-31T23:59:59Z"), value(event_id="nope"), raw(amount="NaN"), raw(amount="1e999"),
         raw(amount="1000000000.01"), value(event_time=...), value(payload=None)]


def test_the_screen_passes_only_what_the_full_query_finds_good_and_types_it_the_same(decoder):
    screened, full = both_ways(decoder, EDGES)
    assert set(screened["i"].to_pylist()) <= set(full["i"].to_pylist())
    assert screened.equals(full.filter(pc.is_in(full["i"], screened["i"])))
    assert screened["i"].to_pylist() == full["i"].to_pylist()


def test_integer_and_bounded_fields_pass_the_screen_as_the_full_query_types_them(counts):
    values = [b'{"count": 5, "share": 1, "ratio": -0.5, "big": 1e300}', b'{"count": -9223372036854775808}',
              b'{"share": 0}', b'{"share": 100}', b'{"ratio": 0.51}', b'{"count": 1.5}', b'{"big": NaN}',
              b'{"count": 9223372036854775808}', b'{"count": true}', b'{"big": 12}']
    screened, full = both_ways(counts, values)
    assert screened["i"].to_pylist() == [0, 1, 9]
    assert screened.equals(full.filter(pc.is_in(full["i"], screened["i"])))


def test_a_batch_of_the_producers_events_passes_the_screen_whole(decoder):
    from ingest.produce import generate

    values = [e.value for e in generate(500, 1, 1_705_312_800_000, seed=5)]
    screened, full = both_ways(decoder, values)
    assert screened.equals(full) and len(screened) == 500
