import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.config import DEFAULT_SCHEMA
from ingest.schema import load_schema
from ingest.sink.writer import file_bytes, json_lines_bytes, object_key, parquet_bytes

TABLE = pa.table({"event_type": ["click", "view"], "payload": ['{"a":[1,2]}', "{}"], "amount": [3.0, None]})


def test_object_key_is_the_connectors():
    assert object_key("topics", "events", "year=2024/month=01/day=15/hour=10", 0, 0, ".snappy.parquet") == (
        "topics/events/year=2024/month=01/day=15/hour=10/events+0+0000000000.snappy.parquet"
    )


def test_object_key_without_topics_dir_starts_at_the_topic():
    assert object_key("", "events", "partition=3", 3, 1_234_567, ".json") == (
        "events/partition=3/events+3+0001234567.json"
    )


@pytest.mark.parametrize("codec", ["none", "snappy", "gzip", "zstd"])
def test_parquet_bytes_keep_the_rows_with_the_codec(codec):
    parquet = pq.ParquetFile(io.BytesIO(parquet_bytes(TABLE, codec)))
    assert parquet.read().equals(TABLE)
    assert parquet.metadata.row_group(0).column(0).compression == ("UNCOMPRESSED" if codec == "none" else
                                                                   codec.upper())


def test_json_lines_put_json_fields_back_as_json():
    assert json_lines_bytes(TABLE, load_schema(DEFAULT_SCHEMA)) == (
        b'{"event_type":"click","payload":{"a":[1,2]},"amount":3.0}\n'
        b'{"event_type":"view","payload":{},"amount":null}\n'
    )


def test_file_bytes_picks_the_format():
    schema = load_schema(DEFAULT_SCHEMA)
    assert file_bytes(TABLE, "json", "snappy", schema) == json_lines_bytes(TABLE, schema)
    assert pq.read_table(io.BytesIO(file_bytes(TABLE, "parquet", "snappy", schema))).equals(TABLE)
