"""The commit ledger's manifest: the README's public format, key for key and in order, read back to the same
value; other formats and versions refused by key."""

import datetime as dt
import json

import pyarrow as pa
import pytest

from ingest.ledger.errors import LedgerError
from ingest.ledger.hour_index import HourIndexEntry
from ingest.ledger.manifest import FileEntry, Manifest, Writer, hours_spanned

FILE_KEY = "topics/events/year=2024/month=01/day=15/hour=10/events+0+0000001200.snappy.parquet"
TABLE = pa.table({"_kafka_offset": pa.array([1200, 1300, 1497], pa.int64()),
                  "event_time": pa.array([1_705_312_800_120, 1_705_316_398_004, 1_705_314_000_000],
                                         pa.timestamp("ms", tz="UTC"))})


def at(hour: int) -> dt.datetime:
    return dt.datetime(2024, 1, 15, hour, tzinfo=dt.UTC)


def readme_manifest() -> Manifest:
    """The README's example round (one file of three rows here)."""
    entry = FileEntry.of_table(FILE_KEY, "year=2024/month=01/day=15/hour=10", 0, TABLE, 81234, "event_time")
    return Manifest.of_round("s3-sink", "events", 0, 1200, 1500, [entry], "events-dlq", [1499, 1203, 1410, 1498],
                             Writer(0, "s3-sink-ab12cd34ef56-0"), 1_705_312_802_311)


def test_a_manifest_is_the_readmes_document_key_for_key_in_order():
    document = readme_manifest().to_json()
    assert list(document) == ["format", "version", "connector", "topic", "partition", "start_offset",
                              "commit_offset", "records", "files", "dlq", "writer", "written_at"]
    assert list(document["files"][0]) == ["key", "encoded_partition", "kafka_partition", "first_offset",
                                          "last_offset", "rows", "size", "min_event_time", "max_event_time"]
    assert document == {
        "format": "sluice-ledger", "version": 1, "connector": "s3-sink", "topic": "events", "partition": 0,
        "start_offset": 1200, "commit_offset": 1500, "records": 7,
        "files": [{"key": FILE_KEY, "encoded_partition": "year=2024/month=01/day=15/hour=10", "kafka_partition": 0,
                   "first_offset": 1200, "last_offset": 1497, "rows": 3, "size": 81234,
                   "min_event_time": "2024-01-15T10:00:00.120Z", "max_event_time": "2024-01-15T10:59:58.004Z"}],
        "dlq": {"topic": "events-dlq", "offsets": [1203, 1410, 1498, 1499]},
        "writer": {"task": 0, "transactional_id": "s3-sink-ab12cd34ef56-0"}, "written_at": "2024-01-15T10:00:02.311Z"}


def test_a_manifest_round_trips_through_json():
    manifest = readme_manifest()
    document = json.loads(json.dumps(manifest.to_json(), indent=2, sort_keys=True))  # as Storage.put_json writes
    assert Manifest.from_json(manifest.key, document) == manifest
    assert Manifest.from_json(manifest.key, document).to_json() == manifest.to_json()
    assert manifest.key == "_sluice/s3-sink/ledger/events/00000/00000000000000001200.json"
    assert (manifest.rows, manifest.dlq_offsets) == (3, (1203, 1410, 1498, 1499))


def test_other_formats_and_versions_are_refused_by_key():
    document = readme_manifest().to_json()
    with pytest.raises(LedgerError, match="ledger manifest k: version 2: this reader knows version 1"):
        Manifest.from_json("k", document | {"version": 2})
    with pytest.raises(LedgerError, match="ledger manifest k: format 'other'"):
        Manifest.from_json("k", document | {"format": "other"})
    with pytest.raises(LedgerError, match="ledger manifest k: no field 'commit_offset'"):
        Manifest.from_json("k", {n: v for n, v in document.items() if n != "commit_offset"})


def test_unknown_fields_are_ignored():
    document = readme_manifest().to_json()
    document["files"][0]["future"] = 1
    assert Manifest.from_json("k", document | {"future": {"x": 1}}).files == readme_manifest().files


def test_a_file_without_event_times_spans_no_hour():
    entry = FileEntry.of_table("k", "e", 0, TABLE.drop_columns(["event_time"]), 1, "event_time")
    assert (entry.min_event_time, entry.max_event_time, entry.hours()) == (None, None, [])


def test_hours_run_from_each_files_first_to_its_last_event_time_in_utc():
    files = [FileEntry("a", "e", 0, 0, 0, 1, 1, "2024-01-15T09:59:00.000Z", "2024-01-15T11:00:00.000Z"),
             FileEntry("b", "e", 0, 1, 1, 1, 1, "2024-01-15T14:30:00.000+02:00", "2024-01-15T12:40:00.000Z")]
    assert hours_spanned(files) == [at(9), at(10), at(11), at(12)]


def test_a_round_has_an_hour_index_entry_per_hour_pointing_at_its_manifest():
    manifest = readme_manifest()
    entries = manifest.hour_index()
    assert [(e.key, e.to_json()) for e in entries] == [
        ("_sluice/s3-sink/hours/events/2024-01-15T10/00000+00000000000000001200.json", {"manifest": manifest.key})]
    assert (entries[0].partition, entries[0].start_offset) == (0, 1200)
    assert HourIndexEntry.from_json(entries[0].key, entries[0].to_json()) == entries[0]
    assert HourIndexEntry.listed("s3-sink", "events", entries[0].key) == entries[0]
