"""A batch of Kafka messages of one partition -> good rows (typed Arrow, with Kafka coordinates), their
record times and encoded partitions, and the bad ones with why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.config import SinkConfig
from ingest.errors import ConfigError
from ingest.schema import EventSchema, from_avro_schema
from ingest.sink.decode import Decoder
from ingest.sink.partitioner import DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner
from ingest.sink.values import value_reader, with_converter_errors


@dataclass
class BadRecord:
    message: object  # confluent_kafka.Message
    reason: str
    exception_class: str
    stage: str


@dataclass
class PartitionBatch:
    topic: str
    partition: int
    rows: pa.Table
    offsets: np.ndarray
    times_ms: np.ndarray
    codes: np.ndarray
    encodings: list[str]
    end_offset: int  # the offset after the last message of the batch
    bad: list[BadRecord] = field(default_factory=list)
    ignored: int = 0  # null values under behavior.on.null.values=ignore


class RecordConverter:
    def __init__(self, config: SinkConfig, schema: EventSchema, clock_ms: Callable[[], int], stop=None):
        self.config, self.clock_ms = config, clock_ms
        self.values = value_reader(config, stop)  # value.converter: envelope or Avro -> JSON text first
        if hasattr(self.values, "writable"):  # a registered schema the reader would move to must suit this config
            self.values.writable = lambda document: self._check(from_avro_schema(document))
        self.schema_changed = False  # set when another registered schema became the rows' schema
        self._use(schema)
        self.time_partitioner = (
            TimeBasedPartitioner(config.path_format, config.partition_duration_ms, config.timezone)
            if config.time_based else None
        )

    def _use(self, schema: EventSchema) -> None:
        self._check(schema)
        self.schema = schema
        self.decoder = Decoder(schema, self.config.timezone)  # zone-less times are in the connector's timezone
        self.arrow_schema = schema.arrow_schema()

    def _check(self, schema: EventSchema) -> None:
        config = self.config
        if config.timestamp_extractor == "RecordField":
            spec = schema.field(config.timestamp_field)
            if spec is None or spec.kind not in ("timestamp", "integer") or not spec.required:
                raise ConfigError("timestamp.field", config.timestamp_field,
                                  "a required date-time or integer (epoch ms) field of the schema")
        if config.partitioner == "field":
            missing = [f for f in config.partition_fields if schema.field(f) is None]
            if missing:
                raise ConfigError("partition.field.name", ",".join(missing), "fields of the schema")

    def runs(self, messages: list) -> list[list]:
        """The messages (in poll order) in runs to convert one after the other: under schema.compatibility=NONE
        each run has one writer schema, so the files can close between two runs."""
        if not hasattr(self.values, "runs"):
            return [messages]
        return [messages[a:b] for a, b in self.values.runs([m.value() for m in messages])]

    def convert(self, topic: str, partition: int, messages: list) -> PartitionBatch:
        return self.convert_many({(topic, partition): messages})[(topic, partition)]

    def convert_many(self, groups: dict[tuple[str, int], list]) -> dict[tuple[str, int], PartitionBatch]:
        """Each partition's messages (in offset order) as its batch; the values of all of them are decoded in
        one query, whose fixed cost (a few ms) would otherwise be paid once per partition."""
        kept: dict[tuple[str, int], list] = {}
        ignored: dict[tuple[str, int], int] = {}
        for key, messages in groups.items():
            kept[key] = messages
            if self.config.behavior_on_null_values == "ignore":
                kept[key] = [m for m in messages if m.value() is not None]
            ignored[key] = len(messages) - len(kept[key])
        values = [m.value() for messages in kept.values() for m in messages]
        if self.values is None:
            decoded = self.decoder.decode(values)
        else:
            texts, bad_values = self.values.to_json(values)
            if getattr(self.values, "changed", False):
                self._use(from_avro_schema(self.values.reader_document))
                self.schema_changed = True
            decoded = with_converter_errors(self.decoder.decode(texts), bad_values)
        good_index = decoded.good["i"].to_numpy()
        bad_index = np.asarray(decoded.bad_index, dtype=np.int64)
        batches, low = {}, 0
        for key, messages in kept.items():
            high = low + len(messages)
            g0, g1 = np.searchsorted(good_index, [low, high])
            b0, b1 = np.searchsorted(bad_index, [low, high])
            bad = [BadRecord(messages[i - low], r, e, s) for i, r, e, s in zip(
                decoded.bad_index[b0:b1], decoded.bad_reason[b0:b1], decoded.bad_exception[b0:b1],
                decoded.bad_stage[b0:b1], strict=True)]
            good = decoded.good.slice(g0, g1 - g0).drop_columns(["i"])
            local = good_index[g0:g1] - low
            batches[key] = self._batch(key, good, [messages[i] for i in local], _offsets(messages, local),
                                       groups[key][-1].offset() + 1, bad, ignored[key])
            low = high
        return batches

    def _batch(self, key: tuple[str, int], good: pa.Table, good_msgs: list, offsets: np.ndarray, end_offset: int,
               bad: list[BadRecord], ignored: int) -> PartitionBatch:
        topic, partition = key
        kafka_ts = np.fromiter((m.timestamp()[1] for m in good_msgs), dtype=np.int64, count=len(good_msgs))
        columns = good.columns + [
            pa.array([topic] * len(good_msgs), pa.string()),
            pa.array(np.full(len(good_msgs), partition, dtype=np.int32)),
            pa.array(offsets),
            pa.array(kafka_ts, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            pa.array([m.key() for m in good_msgs], pa.binary()),
        ]
        rows = pa.Table.from_arrays(columns, schema=self.arrow_schema)
        times = self._times(rows, kafka_ts)
        codes, encodings = self._encode(rows, partition, times)
        return PartitionBatch(topic, partition, rows, offsets, times, codes, encodings, end_offset, bad, ignored)

    def _times(self, rows: pa.Table, kafka_ts: np.ndarray) -> np.ndarray:
        extractor = self.config.timestamp_extractor
        if extractor == "Record":
            return kafka_ts
        if extractor == "Wallclock":
            return np.full(rows.num_rows, self.clock_ms(), dtype=np.int64)
        column = rows[self.config.timestamp_field]
        if pa.types.is_timestamp(column.type):
            column = pc.divide(column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()), 1000)
        return column.to_numpy().astype(np.int64)

    def _encode(self, rows: pa.Table, partition: int, times: np.ndarray) -> tuple[np.ndarray, list[str]]:
        if self.time_partitioner is not None:
            return self.time_partitioner.encode(times)
        if self.config.partitioner == "field":
            return FieldPartitioner(self.config.partition_fields).encode(
                [rows[f].to_pylist() for f in self.config.partition_fields]
            )
        return DefaultPartitioner().encode(partition, rows.num_rows)


def _offsets(messages: list, chosen: np.ndarray) -> np.ndarray:
    """The offsets of messages[chosen]: read from each message only when the batch's offsets have gaps (a compacted
    topic, transaction markers); a partition's messages are in offset order, so first..last without a gap is all."""
    if messages and messages[-1].offset() - messages[0].offset() + 1 == len(messages):
        return (messages[0].offset() + chosen).astype(np.int64)
    return np.fromiter((messages[i].offset() for i in chosen), dtype=np.int64, count=len(chosen))
