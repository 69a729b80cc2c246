"""Avro values in Confluent's wire format, written as a producer's serializer would."""

import io

import fastavro

from support.sink import sink_config

AVRO = "io.confluent.connect.avro.AvroConverter"


def wire_values(document: dict, records: list[dict], schema_id: int = 1) -> list[bytes]:
    """Each record as magic byte 0, the 4-byte schema id, then its Avro binary in `document`."""
    parsed, header = fastavro.parse_schema(document), b"\0" + schema_id.to_bytes(4, "big")
    values = []
    for record in records:
        body = io.BytesIO()
        fastavro.schemaless_writer(body, parsed, record)
        values.append(header + body.getvalue())
    return values


def config_for(tmp_path, names: dict, topic: str, bucket: str, **extra):
    """A sink config for `topic` into `bucket` with a DLQ and record-time hours: the Avro tests' base."""
    return sink_config(tmp_path, f"{names['name']}-{topic[-4:]}", topics=topic, **{
        "s3.bucket.name": bucket, "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": names["dlq"],
        "errors.deadletterqueue.context.headers.enable": "true", **extra})
