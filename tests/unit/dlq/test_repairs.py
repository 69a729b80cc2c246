"""The DLQ repairs, one by one on crafted values, and the bulk triage with the sink's own validation."""

import json
import uuid

import pytest

from ingest.config import DEFAULT_SCHEMA
from ingest.dlq.audit import audit_glob, audit_key
from ingest.dlq.kafka_io import HOPS, DlqRecord, Progress
from ingest.dlq.repairs import (
    REPAIRS,
    Origin,
    check_repairs,
    coerce_numeric_timestamp,
    default_event_type,
    event_id_for,
    generate_missing_event_id,
    repair,
    stringify_event_type,
    triage,
)
from ingest.schema import load_schema
from ingest.sink.decode import Decoder
from ingest.timefmt import iso_millis as iso_ms

HERE = Origin("events", 2, 41)
GOOD = {"event_id": "0b6c8f43-2c8f-4f22-9f0a-2d1a0e5e1b11", "event_type": "click",
        "event_time": "2024-01-15T10:00:00.123Z", "payload": {"a": 1}}


def value(**changes) -> bytes:
    return json.dumps({k: v for k, v in {**GOOD, **changes}.items() if v is not ...}).encode()


@pytest.mark.parametrize(("event", "after", "applied"), [
    ({}, {"event_type": "unknown"}, True),
    ({"event_type": None}, {"event_type": "unknown"}, True),
    ({"event_type": "click"}, {"event_type": "click"}, False),
    ({"event_type": ""}, {"event_type": ""}, False),
])
def test_default_event_type(event, after, applied):
    assert default_event_type(event, HERE) is applied and event == after


@pytest.mark.parametrize(("raw", "iso"), [
    (1_705_309_200, "2024-01-15T09:00:00.000Z"),  # seconds
    (1_705_309_200.25, "2024-01-15T09:00:00.250Z"),
    (1_705_309_200_123, "2024-01-15T09:00:00.123Z"),  # milliseconds
    (0, "1970-01-01T00:00:00.000Z"),
    (99_999_999_999, "5138-11-16T09:46:39.000Z"),  # just below 1e11: still seconds
    (100_000_000_000, "1973-03-03T09:46:40.000Z"),  # 1e11: milliseconds
])
def test_coerce_numeric_timestamp(raw, iso):
    event = {"event_time": raw}
    assert coerce_numeric_timestamp(event, HERE) and event == {"event_time": iso}


@pytest.mark.parametrize("raw", ["2024-01-15T09:00:00Z", "1705309200", True, None, 1e300, float("nan")])
def test_coerce_numeric_timestamp_leaves_anything_else(raw):
    event = {"event_time": raw}
    assert not coerce_numeric_timestamp(event, HERE) and event == {"event_time": raw}


def test_generate_missing_event_id_is_a_uuid5_of_the_source_coordinates():
    event, again = {}, {"event_id": None}
    assert generate_missing_event_id(event, HERE) and generate_missing_event_id(again, HERE)
    assert event["event_id"] == again["event_id"] == event_id_for(HERE)
    assert uuid.UUID(event["event_id"]).version == 5
    assert event_id_for(Origin("events", 2, 42)) != event_id_for(HERE) != event_id_for(Origin("other", 2, 41))
    kept = {"event_id": "x"}
    assert not generate_missing_event_id(kept, HERE) and kept == {"event_id": "x"}


@pytest.mark.parametrize(("raw", "text"), [(7, "7"), (2.5, "2.5")])
def test_stringify_event_type(raw, text):
    event = {"event_type": raw}
    assert stringify_event_type(event, HERE) and event == {"event_type": text}


@pytest.mark.parametrize("raw", ["click", True, None, [1]])
def test_stringify_event_type_leaves_anything_else(raw):
    event = {"event_type": raw}
    assert not stringify_event_type(event, HERE) and event == {"event_type": raw}


def test_check_repairs_orders_and_rejects_unknown_names():
    assert check_repairs(["stringify_event_type", "default_event_type", "default_event_type"]) == [
        "default_event_type", "stringify_event_type"]
    with pytest.raises(ValueError, match="unknown repair.*nope.*allowed: " + ", ".join(REPAIRS)):
        check_repairs(["nope"])
    assert all(f.__doc__ for f in REPAIRS.values())


def test_repair_cannot_touch_non_json_null_or_non_objects():
    names = list(REPAIRS)
    for raw in (None, b"{oops", b"\xff\xfe", b"[1, 2]", b'"text"'):
        assert repair(raw, names, HERE) is None
    assert repair(value(), names, HERE) is None  # nothing to do
    fixed, applied = repair(value(event_type=..., event_time=1_705_309_200), names, HERE)
    assert applied == ["default_event_type", "coerce_numeric_timestamp"]
    assert json.loads(fixed) == {**GOOD, "event_type": "unknown", "event_time": "2024-01-15T09:00:00.000Z"}


def test_triage_validates_repairs_and_revalidates_in_bulk():
    decoder = Decoder(load_schema(DEFAULT_SCHEMA))
    values = [value(), value(event_type=...), value(event_id=...), b"{oops", None, value(event_type=...,
                                                                                          event_time="yesterday")]
    verdicts = triage(decoder, values, [HERE] * len(values), ["default_event_type"])
    assert [(v.ok, v.rule) for v in verdicts] == [(True, "none"), (True, "default_event_type"), (False, "none"),
                                                  (False, "none"), (False, "none"), (False, "default_event_type")]
    assert verdicts[0].value == values[0] and verdicts[0].reason is None
    assert json.loads(verdicts[1].value)["event_type"] == "unknown"
    assert verdicts[1].reason == "missing required field 'event_type'" and verdicts[1].parked_reason is None
    assert verdicts[2].parked_reason == "missing required field 'event_id'" and verdicts[2].value == values[2]
    assert verdicts[3].parked_reason == "value is not valid JSON"
    assert verdicts[4].parked_reason.startswith("null value (tombstone)")
    # reason: before repair; parked_reason: what still fails after it
    assert verdicts[5].reason == "missing required field 'event_type'"
    assert verdicts[5].parked_reason.startswith("field event_time is not an ISO 8601 time")
    assert verdicts[5].value == values[5]


def test_audit_layout_and_progress():
    assert audit_key("_sluice/dlq-audit/", "r1", 1_705_309_200_000) == "_sluice/dlq-audit/date=2024-01-15/run-r1.jsonl"
    assert audit_glob("b") == "s3://b/_sluice/dlq-audit/*/*.jsonl"
    assert iso_ms(1_705_309_200_123) == "2024-01-15T09:00:00.123Z"
    calls = []
    progress = Progress(lambda done, total: calls.append((done, total)))
    for done in (500, 1000, 1500, 2500, 2600):
        progress.update(done, 2600)
    assert calls == [(1000, 2600), (2500, 2600)]


def test_deeply_nested_json_is_parked_with_a_reason_never_a_crash():
    deep = b'{"payload": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert repair(deep, list(REPAIRS), HERE) is None
    [verdict] = triage(Decoder(load_schema(DEFAULT_SCHEMA)), [deep], [HERE], list(REPAIRS))
    assert not verdict.ok and verdict.parked_reason


class Letter:
    """The confluent_kafka.Message methods DlqRecord.of reads."""

    def __init__(self, headers):
        self._headers = headers

    def headers(self):
        return self._headers

    def timestamp(self):
        return (1, 0)

    def topic(self):
        return "events-dlq"

    def partition(self):
        return 0

    def offset(self):
        return 7

    def key(self):
        return None

    def value(self):
        return b"{}"


def test_each_replay_counts_a_hop_and_a_record_without_the_header_has_none():
    context = [("__connect.errors.topic", b"events"), ("__connect.errors.partition", b"1")]
    first = DlqRecord.of(Letter(context + [("trace", b"x")]))
    assert first.hops == 0
    replayed = dict(first.replay_headers("none"))
    assert replayed[HOPS] == b"1" and replayed["trace"] == b"x" and "__connect.errors.topic" not in replayed
    again = DlqRecord.of(Letter(context + list(replayed.items())))  # the sink dead-letters it again
    assert again.hops == 1 and dict(again.replay_headers("none"))[HOPS] == b"2"
    assert DlqRecord.of(Letter(context + [(HOPS, b"\xff")])).hops == 0
