"""One file of the raw zone: its key (Confluent's naming) and its bytes (Parquet or JSON lines)."""

from __future__ import annotations

import io

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.schema import EventSchema

PYARROW_CODECS = {"none": "none", "snappy": "snappy", "gzip": "gzip", "brotli": "brotli", "lz4": "lz4",
                  "zstd": "zstd"}


def object_key(topics_dir: str, topic: str, encoded: str, kafka_partition: int, start_offset: int, ext: str) -> str:
    """`<topics.dir>/<topic>/<encoded partition>/<topic>+<kafka partition>+<start offset, 10 digits><ext>`."""
    prefix = f"{topics_dir}/" if topics_dir else ""
    return f"{prefix}{topic}/{encoded}/{topic}+{kafka_partition}+{start_offset:010d}{ext}"


def parquet_bytes(table: pa.Table, codec: str) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression=PYARROW_CODECS[codec])
    return sink.getvalue()


def json_lines_bytes(table: pa.Table, schema: EventSchema) -> bytes:
    """One JSON object per line; JSON-text fields (payload) go back in as JSON, not as strings."""
    json_fields = {f.name for f in schema.fields if f.kind == "json"}
    columns = ", ".join(
        f'"{name}"::json as "{name}"' if name in json_fields else f'"{name}"' for name in table.column_names
    )
    con = duckdb.connect()
    try:
        con.register("file_rows", table)
        rows = con.sql(f"select to_json(r)::varchar as line from (select {columns} from file_rows) r").fetchall()
    finally:
        con.close()
    return "".join(line + "\n" for (line,) in rows).encode()


def file_bytes(table: pa.Table, fmt: str, codec: str, schema: EventSchema) -> bytes:
    return parquet_bytes(table, codec) if fmt == "parquet" else json_lines_bytes(table, schema)
