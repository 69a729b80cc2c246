"""Avro values in Confluent's wire format: the same events give the same rows as their JSON; older schema versions
are read into the reader schema; what is not Avro of a known schema goes to the DLQ with why; a registry that
does not answer stops the task rather than dead-letter anything."""

import json

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, Message
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from ingest.avro import WireFormatReader
from ingest.avro_events import DEFAULT_AVRO_SCHEMA, UNKNOWN_ID, encoder
from ingest.config import DEFAULT_SCHEMA, parse_sink_config
from ingest.connections import REPO_ROOT, Connections
from ingest.errors import ConfigError, SluiceError
from ingest.produce import generate
from ingest.schema import from_avro_schema, load_avro_schema, load_schema
from ingest.sink.records import RecordConverter

CONN = Connections.from_env({}, env_file=REPO_ROOT / "no-such-env-file")
START_MS = 1_705_312_800_000  # 2024-01-15T10:00:00Z
V2 = json.loads(DEFAULT_AVRO_SCHEMA.read_text())
V1 = dict(V2, fields=[f for f in V2["fields"] if f["name"] not in ("user_agent", "amount")])  # an older version


class Registry:
    """The registry's get_schema(id) and lookup_schema(subject, schema), in process: schemas by id, `versions` of
    the subject "events-value" by id; `down` answers nothing."""

    def __init__(self, schemas: dict[int, dict], down: int = 0, versions: dict[int, int] | None = None):
        self.schemas, self.down, self.calls, self.versions = schemas, down, 0, versions or {}

    def lookup_schema(self, subject: str, schema: Schema):
        found = [i for i, s in self.schemas.items() if s == json.loads(schema.schema_str) and i in self.versions]
        if subject != "events-value" or not found:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return type("Registered", (), {"version": self.versions[found[0]]})

    def get_schema(self, schema_id: int) -> Schema:
        self.calls += 1
        if self.down:
            self.down -= 1
            raise ConnectionError("connection refused")
        if schema_id not in self.schemas:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return Schema(json.dumps(self.schemas[schema_id]), "AVRO")


def converter(value_converter: str | None, registry: Registry | None = None) -> RecordConverter:
    keys = {"value.converter": value_converter} if value_converter else {}
    config = parse_sink_config({"name": "s3-sink", "config": {
        "topics": "events", "s3.bucket.name": "lake", "flush.size": "100", "timezone": "UTC", "locale": "en-US",
        "partitioner.class": "io.confluent.connect.storage.partitioner.HourlyPartitioner",
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "value.converter.schema.registry.url": "http://127.0.0.1:1/apis/ccompat/v7",
        "sluice.schema.file": str(DEFAULT_AVRO_SCHEMA), **keys}}, CONN)
    result = RecordConverter(config, load_schema(config.schema_file), lambda: 0)
    if registry is not None:
        result.values.registry = registry
    return result


def as_messages(values: list) -> list[Message]:
    return [Message(value=v, offset=i, timestamp=(TIMESTAMP_CREATE_TIME, START_MS), key=b"k")
            for i, v in enumerate(values)]


def test_the_avro_schema_gives_the_json_schemas_columns():
    assert load_schema(DEFAULT_AVRO_SCHEMA).arrow_schema() == load_schema(DEFAULT_SCHEMA).arrow_schema()


def test_the_same_events_give_the_same_rows_from_avro_as_from_json():
    events = list(generate(300, 1, START_MS, seed=4))
    encode = encoder(7, V2)
    avro = list(generate(300, 1, START_MS, seed=4, encode=encode))
    from_json = converter(None).convert("events", 0, as_messages([e.value for e in events]))
    from_avro = converter("io.confluent.connect.avro.AvroConverter", Registry({7: V2})).convert(
        "events", 0, as_messages([e.value for e in avro]))
    assert from_avro.bad == [] and from_json.bad == []
    assert from_avro.rows.equals(from_json.rows)
    assert from_avro.times_ms.tolist() == from_json.times_ms.tolist()


def test_an_older_version_is_read_into_the_reader_schema_with_its_defaults():
    event = next(generate(1, 1, START_MS, seed=5))
    old, new = encoder(1, V1), encoder(2, V2)
    source = json.loads(event.value)
    batch = converter("AvroConverter", Registry({1: V1, 2: V2})).convert(
        "events", 0, as_messages([old(source), new(dict(source, user_agent="ua", amount=1.5))]))
    assert batch.bad == []
    assert batch.rows["user_agent"].to_pylist() == [None, "ua"]
    assert batch.rows["amount"].to_pylist() == [None, 1.5]
    assert batch.rows["event_id"].to_pylist() == [source["event_id"]] * 2


def test_what_is_not_avro_of_a_known_schema_is_dead_lettered_with_why():
    registry = Registry({1: V2})
    events = {kind: next(e for e in generate(2000, 1, START_MS, bad_ratio=0.5, seed=6, encode=encoder(1, V2))
                         if e.kind == kind)
              for kind in ("good", "not_json", "missing_field", "wrong_type", "bad_timestamp", "null_value")}
    batch = converter("AvroConverter", registry).convert("events", 0, as_messages([e.value for e in events.values()]))
    reasons = {m.message.offset(): (m.reason, m.stage) for m in batch.bad}
    assert batch.offsets.tolist() == [0]
    assert reasons[1][0].startswith("unknown magic byte 123") and reasons[1][1] == "VALUE_CONVERTER"
    assert reasons[2][0] == f"unknown schema id {UNKNOWN_ID}: the registry has no such schema"
    assert reasons[3][0].startswith("Avro value of schema id 1 does not decode")
    assert "event_time" in reasons[4][0] and reasons[4][1] == "TASK_PUT"  # 1960: before the schema's range
    assert reasons[5][0].startswith("null value")
    assert registry.calls == 2  # each id asked once, the unknown one remembered too


def test_a_registry_that_does_not_answer_is_waited_for_until_it_does_or_the_task_is_asked_to_stop():
    import threading

    waits = []
    value = encoder(1, V2)(json.loads(next(generate(1, 1, START_MS)).value))
    reader = WireFormatReader(V2, Registry({1: V2}, down=12), sleep=waits.append)  # no bound: the task waits
    texts, bad = reader.to_json([value])
    assert bad == [] and json.loads(texts[0])["event_type"]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0] + [10.0] * 7  # backoff, capped at 10 s

    stop = threading.Event()
    registry = Registry({1: V2}, down=10**6)
    reader = WireFormatReader(V2, registry, stop=stop, sleep=lambda _: stop.set() if registry.calls >= 5 else None)
    with pytest.raises(SluiceError, match="stopped while waiting for the schema registry .schema id 1."):
        reader.to_json([value])
    assert registry.calls == 5  # asked until the stop, then not again

    reader = WireFormatReader(V2, Registry({1: V2}, down=10**6), registry_timeout_s=0, sleep=waits.append)
    with pytest.raises(SluiceError, match="schema registry did not answer for schema id 1"):
        reader.to_json([value])  # with a bound (the DLQ job's), it gives up


def test_value_converter_keys_are_checked():
    with pytest.raises(ConfigError, match="value.converter.*AvroConverter or .*JsonConverter"):
        converter("io.confluent.connect.protobuf.ProtobufConverter")
    with pytest.raises(ConfigError, match="fields.payload.type"):
        from_avro_schema(dict(V2, fields=[{"name": "payload", "type": "bytes"}]))
    assert load_avro_schema(DEFAULT_AVRO_SCHEMA)["name"] == "Event"


def test_json_converter_with_schemas_enable_reads_the_envelopes_payload():
    event = json.loads(next(generate(1, 1, START_MS, seed=8)).value)
    values = [json.dumps({"schema": {"type": "struct"}, "payload": event}).encode(), json.dumps(event).encode()]
    batch = converter("org.apache.kafka.connect.json.JsonConverter").convert("events", 0, as_messages(values))
    assert batch.rows["event_id"].to_pylist() == [event["event_id"]]
    assert batch.bad[0].reason.startswith('JsonConverter with schemas.enable requires "schema" and "payload"')


def test_schema_compatibility_is_checked_and_none_is_the_default_as_in_confluents_connector():
    base = {"topics": "events", "s3.bucket.name": "lake", "flush.size": "100",
            "value.converter": "AvroConverter", "value.converter.schema.registry.url": "http://127.0.0.1:1"}
    with pytest.raises(ConfigError, match="schema.compatibility.*NONE, BACKWARD, FORWARD, FULL"):
        parse_sink_config({"config": base | {"schema.compatibility": "SOMETIMES"}}, CONN)
    forward = parse_sink_config({"config": base | {"schema.compatibility": "forward"}}, CONN)
    assert forward.value_converter.compatibility == "FORWARD" and not forward.warnings
    assert parse_sink_config({"config": base}, CONN).value_converter.compatibility == "NONE"  # Confluent's default
    pinned = parse_sink_config({"config": base | {"schema.compatibility": "FULL",
                                                  "sluice.schema.file": str(DEFAULT_AVRO_SCHEMA)}}, CONN)
    assert any("schema.compatibility=FULL is not used: sluice.schema.file" in w for w in pinned.warnings)
    backward = parse_sink_config({"config": base | {"schema.compatibility": "BACKWARD"}}, CONN)
    assert not any("schema.compatibility" in w for w in backward.warnings)
    assert backward.value_converter.registry_config() == {"url": "http://127.0.0.1:1", "timeout": 10}
    assert "unknown config key" not in " ".join(backward.warnings)
    keyed = parse_sink_config({"config": base | {"key.converter": "io.confluent.connect.avro.AvroConverter",
                                                  "key.converter.schema.registry.url": "http://127.0.0.1:1"}}, CONN)
    assert not keyed.warnings  # the key is kept as its bytes (_kafka_key), whatever its converter


class Subjects:
    """The registry's get_latest_version(subject), in process: a subject appears after `missing` asks."""

    def __init__(self, schemas: dict[str, dict], missing: int = 0):
        self.schemas, self.missing, self.asked = schemas, missing, []

    def get_latest_version(self, subject: str):
        from confluent_kafka.schema_registry import RegisteredSchema

        self.asked.append(subject)
        if self.missing or subject not in self.schemas:
            self.missing = max(self.missing - 1, 0)
            raise SchemaRegistryError(404, 40401, "Subject not found")
        return RegisteredSchema(schema_id=3, guid=None, schema=Schema(json.dumps(self.schemas[subject]), "AVRO"),
                                subject=subject, version=2)


def avro_config(**keys: str):
    return parse_sink_config({"config": {
        "s3.bucket.name": "lake", "flush.size": "100", "value.converter": "AvroConverter",
        "value.converter.schema.registry.url": "http://127.0.0.1:1", **keys}}, CONN)


def test_without_a_schema_file_the_sink_writes_its_subjects_latest_registered_schema():
    import threading

    from ingest.sink import reader_schema

    config = avro_config(topics="a,b")
    assert config.schema_file is None
    client, waits = Subjects({"a-value": V1, "b-value": V1}, missing=2), []
    resolved = reader_schema.resolve(config, threading.Event(), client, sleep=waits.append)
    assert resolved.reader_schema == V1 and client.asked == ["a-value"] * 3 + ["b-value"] and waits == [2.0, 2.0]
    assert reader_schema.event_schema(resolved).field("amount") is None  # V1 has none
    with pytest.raises(ConfigError, match="have different latest registered schemas"):
        reader_schema.resolve(config, threading.Event(), Subjects({"a-value": V1, "b-value": V2}))
    with pytest.raises(ConfigError, match="topics.regex"):
        reader_schema.resolve(avro_config(**{"topics.regex": "a.*"}), threading.Event(), Subjects({}))
    stopped = threading.Event()
    stopped.set()
    assert reader_schema.resolve(config, stopped, Subjects({})) is None
    given = avro_config(topics="a", **{"sluice.schema.file": str(DEFAULT_AVRO_SCHEMA)})
    assert reader_schema.resolve(given, threading.Event(), Subjects({})) is given


def following(compatibility: str, reader: dict, version: int, registry: Registry) -> RecordConverter:
    """A converter whose reader is `version` of events-value, from the registry, under `compatibility`."""
    import dataclasses

    config = converter("AvroConverter").config
    config = dataclasses.replace(config, reader_schema=reader, reader_subject="events-value", reader_version=version,
                                 schema_file=None, value_converter=dataclasses.replace(
                                     config.value_converter, compatibility=compatibility))
    result = RecordConverter(config, from_avro_schema(reader), lambda: 0)
    result.values.registry = registry
    return result


def test_under_backward_a_newer_version_becomes_the_reader_for_the_whole_batch():
    import dataclasses

    config = dataclasses.replace(converter("AvroConverter").config, reader_schema=V1, reader_subject="events-value",
                                 reader_version=1, schema_file=None)
    config = dataclasses.replace(config, value_converter=dataclasses.replace(config.value_converter,
                                                                             compatibility="BACKWARD"))
    result = RecordConverter(config, from_avro_schema(V1), lambda: 0)
    # ids say nothing of order (a registry reuses the id of a schema registered before elsewhere): versions do
    result.values.registry = Registry({9: V1, 2: V2}, versions={9: 1, 2: 2})
    source = json.loads(next(generate(1, 1, START_MS, seed=9)).value)
    first = result.convert("events", 0, as_messages([encoder(9, V1)(source)]))
    assert not result.schema_changed and "amount" not in first.rows.column_names
    mixed = [encoder(9, V1)(source), encoder(2, V2)(dict(source, amount=2.5))]
    batch = result.convert("events", 0, as_messages(mixed))
    assert result.schema_changed and result.values.reader_version == 2
    assert batch.bad == [] and batch.rows["amount"].to_pylist() == [None, 2.5]
    assert batch.rows.schema == from_avro_schema(V2).arrow_schema()


def test_under_none_each_run_of_one_writer_schema_is_written_in_that_schema():
    result = following("NONE", V2, 2, Registry({9: V1, 2: V2}, versions={9: 1, 2: 2}))
    source = json.loads(next(generate(1, 1, START_MS, seed=9)).value)
    v1, v2 = encoder(9, V1)(source), encoder(2, V2)(dict(source, amount=2.5))
    messages = as_messages([v2, v2, v1, b"not avro", v1, v2])
    runs = result.runs(messages)
    assert [[m.offset() for m in run] for run in runs] == [[0, 1], [2, 3, 4], [5]]
    columns, changed = [], []
    for run in runs:
        batch = result.convert("events", 0, run)
        columns.append("amount" in batch.rows.column_names)
        changed.append(result.schema_changed)
        result.schema_changed = False
    assert columns == [True, False, True]  # no projection: each run in its writer's schema
    assert changed == [False, True, True]  # the reader was V2 already; then V1; then V2 again
    assert result.values.reader_version == 2


def test_under_forward_an_older_version_becomes_the_reader_and_newer_ones_are_projected_into_it():
    result = following("FORWARD", V2, 2, Registry({9: V1, 2: V2}, versions={9: 1, 2: 2}))
    source = json.loads(next(generate(1, 1, START_MS, seed=9)).value)
    v1, v2 = encoder(9, V1)(source), encoder(2, V2)(dict(source, amount=2.5))
    assert len(result.runs(as_messages([v2, v1, v2]))) == 1  # only NONE splits a batch
    first = result.convert("events", 0, as_messages([v2]))
    assert not result.schema_changed and first.rows["amount"].to_pylist() == [2.5]
    batch = result.convert("events", 0, as_messages([v2, v1, v2]))
    assert result.schema_changed and result.values.reader_version == 1
    assert batch.bad == [] and batch.rows.num_rows == 3 and "amount" not in batch.rows.column_names
    assert batch.rows.schema == from_avro_schema(V1).arrow_schema()


def test_a_registered_schema_the_sink_cannot_write_does_not_become_the_reader_its_values_are_dead_lettered():
    no_time = dict(V1, fields=[f for f in V1["fields"] if f["name"] != "event_time"])  # timestamp.field is gone
    result = following("NONE", V2, 2, Registry({2: V2, 5: no_time}))
    source = json.loads(next(generate(1, 1, START_MS, seed=9)).value)
    bad = encoder(5, no_time)(source)
    batches = [result.convert("events", 0, run) for run in result.runs(as_messages([encoder(2, V2)(source), bad]))]
    assert not result.schema_changed and result.values.reader_version == 2
    assert sum(b.rows.num_rows for b in batches) == 1
    [letter] = [b for batch in batches for b in batch.bad]
    assert letter.stage == "VALUE_CONVERTER" and "schema id 5 cannot be written to Parquet" in letter.reason
    assert "timestamp.field" in letter.reason
