"""Avro values in Confluent's wire format, written as a producer's serializer would."""

import io

import fastavro


def wire_values(document: dict, records: list[dict], schema_id: int = 1) -> list[bytes]:
    """Each record as magic byte 0, the 4-byte schema id, then its Avro binary in `document`."""
    parsed, header = fastavro.parse_schema(document), b"\0" + schema_id.to_bytes(4, "big")
    values = []
    for record in records:
        body = io.BytesIO()
        fastavro.schemaless_writer(body, parsed, record)
        values.append(header + body.getvalue())
    return values
