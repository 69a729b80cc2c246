"""`sluice sample-lake`: a raw zone written straight to S3, as the sink would write it, without Kafka.

For dbt developers, tests and benches. Events come from the producer's generator over `hours` hours of event
time, spread over Kafka partitions with consecutive offsets, and land in the sink's layout (record-time hourly
partitions, `<topic>+<partition>+<start offset>` file names, Kafka coordinate columns). It also adds what
a real raw zone holds: events sent twice by a producer retry (same `event_id`, a later offset), late events
(an old event time at a late offset, so a second file in an old hour), and a file that repeats the second
half of another (the same Kafka coordinates twice, as a replay from an uncommitted offset leaves them with
Confluent's non-exactly-once idle flushes).

With `ledger` (a sink's `name`) it also writes the commit ledger that sink would have written, with the types
the sink writes it with (`ingest.ledger`): one committed round per file, tiling each partition's offsets, its
hour index entries, and a watermark per partition saying every offset is committed and every hour complete.
The replay file is in no manifest: a reader of the ledger ignores it, as it ignores the uncommitted file of a
crash.
"""

from __future__ import annotations

import random
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from confluent_kafka import TIMESTAMP_CREATE_TIME, Message

from ingest.config import DEFAULT_SCHEMA, parse_sink_config
from ingest.connections import Connections
from ingest.ledger.hour_index import HourIndexEntry
from ingest.ledger.manifest import FileEntry, Manifest, Writer, time_field
from ingest.ledger.watermark import Watermark
from ingest.produce import generate
from ingest.schema import load_schema
from ingest.sink.commit import UPLOADERS
from ingest.sink.records import RecordConverter
from ingest.sink.storage import Storage
from ingest.sink.writer import object_key, parquet_bytes

HOUR_MS = 3_600_000
WRITER = Writer(task=0, transactional_id=None)  # the manifests' `writer`: one task, no DLQ transaction


@dataclass(frozen=True)
class SampleFile:
    partition: int
    key: str
    encoded: str
    table: pa.Table


def sample_config(topic: str, bucket: str, connections: Connections, name: str = "sample-lake"):
    return parse_sink_config({"name": name, "config": {
        "topics": topic, "s3.bucket.name": bucket, "flush.size": "1000000",
        "format.class": "io.confluent.connect.s3.format.parquet.ParquetFormat",
        "partitioner.class": "io.confluent.connect.storage.partitioner.HourlyPartitioner",
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time", "timezone": "UTC", "locale": "en-US",
    }}, connections)


def sample_streams(count: int, hours: int, start_ms: int, partitions: int, seed: int, duplicate_ratio: float,
                   late_ratio: float, bad_ratio: float) -> dict[int, list]:
    """Per Kafka partition, its records [(value, time ms, key)] in offset order: retries next to their event,
    late events at the end."""
    rng = random.Random(seed)
    streams: dict[int, list] = defaultdict(list)
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
    return dict(sorted(streams.items()))


def runs(codes: np.ndarray) -> list[list[int]]:
    """Row indexes of each file: a run of consecutive offsets in one encoded partition, in offset order."""
    found: list[list[int]] = []
    last = None
    for i, code in enumerate(codes):
        if code != last:
            found.append([])
            last = code
        found[-1].append(i)
    return found


def end_of_last_hour(start_ms: int, hours: int) -> int:
    """The end of the last UTC hour holding the sample's event times."""
    return -(-(start_ms + hours * HOUR_MS) // HOUR_MS) * HOUR_MS


Ledger = tuple[list[HourIndexEntry], list[Manifest], list[Watermark]]


def sample_ledger(connector: str, topic: str, entries: dict[int, list[FileEntry]], ends: dict[int, int],
                  max_record_ms: dict[int, int | None], complete_until_ms: int, now_ms: int) -> Ledger:
    """The ledger's documents in the order the sink writes them: hour index entries, then manifests, then
    watermarks. `entries`: each partition's files in offset order; `ends`: its end offset. A round per file from
    the previous round's commit offset (the first from 0) to the file's last offset + 1; the partition's last
    round ends at its end offset."""
    index, manifests, marks = [], [], []
    for partition, end in sorted(ends.items()):
        files = entries.get(partition, [])
        start, bounds = 0, [f.last_offset + 1 for f in files[:-1]] + [end]
        for files_of_round, commit in zip([[f] for f in files] or [[]], bounds, strict=True):
            manifests.append(Manifest.of_round(connector, topic, partition, start, commit, files_of_round, None, [],
                                               WRITER, now_ms))
            index += manifests[-1].hour_index()
            start = commit
        marks.append(Watermark.at(connector, topic, partition, end, end, max_record_ms.get(partition),
                                  complete_until_ms, now_ms))
    return index, manifests, marks


def write_sample_lake(connections: Connections, bucket: str, topic: str, hours: int, start_ms: int, count: int,
                      partitions: int = 2, seed: int = 0, duplicate_ratio: float = 0.02, late_ratio: float = 0.02,
                      bad_ratio: float = 0.0, ledger: str | None = None) -> dict:
    """Write the raw zone (and with `ledger`, the commit ledger of the sink of that name); returns what it holds:
    keys, files, rows, and with a ledger the number of its manifests, index entries and watermarks."""
    cfg = sample_config(topic, bucket, connections, ledger or "sample-lake")
    schema = load_schema(DEFAULT_SCHEMA)
    converter = RecordConverter(cfg, schema, lambda: 0)
    files: list[SampleFile] = []
    ends, newest = {}, {}
    for partition, items in sample_streams(count, hours, start_ms, partitions, seed, duplicate_ratio, late_ratio,
                                           bad_ratio).items():
        records = [Message(value=v, offset=o, timestamp=(TIMESTAMP_CREATE_TIME, t), key=k)
                   for o, (v, t, k) in enumerate(items)]
        batch = converter.convert(topic, partition, records)
        ends[partition] = batch.end_offset
        newest[partition] = int(batch.times_ms.max()) if len(batch.times_ms) else None
        for index in runs(batch.codes):
            encoded = batch.encodings[batch.codes[index[0]]]
            key = object_key(cfg.topics_dir, topic, encoded, partition, int(batch.offsets[index[0]]), cfg.extension)
            files.append(SampleFile(partition, key, encoded, batch.rows.take(pa.array(np.array(index)))))
    replay = []
    if files:  # the second half of the first file again, as a replay from an uncommitted offset writes it
        first = files[0]
        overlap = first.table.slice(first.table.num_rows // 2)
        start = overlap["_kafka_offset"][0].as_py()
        key = first.key.replace(f"+{first.table['_kafka_offset'][0].as_py():010d}.", f"+{start:010d}.")
        replay.append(SampleFile(first.partition, key, first.encoded, overlap))

    storage = Storage(connections, bucket)
    storage.ensure_bucket(create=True)
    field = time_field(cfg, schema)

    def upload(f: SampleFile) -> FileEntry:
        body = parquet_bytes(f.table, cfg.parquet_codec)
        storage.put(f.key, body)
        return FileEntry.of_table(f.key, f.encoded, f.partition, f.table, len(body), field)

    result = {"bucket": bucket, "topic": topic}
    with ThreadPoolExecutor(UPLOADERS, thread_name_prefix="sample-lake-put") as pool:
        written = list(pool.map(upload, files + replay))
        if ledger:
            entries: dict[int, list[FileEntry]] = defaultdict(list)
            for entry in written[:len(files)]:  # the replay is in no round
                entries[entry.kafka_partition].append(entry)
            complete = end_of_last_hour(start_ms, hours)
            stages = sample_ledger(ledger, topic, entries, ends, newest, complete, complete)
            for documents in stages:  # one stage after the other, as the sink orders them
                list(pool.map(lambda d: storage.put_json(d.key, d.to_json()), documents))
            result |= {"ledger": ledger, "hour_index_entries": len(stages[0]), "manifests": len(stages[1]),
                       "watermarks": len(stages[2])}
    keys = [f.key for f in files + replay]
    return result | {"files": len(keys), "rows": sum(e.rows for e in written), "keys": sorted(keys)}
