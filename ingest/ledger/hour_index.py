"""The ledger's index by UTC event hour: `_sluice/<connector>/hours/<topic>/<YYYY-MM-DDTHH>/<partition:05d>+
<start_offset:020d>.json` holding `{"manifest": "<manifest key>"}`, one per hour a committed round's files' event
times span, so the rounds of an hour are one listing away whatever the path layout. The sink writes an hour's
entries before the manifest they name; a reader takes (partition, start offset) from the key alone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ingest.ledger.errors import required
from ingest.ledger.keys import hour_index_key, manifest_key, parse_hour_index_key


@dataclass(frozen=True)
class HourIndexEntry:
    key: str  # where it is stored: names the hour, the partition and the round's start offset
    manifest: str  # the key of the round's manifest

    @classmethod
    def of_round(cls, connector: str, topic: str, hour: dt.datetime, partition: int,
                 start_offset: int) -> HourIndexEntry:
        return cls(hour_index_key(connector, topic, hour, partition, start_offset),
                   manifest_key(connector, topic, partition, start_offset))

    @classmethod
    def listed(cls, connector: str, topic: str, key: str) -> HourIndexEntry:
        """The entry a listing found at `key`: the key names the round, so no GET is needed for its manifest."""
        return cls(key, manifest_key(connector, topic, *parse_hour_index_key(key)))

    @property
    def partition(self) -> int:
        return parse_hour_index_key(self.key)[0]

    @property
    def start_offset(self) -> int:
        return parse_hour_index_key(self.key)[1]

    def to_json(self) -> dict:
        return {"manifest": self.manifest}

    @classmethod
    def from_json(cls, key: str, document: dict) -> HourIndexEntry:
        return cls(key, required(document, "manifest", key, "ledger hour index entry"))
