"""Reading dead letters back in the DLQ tests: the context headers, a topic's records and ends, crafted events."""

from __future__ import annotations

import json

from confluent_kafka import Message

from ingest.topic_reader import read_to_end, watermarks

CONNECT = "__connect.errors."


def highs(connections, topic: str) -> dict[int, int]:
    return {p: high for p, (_, high) in watermarks(connections, topic).items()}


def read_topic(connections, topic: str, starts: dict[int, int] | None = None) -> list[Message]:
    """Every committed record of `topic` from `starts` (default: the first kept offset) up to its current end."""
    return [m for batch in read_to_end(connections, topic, start=starts) for m in batch]


def headers(m: Message) -> dict[str, str]:
    return {k: v.decode() for k, v in m.headers() or [] if v is not None}


GOOD = {"event_id": "0b6c8f43-2c8f-4f22-9f0a-2d1a0e5e1b11", "event_type": "click",
        "event_time": "2024-01-15T10:00:00.123Z", "payload": {"a": 1}}


def crafted(**changes) -> bytes:
    return json.dumps({k: v for k, v in {**GOOD, **changes}.items() if v is not ...}).encode()
