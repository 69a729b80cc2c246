"""What the connector's value.converter makes of a record value before the JSON decoder sees it: nothing
(schemaless JSON), the envelope's payload (JsonConverter, schemas.enable), or Avro read as JSON (AvroConverter)."""

from __future__ import annotations

import json
import threading
import time

from ingest.avro import BadValue, WireFormatReader
from ingest.config import SinkConfig
from ingest.sink.decode import CONVERTER_EXCEPTION, Decoded

ENVELOPE_REASON = ('JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain '
                   'additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false')


class EnvelopeReader:
    """Kafka's JsonConverter with schemas.enable: each value is {"schema": ..., "payload": ...}."""

    def to_json(self, values: list[bytes | None]) -> tuple[list[bytes | None], list[BadValue]]:
        texts: list[bytes | None] = []
        bad: list[BadValue] = []
        for i, value in enumerate(values):
            if value is None:
                texts.append(None)
                continue
            try:
                envelope = json.loads(value)
            except (ValueError, UnicodeDecodeError) as exc:
                texts.append(None)
                bad.append(BadValue(i, f"Converting byte[] to Kafka Connect data failed due to serialization "
                                       f"error: {exc}"))
                continue
            if not isinstance(envelope, dict) or set(envelope) != {"schema", "payload"}:
                texts.append(None)
                bad.append(BadValue(i, ENVELOPE_REASON))
                continue
            payload = envelope["payload"]
            texts.append(None if payload is None else json.dumps(payload, separators=(",", ":")).encode())
        return texts, bad


def value_reader(config: SinkConfig, stop: threading.Event | None = None):
    """The converter's reader for this config; None for schemaless JSON (the decoder reads values as they are).
    An Avro reader waits for a registry that does not answer until it does, or until `stop` is set."""
    converter = config.value_converter
    if converter.kind == "avro":
        from confluent_kafka.schema_registry import SchemaRegistryClient

        from ingest.sink.reader_schema import avro_reader_document

        return WireFormatReader(avro_reader_document(config), SchemaRegistryClient(converter.registry_config()),
                                reader_subject=config.reader_subject, reader_version=config.reader_version,
                                compatibility=converter.compatibility, stop=stop,
                                sleep=stop.wait if stop is not None else time.sleep)
    return EnvelopeReader() if converter.envelope else None


def with_converter_errors(decoded: Decoded, bad: list[BadValue]) -> Decoded:
    """The decoder saw a converter's bad value as a null; give it the converter's reason instead."""
    if not bad:
        return decoded
    reasons = {b.index: b.reason for b in bad}
    stages = [("VALUE_CONVERTER" if i in reasons else s) for i, s in zip(decoded.bad_index, decoded.bad_stage,
                                                                          strict=True)]
    return Decoded(
        good=decoded.good,
        bad_index=decoded.bad_index,
        bad_reason=[reasons.get(i, r) for i, r in zip(decoded.bad_index, decoded.bad_reason, strict=True)],
        bad_exception=[CONVERTER_EXCEPTION if i in reasons else e
                       for i, e in zip(decoded.bad_index, decoded.bad_exception, strict=True)],
        bad_stage=stages,
    )
