"""DLQ reprocessing against the real Kafka and S3: replays, parking, the S3 audit trail and committed offsets."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from confluent_kafka import Message, Producer

from ingest.clients import ensure_topic, kafka_config
from ingest.dlq.audit import audit_glob
from ingest.dlq.repairs import REPAIRS, Origin, event_id_for
from ingest.dlq.reprocess import NO_SOURCE, reprocess_dlq
from ingest.errors import SluiceError
from support.dlq import CONNECT, crafted, headers, highs, read_topic
from support.sink import produce_events, run_sink, sink_config


def expected_outcome(letter: Message) -> tuple[str, str | None]:
    """From the dead letter itself: replayed (missing event_type only) or parked, with the reason the sink gave."""
    try:
        event = json.loads(letter.value()) if letter.value() is not None else None
    except ValueError:
        event = None
    if isinstance(event, dict) and "event_type" not in event:
        return "replayed", None
    return "parked", headers(letter)[CONNECT + "exception.message"]


def audit_rows(lake, bucket: str) -> list[dict]:
    cur = lake.execute(f"select * from read_json_auto('{audit_glob(bucket)}')")
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def test_real_sink_dlq_is_repaired_replayed_parked_audited_and_committed(tmp_path, connections, lake, s3, names):
    topic, dlq, parking = names["topic"], names["dlq"], names["topic"] + "-parked"
    config = sink_config(tmp_path, names["name"], topics=topic, **{
        "s3.bucket.name": names["bucket"], "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.context.headers.enable": "true",
    })
    produce_events(connections, topic, 2000, partitions=2, bad_ratio=0.1, seed=3)
    sink = run_sink(config)
    assert sink.returncode == 0, sink.stdout
    letters = {(m.partition(), m.offset()): m for m in read_topic(connections, dlq)}
    expected = {where: expected_outcome(m) for where, m in letters.items()}
    replay_expected = {w for w, (outcome, _) in expected.items() if outcome == "replayed"}
    assert replay_expected and len(replay_expected) < len(letters)
    source_before = highs(connections, topic)

    group = names["name"] + "-reprocess"
    result = reprocess_dlq(connections, dlq, group_id=group, repairs=["coerce_numeric_timestamp", "default_event_type"],
                           parking_topic=parking, audit_bucket=names["bucket"])

    assert result.read == len(letters) == result.replayed + result.parked
    assert result.replayed == len(replay_expected) and result.caught_up
    assert result.rules == Counter({"default_event_type": len(replay_expected)})
    assert result.reasons == Counter(reason for outcome, reason in expected.values() if outcome == "parked")
    assert result.reasons["value is not valid JSON"] > 0
    assert result.reasons["null value (tombstone) with behavior.on.null.values=fail"] > 0

    # replayed: back to the source partition, original key and timestamp, event_type "unknown", sluice.dlq.* headers
    replayed = {}
    for m in read_topic(connections, topic, source_before):
        h = headers(m)
        where = (int(h["sluice.dlq.partition"]), int(h["sluice.dlq.offset"]))
        letter = letters[where]
        assert where in replay_expected and where not in replayed
        assert json.loads(m.value()) == {**json.loads(letter.value()), "event_type": "unknown"}
        assert (m.key(), m.timestamp()[1]) == (letter.key(), letter.timestamp()[1])
        assert m.partition() == int(headers(letter)[CONNECT + "partition"])
        assert h["sluice.dlq.rule"] == "default_event_type"
        assert not any(k.startswith(CONNECT) for k in h)
        replayed[where] = (m.topic(), m.partition(), m.offset())
    assert set(replayed) == replay_expected

    # parked: unchanged, with the original headers and the reason
    parked = {}
    for m in read_topic(connections, parking):
        h = headers(m)
        where = (int(h[CONNECT + "partition"]), int(h[CONNECT + "offset"]))
        letter = next(v for v in letters.values() if
                      (int(headers(v)[CONNECT + "partition"]), int(headers(v)[CONNECT + "offset"])) == where)
        dlq_where = (letter.partition(), letter.offset())
        assert expected[dlq_where] == ("parked", h["sluice.parked.reason"])
        assert (m.value(), m.key(), m.headers()[:-1]) == (letter.value(), letter.key(), letter.headers())
        parked[dlq_where] = (m.topic(), m.partition(), m.offset())
    assert len(parked) == result.parked

    # the audit trail lists every DLQ offset once, with where it went
    assert result.audit_key.startswith("_sluice/dlq-audit/date=") and result.audit_key.endswith(".jsonl")
    s3.head_object(Bucket=names["bucket"], Key=result.audit_key)
    rows = audit_rows(lake, names["bucket"])
    assert sorted((r["dlq_partition"], r["dlq_offset"]) for r in rows) == sorted(letters)
    for r in rows:
        where = (r["dlq_partition"], r["dlq_offset"])
        h = headers(letters[where])
        assert (r["dlq_topic"], r["source_topic"], str(r["source_partition"]), str(r["source_offset"])) == (
            dlq, topic, h[CONNECT + "partition"], h[CONNECT + "offset"])
        assert r["reason"] == h[CONNECT + "exception.message"]  # the same validation as the sink's
        went = replayed if r["outcome"] == "replayed" else parked
        assert (r["new_topic"], r["new_partition"], r["new_offset"]) == went[where]
        assert r["rule"] == ("default_event_type" if r["outcome"] == "replayed" else "none")
        assert r["outcome"] == expected[where][0] and r["run_id"] == result.run_id and r["at"] is not None

    # committed: a second run finds nothing new and writes nothing
    assert result.committed == {(dlq, p): high for p, high in highs(connections, dlq).items()}
    again = reprocess_dlq(connections, dlq, group_id=group, repairs=["default_event_type"], parking_topic=parking,
                          audit_bucket=names["bucket"])
    assert (again.read, again.replayed, again.parked, again.audit_key, again.committed) == (0, 0, 0, None, {})
    assert again.caught_up
    assert len(audit_rows(lake, names["bucket"])) == len(letters)
    assert sum(highs(connections, topic).values()) == sum(source_before.values()) + len(replay_expected)


def test_crafted_dead_letters_each_repair_and_deterministic_ids(connections, lake, s3, names):
    source, dlq, parking, bucket = names["topic"], names["dlq"], names["topic"] + "-parked", names["bucket"]
    ensure_topic(connections, source, 1)
    ensure_topic(connections, dlq, 1)
    s3.create_bucket(Bucket=bucket)
    cases = [  # value, source topic header, expected outcome, rule, expected replayed changes or parked reason
        (crafted(event_time=1_705_309_200), source, "replayed", "coerce_numeric_timestamp",
         {"event_time": "2024-01-15T09:00:00.000Z"}),
        (crafted(event_time=1_705_309_200_123), source, "replayed", "coerce_numeric_timestamp",
         {"event_time": "2024-01-15T09:00:00.123Z"}),
        (crafted(event_id=...), source, "replayed", "generate_missing_event_id",
         {"event_id": event_id_for(Origin(source, 0, 102))}),
        (crafted(event_type=7), source, "replayed", "stringify_event_type", {"event_type": "7"}),
        (crafted(event_type=..., event_time=1_705_309_200.5), source, "replayed",
         "default_event_type,coerce_numeric_timestamp",
         {"event_type": "unknown", "event_time": "2024-01-15T09:00:00.500Z"}),
        (crafted(), source, "replayed", "none", {}),
        (crafted(event_type=...), None, "parked", "none", NO_SOURCE),
        (crafted(event_type=...), source + "-gone", "parked", "none", f"source topic '{source}-gone' does not exist"),
        (b"[1, 2]", source, "parked", "none", "value is a JSON array, not an object"),
        (crafted(event_time="yesterday"), source, "parked", "none", "field event_time is not an ISO 8601 time"),
        (crafted(), source, "parked", "none", "replayed 3 times and dead-lettered again"),  # with hops 3, below
    ]
    hops = {len(cases) - 1: [("sluice.dlq.hops", b"3")]}
    producer = Producer(kafka_config(connections, acks="all"))
    for n, (value, header_topic, *_) in enumerate(cases):
        context = {"partition": "0", "offset": str(100 + n), "exception.message": "whatever the sink said"}
        if header_topic is not None:
            context["topic"] = header_topic
        producer.produce(dlq, key=f"k{n}".encode(), value=value, timestamp=1_705_309_200_000 + n,
                         headers=[("app", b"x")] + [(CONNECT + k, v.encode()) for k, v in context.items()]
                         + hops.get(n, []))
    assert producer.flush(30) == 0
    clock = 1_705_309_200_000  # 2024-01-15T09:00:00Z

    first = reprocess_dlq(connections, dlq, group_id=names["name"], repairs=list(REPAIRS), parking_topic=parking,
                          audit_bucket=bucket, max_records=4, clock_ms=lambda: clock)
    assert (first.read, first.caught_up, first.committed) == (4, False, {(dlq, 0): 4})
    assert first.audit_key.startswith("_sluice/dlq-audit/date=2024-01-15/run-20240115T090000")
    rest = reprocess_dlq(connections, dlq, group_id=names["name"], repairs=list(REPAIRS), parking_topic=parking,
                         audit_bucket=bucket, clock_ms=lambda: clock)
    assert (rest.read, rest.caught_up, rest.committed) == (len(cases) - 4, True, {(dlq, 0): len(cases)})
    assert first.replayed + rest.replayed == sum(c[2] == "replayed" for c in cases)

    replays = {int(headers(m)["sluice.dlq.offset"]): m for m in read_topic(connections, source)}
    parks = {int(headers(m)[CONNECT + "offset"]) - 100: m for m in read_topic(connections, parking)}
    rows = {r["dlq_offset"]: r for r in audit_rows(lake, bucket)}
    assert sorted(rows) == list(range(len(cases)))
    for n, (value, _, outcome, rule, change) in enumerate(cases):
        assert (rows[n]["outcome"], rows[n]["rule"]) == (outcome, rule), n
        if outcome == "replayed":
            m = replays[n]
            assert json.loads(m.value()) == {**json.loads(value), **change}, n
            assert headers(m) == {"app": "x", "sluice.dlq.offset": str(n), "sluice.dlq.partition": "0",
                                  "sluice.dlq.rule": rule, "sluice.dlq.hops": "1"}
            assert (m.key(), m.timestamp()[1]) == (f"k{n}".encode(), 1_705_309_200_000 + n)
            assert (rows[n]["new_topic"], rows[n]["new_offset"]) == (source, m.offset())
        else:
            m = parks[n]
            assert m.value() == value and headers(m)["sluice.parked.reason"].startswith(change), n
            assert (rows[n]["new_topic"], rows[n]["new_offset"]) == (parking, m.offset())

    # a replay of the same DLQ from another group generates the same event id
    replay = reprocess_dlq(connections, dlq, group_id=names["name"] + "-again", repairs=["generate_missing_event_id"],
                           parking_topic=parking, audit_bucket=bucket)
    assert replay.read == len(cases)
    ids = [json.loads(m.value()).get("event_id") for m in read_topic(connections, source)
           if headers(m)["sluice.dlq.offset"] == "2"]
    assert ids == [event_id_for(Origin(source, 0, 102))] * 2


def test_unknown_repair_names_raise_with_the_allowed_ones(connections, names):
    with pytest.raises(ValueError) as raised:
        reprocess_dlq(connections, names["dlq"], group_id=names["name"], repairs=["default_event_type", "guess"],
                      parking_topic=names["dlq"] + "-parked", audit_bucket=names["bucket"])
    message = str(raised.value)
    assert "guess" in message
    assert all(name in message for name in REPAIRS)


def test_a_sinks_consumer_group_is_refused_by_name(connections, names):
    with pytest.raises(SluiceError, match=f"group_id 'connect-{names['name']}' is a sink's consumer group"):
        reprocess_dlq(connections, names["dlq"], group_id=f"connect-{names['name']}", repairs=[],
                      parking_topic=names["dlq"] + "-parked", audit_bucket=names["bucket"],
                      sink_groups=frozenset({f"connect-{names['name']}"}))


def test_a_large_dlq_over_partitions_reports_progress_and_is_read_to_its_end(connections, s3, names):
    source, dlq, bucket = names["topic"], names["dlq"], names["bucket"]
    ensure_topic(connections, source, 2)
    ensure_topic(connections, dlq, 3)
    s3.create_bucket(Bucket=bucket)
    producer = Producer(kafka_config(connections, acks="all", **{"linger.ms": 20}))
    for n in range(2500):
        context = {"topic": source, "partition": str(n % 2), "offset": str(n)}
        producer.produce(dlq, partition=n % 3, key=b"k", value=crafted(event_type=...),
                         headers=[(CONNECT + k, v.encode()) for k, v in context.items()])
    assert producer.flush(30) == 0
    calls = []

    result = reprocess_dlq(connections, dlq, group_id=names["name"], repairs=["default_event_type"],
                           parking_topic=source + "-parked", audit_bucket=bucket,
                           progress=lambda done, total: calls.append((done, total)))

    assert (result.read, result.replayed, result.parked, result.caught_up) == (2500, 2500, 0, True)
    assert result.committed == {(dlq, p): high for p, high in highs(connections, dlq).items()}
    assert [done // 1000 for done, _ in calls] == [1, 2] and all(total == 2500 for _, total in calls)
    assert highs(connections, source) == {0: 1250, 1: 1250}
