"""Reading the schema a sink recorded in the lake for a topic (`_sluice/<connector>/schemas/<topic>.json`; the
documents: `ingest/schema_document.py`), as the DLQ job and the raw asset's audit validate with it."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from ingest.ledger.keys import schema_key
from ingest.schema import EventSchema, from_json_schema
from ingest.schema_document import CONVERTER_KEY


def lake_schema(client, bucket: str, connector: str, topic: str) -> EventSchema | None:
    """The schema the sink `connector` recorded for `topic`, or None if it recorded none."""
    recorded = lake_record(client, bucket, connector, topic)
    return None if recorded is None else recorded[0]


def lake_record(client, bucket: str, connector: str, topic: str) -> tuple[EventSchema, str | None] | None:
    """The schema the sink `connector` recorded for `topic` and its converter ("avro", "envelope"; None for
    schemaless JSON), or None if it recorded none."""
    try:
        body = client.get_object(Bucket=bucket, Key=schema_key(connector, topic))["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    document = json.loads(body)
    return from_json_schema(document), document.get(CONVERTER_KEY)
