"""The sink's recording of each topic's schema in the lake (the documents: `ingest/schema_document.py`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path

from ingest.ledger.keys import schema_key
from ingest.schema import EventSchema
from ingest.schema_document import CONVERTER_KEY, json_bytes, schema_document


class SchemaRecorder:
    """The sink's recording: each topic's schema once per process (its tasks share it), when first assigned, so
    before anything of the topic is committed. A PUT that fails (after Storage's retries) raises: the task ends."""

    def __init__(self, storage, connector: str, schema: Path | EventSchema, converter: str | None = None):
        self.storage, self.connector, self.converter = storage, connector, converter
        self.document = self._document(schema_document(schema) if isinstance(schema, Path) else json_bytes(schema))
        self.recorded: set[str] = set()
        self.lock = threading.Lock()

    def _document(self, body: bytes) -> bytes:
        if self.converter is None:
            return body
        return json.dumps(json.loads(body) | {CONVERTER_KEY: self.converter}, indent=2).encode()

    def change(self, schema: EventSchema) -> None:
        """Another schema became the rows' (a registered version the sink moved to): recorded again for each topic."""
        document = self._document(json_bytes(schema))
        with self.lock:
            if document != self.document:
                self.document = document
                for topic in sorted(self.recorded):
                    self.storage.put(schema_key(self.connector, topic), document)

    def __call__(self, topics: Iterable[str]) -> None:
        with self.lock:
            for topic in sorted(set(topics) - self.recorded):
                self.storage.put(schema_key(self.connector, topic), self.document)  # the same bytes on every start
                self.recorded.add(topic)
