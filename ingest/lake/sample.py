"""`sluice sample-lake`: a raw zone written straight to S3, as the sink would write it, without Kafka.

For dbt developers and tests. Events come from the producer's generator over `hours` hours of event time,
spread over Kafka partitions with consecutive offsets, and land in the sink's layout (record-time hourly
partitions, `<topic>+<partition>+<start offset>` file names, Kafka coordinate columns). It also adds what
a real raw zone holds: events sent twice by a producer retry (same `event_id`, a later offset), late events
(an old event time at a late offset, so a second file in an old hour), and a file that repeats the second
half of another (the same Kafka coordinates twice, as a replay from an uncommitted offset leaves them with
Confluent's non-exactly-once idle flushes).
"""

from __future__ import annotations

import io
import random
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.config import DEFAULT_SCHEMA, parse_sink_config
from ingest.connections import Connections
from ingest.produce import generate
from ingest.schema import load_schema
from ingest.sink.records import RecordConverter
from ingest.sink.storage import Storage
from ingest.sink.writer import object_key, parquet_bytes


@dataclass(frozen=True)
class FakeMessage:
    """The few confluent_kafka.Message methods the sink's converter reads."""

    _value: bytes | None
    _offset: int
    _timestamp_ms: int
    _key: bytes

    def value(self):
        return self._value

    def offset(self):
        return self._offset

    def timestamp(self):
        return (1, self._timestamp_ms)

    def key(self):
        return self._key


def sample_config(topic: str, bucket: str, connections: Connections):
    return parse_sink_config({"name": "sample-lake", "config": {
        "topics": topic, "s3.bucket.name": bucket, "flush.size": "1000000",
        "format.class": "io.confluent.connect.s3.format.parquet.ParquetFormat",
        "partitioner.class": "io.confluent.connect.storage.partitioner.HourlyPartitioner",
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time", "timezone": "UTC", "locale": "en-US",
    }}, connections)


def write_sample_lake(connections: Connections, bucket: str, topic: str, hours: int, start_ms: int, count: int,
                      partitions: int = 2, seed: int = 0, duplicate_ratio: float = 0.02, late_ratio: float = 0.02,
                      bad_ratio: float = 0.0) -> dict:
    """Write the raw zone; returns what it holds: keys, rows and distinct valid events per hour."""
    cfg = sample_config(topic, bucket, connections)
    converter = RecordConverter(cfg, load_schema(DEFAULT_SCHEMA), lambda: 0)
    rng = random.Random(seed)
    streams: dict[int, list] = defaultdict(list)  # partition -> [(value, time ms, key)] in offset order
    late: list = []
    for event in generate(count, hours, start_ms, bad_ratio, seed):
        partition = int.from_bytes(event.key[-2:], "big") % partitions
        item = (event.value, event.timestamp_ms, event.key)
        if event.kind == "good" and rng.random() < late_ratio:
            late.append((partition, item))
            continue
        streams[partition].append(item)
        if event.kind == "good" and rng.random() < duplicate_ratio:
            streams[partition].append(item)  # a producer retry: the same event at the next offset
    for partition, item in late:
        streams[partition].append(item)

    storage = Storage(connections, bucket)
    storage.ensure_bucket(create=True)
    keys, rows = [], 0
    for partition, items in sorted(streams.items()):
        messages = [FakeMessage(v, o, t, k) for o, (v, t, k) in enumerate(items)]
        batch = converter.convert(topic, partition, messages)
        # a file per (hour, run of consecutive offsets in that hour), named by its first offset
        runs: dict[tuple[int, int], list[int]] = {}
        last_code, run_start = None, 0
        for i, code in enumerate(batch.codes):
            if code != last_code:
                run_start, last_code = i, code
            runs.setdefault((int(code), run_start), []).append(i)
        for (code, _), index in sorted(runs.items(), key=lambda kv: kv[1][0]):
            table = batch.rows.take(pa.array(np.array(index)))
            start = int(batch.offsets[index[0]])
            key = object_key(cfg.topics_dir, topic, batch.encodings[code], partition, start, cfg.extension)
            storage.put(key, parquet_bytes(table, cfg.parquet_codec))
            keys.append(key)
            rows += table.num_rows
    if keys:  # the second half of the first file again, as a replay from an uncommitted offset writes it
        table = pq.read_table(io.BytesIO(storage.client.get_object(Bucket=bucket, Key=keys[0])["Body"].read()))
        overlap = table.slice(table.num_rows // 2)
        start = overlap["_kafka_offset"][0].as_py()
        replay = keys[0].replace(f"+{table['_kafka_offset'][0].as_py():010d}.", f"+{start:010d}.")
        storage.put(replay, parquet_bytes(overlap, cfg.parquet_codec))
        keys.append(replay)
        rows += overlap.num_rows
    return {"bucket": bucket, "topic": topic, "files": len(keys), "rows": rows, "keys": sorted(keys)}
