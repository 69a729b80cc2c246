"""The completeness watermark document, typed: per topic and Kafka partition, what the sink has committed and up
to when, at `_sluice/<connector>/watermarks/<topic>/<partition>.json`.

`complete_until` is the record time before which the partition will send no more records to the lake; an hour
is complete when every partition's `complete_until` is at or past the hour's end. Public format: see the
README's "Completeness watermark". Readers ignore fields they do not know.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.ledger.errors import required
from ingest.ledger.keys import watermark_key
from ingest.timefmt import iso_millis

KIND = "watermark"  # how a LedgerError names the document


def iso(ms: int | None) -> str | None:
    return None if ms is None else iso_millis(ms)


@dataclass(frozen=True)
class Watermark:
    connector: str
    topic: str
    partition: int
    committed_offset: int | None
    end_offset: int | None  # the partition's high watermark when it was written, if known
    lag: int | None
    max_record_time: str | None  # ISO 8601 (UTC, milliseconds), as written
    complete_until: str | None
    complete_until_ms: int | None
    updated_at: str | None

    @classmethod
    def at(cls, connector: str, topic: str, partition: int, committed_offset: int, end_offset: int | None,
           max_record_ms: int | None, complete_until_ms: int | None, now_ms: int) -> Watermark:
        """The document the sink writes after committing `committed_offset` at `now_ms`."""
        return cls(connector, topic, partition, committed_offset, end_offset,
                   None if end_offset is None else max(end_offset - committed_offset, 0), iso(max_record_ms),
                   iso(complete_until_ms), complete_until_ms, iso(now_ms))

    @property
    def key(self) -> str:
        return watermark_key(self.connector, self.topic, self.partition)

    def to_json(self) -> dict:
        return {
            "connector": self.connector, "topic": self.topic, "partition": self.partition,
            "committed_offset": self.committed_offset, "end_offset": self.end_offset, "lag": self.lag,
            "max_record_time": self.max_record_time, "complete_until": self.complete_until,
            "complete_until_ms": self.complete_until_ms, "updated_at": self.updated_at,
        }

    @classmethod
    def from_json(cls, key: str, document: dict) -> Watermark:
        """The watermark stored at `key`; a LedgerError naming it if it lacks its connector, topic or partition."""
        return cls(required(document, "connector", key, KIND), required(document, "topic", key, KIND),
                   int(required(document, "partition", key, KIND)), document.get("committed_offset"),
                   document.get("end_offset"), document.get("lag"), document.get("max_record_time"),
                   document.get("complete_until"), document.get("complete_until_ms"), document.get("updated_at"))
