"""Reprocess a dead-letter queue: replay what is (or can be repaired to be) valid to its source topic, park the rest.

Delivery is at-least-once. The DLQ is read by its own consumer group with auto-commit off; every replayed and
parked record is acknowledged (idempotent producer, acks=all, flush) and the run's audit object is written
before the DLQ offsets are committed, synchronously. A crash in between replays those records on the next run
rather than losing them; generated event ids are deterministic, so the duplicates are recognisable downstream.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from confluent_kafka import Consumer, Producer

from ingest.avro import WireFormatReader
from ingest.clients import ensure_topic, kafka_admin, kafka_config, s3_client
from ingest.config import DEFAULT_SCHEMA
from ingest.connections import Connections, RegistrySettings
from ingest.converter import REGISTRY_TIMEOUT_S
from ingest.dlq.audit import DEFAULT_PREFIX, AuditTrail, new_run_id
from ingest.dlq.kafka_io import DlqReader, DlqRecord, Outbox, Progress
from ingest.dlq.repairs import check_repairs, triage
from ingest.errors import SluiceError
from ingest.lake.schemas import lake_record
from ingest.schema import EventSchema, load_schema
from ingest.sink.decode import Decoder
from ingest.sink.values import EnvelopeReader
from ingest.timefmt import iso_millis

log = logging.getLogger(__name__)
NO_SOURCE = "no source topic header"
MAX_HOPS = 3  # replays of one record from a DLQ before it is parked instead


@dataclass
class ReprocessResult:
    run_id: str
    read: int = 0
    replayed: int = 0
    parked: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # why parked -> count
    rules: Counter[str] = field(default_factory=Counter)  # repairs applied (or "none") -> replayed count
    audit_key: str | None = None  # None when nothing was read
    committed: dict[tuple[str, int], int] = field(default_factory=dict)  # (DLQ topic, partition) -> next offset
    caught_up: bool = True  # False if max_records or timeout_s stopped the run before the end of the DLQ


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Decoders:
    """The sink's validation of each source topic: the schema (and value.converter) its sink `connector` recorded in
    the lake, read once per run, else `fallback` (also for every topic without a connector). Avro values are read
    with the writer schemas of `registry` (its URL, auth and TLS)."""

    def __init__(self, client, bucket: str, connector: str | None, fallback: EventSchema,
                 registry: RegistrySettings | None = None):
        self.client, self.bucket, self.connector, self.fallback = client, bucket, connector, fallback
        self.registry = registry or RegistrySettings()
        self.by_topic: dict[str, tuple[Decoder, object]] = {}
        self.by_schema: dict[EventSchema, Decoder] = {}
        self.converters: dict[str, object] = {}

    def __call__(self, topic: str) -> tuple[Decoder, object]:
        """The decoder of the topic's values and the converter to read them with first (None: schemaless JSON)."""
        if topic not in self.by_topic:
            recorded = lake_record(self.client, self.bucket, self.connector, topic) if self.connector else None
            schema, converter = recorded if recorded is not None else (self.fallback, None)
            if schema not in self.by_schema:
                self.by_schema[schema] = Decoder(schema)
            self.by_topic[topic] = (self.by_schema[schema], self._converter(converter))
        return self.by_topic[topic]

    def _converter(self, kind: str | None):
        if kind is None:
            return None
        if kind not in self.converters:
            if kind == "avro":
                if not self.registry.url:
                    raise SluiceError("the DLQ holds Avro values (its sink's value.converter) and no schema registry "
                                      "is configured: set SLUICE_SCHEMA_REGISTRY_URL")
                from confluent_kafka.schema_registry import SchemaRegistryClient

                self.converters[kind] = WireFormatReader(None, SchemaRegistryClient(
                    self.registry.client_config(timeout=REGISTRY_TIMEOUT_S)), registry_timeout_s=120)
            else:
                self.converters[kind] = EnvelopeReader()
        return self.converters[kind]

    def close(self) -> None:
        for decoder in self.by_schema.values():
            decoder.con.close()


def reprocess_dlq(connections: Connections, dlq_topic: str, *, group_id: str, repairs: list[str],
                  parking_topic: str, audit_bucket: str, audit_prefix: str = DEFAULT_PREFIX,
                  max_records: int | None = None, timeout_s: float = 300.0,
                  progress: Callable[[int, int], None] | None = None, clock_ms: Callable[[], int] = _now_ms,
                  schema_file: Path = DEFAULT_SCHEMA, connector: str | None = None, batch_size: int = 1000,
                  max_hops: int = MAX_HOPS, sink_groups: frozenset[str] = frozenset()) -> ReprocessResult:
    """Read `dlq_topic` until caught up (or `max_records`, or `timeout_s`), replay or park each record, audit, commit.

    Each record is validated as the sink `connector` validated its source topic: with the schema that sink recorded
    in the lake (`audit_bucket`), or `schema_file` if it recorded none (or no connector is given).
    `repairs` are names from `repairs.REPAIRS` (ValueError otherwise), applied in that dict's order. A record
    already replayed `max_hops` times is parked. `group_id` may not be one of `sink_groups` (the sinks' consumer
    groups: committing there would move a sink). Raises SluiceError, committing nothing, if any record could not
    be delivered or the audit could not be written.
    """
    names = check_repairs(repairs)
    if group_id in sink_groups:
        raise SluiceError(f"group_id '{group_id}' is a sink's consumer group: reprocessing would move its offsets; "
                          "choose another (default: sluice-dlq-reprocess)")
    if max_records is not None and max_records < 1:
        raise ValueError(f"max_records must be >= 1 or None, got {max_records}")
    started = clock_ms()
    result = ReprocessResult(run_id=new_run_id(started))
    audit = AuditTrail(connections, audit_bucket, audit_prefix)
    audit.check()
    topics = kafka_admin(connections).list_topics(timeout=30).topics
    if dlq_topic not in topics:
        raise SluiceError(f"DLQ topic '{dlq_topic}' does not exist")
    ensure_topic(connections, parking_topic, 1, 3)
    partitions = {name: len(meta.partitions) for name, meta in topics.items()}
    decoders = Decoders(s3_client(connections), audit_bucket, connector, load_schema(schema_file),
                        connections.registry)
    consumer = Consumer(kafka_config(connections, **{
        "group.id": group_id, "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
    }))
    outbox = Outbox(Producer(kafka_config(connections, acks="all", **{"enable.idempotence": True,
                                                                       "linger.ms": 5})))
    tracker = Progress(progress)
    rows: list[dict] = []
    try:
        reading = DlqReader(consumer, dlq_topic, batch_size, max_records, time.monotonic() + timeout_s)
        for batch in reading:
            letters = [DlqRecord.of(m) for m in batch]
            _route(letters, decoders, names, partitions, parking_topic, outbox, rows, result, clock_ms, max_hops)
            result.read += len(letters)
            tracker.update(result.read, reading.total)
        result.caught_up = reading.caught_up
        outbox.flush(timeout_s)  # every replay and parking acknowledged ...
        if rows:
            result.audit_key = audit.write(result.run_id, started, rows)  # ... and audited ...
            result.committed = reading.commit()  # ... before the DLQ moves on
    finally:
        consumer.close()
        decoders.close()
    return result


def _route(letters: list[DlqRecord], decoders: Callable[[str], tuple[Decoder, object]], names: list[str],
           partitions: dict[str, int], parking_topic: str, outbox: Outbox, rows: list[dict], result: ReprocessResult,
           clock_ms: Callable[[], int], max_hops: int = MAX_HOPS) -> None:
    """Triage a batch in bulk per source topic (with its decoder), then send each record to its source topic or
    to the parking topic."""
    by_topic: dict[str, list[DlqRecord]] = defaultdict(list)
    for d in letters:
        if d.source_topic in partitions and d.hops < max_hops:
            by_topic[cast(str, d.source_topic)].append(d)
    verdicts = {}
    for topic, known in by_topic.items():
        decoder, converter = decoders(topic)
        verdicts |= dict(zip((id(d) for d in known), triage(
            decoder, [d.value for d in known], [d.origin for d in known], names, converter), strict=True))
    for letter in letters:
        row = letter.audit_row(result.run_id)
        verdict = verdicts.get(id(letter))
        row["at"] = iso_millis(clock_ms())
        rows.append(row)
        if verdict is not None and verdict.ok:
            row |= {"outcome": "replayed", "rule": verdict.rule, "reason": verdict.reason}
            result.replayed += 1
            result.rules[verdict.rule] += 1
            # back to the partition it came from, so it sits with its key's other records whatever the partitioner
            topic = cast(str, letter.source_topic)  # only letters with a known source topic have a verdict
            source, count = letter.source_partition, partitions[topic]
            partition = source if source is not None and 0 <= source < count else None
            outbox.send(row, topic, partition, letter.key, verdict.value, letter.timestamp_ms,
                        letter.replay_headers(verdict.rule))
            continue
        if verdict is None:
            why = (NO_SOURCE if letter.source_topic is None
                   else f"source topic '{letter.source_topic}' does not exist" if letter.source_topic not in partitions
                   else f"replayed {letter.hops} times and dead-lettered again (max_hops {max_hops})")
            row |= {"outcome": "parked", "rule": "none", "reason": why, "parked_reason": why}
        else:
            row |= {"outcome": "parked", "rule": verdict.rule, "reason": verdict.reason,
                    "parked_reason": verdict.parked_reason}
        result.parked += 1
        result.reasons[row["parked_reason"]] += 1
        outbox.send(row, parking_topic, None, letter.key, letter.value, letter.timestamp_ms,
                    letter.headers + [("sluice.parked.reason", row["parked_reason"].encode())])
