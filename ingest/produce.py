"""`sluice produce`: realistic events for demos, tests and benchmarks, some malformed on purpose.

Events spread evenly over `hours` of event time (with a little jitter, so hours interleave at their edges),
keyed by user, with the Kafka timestamp set to the event time. The same seed and start give the same events.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Producer

from ingest.clients import ensure_topic, kafka_config
from ingest.connections import Connections
from ingest.timefmt import iso_millis

EVENT_TYPES = ("page_view", "add_to_cart", "checkout", "search", "login", "logout")
SOURCES = ("web", "ios", "android")
USER_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) Chrome/131.0",
)
BAD_KINDS = ("not_json", "missing_field", "wrong_type", "bad_timestamp", "out_of_range_timestamp", "null_value")
JITTER_MS = 30_000


@dataclass(frozen=True)
class ProducedEvent:
    key: bytes
    value: bytes | None
    timestamp_ms: int
    kind: str  # "good" or one of BAD_KINDS


def _event(rng: random.Random, ms: int) -> dict:
    event_type = rng.choice(EVENT_TYPES)
    payload = {"page": f"/products/{rng.randrange(1000)}", "referrer": rng.choice(["search", "email", "direct"])}
    if event_type == "search":
        payload = {"query": rng.choice(["shoes", "red shirt", "laptop bag", "tent"]), "results": rng.randrange(50)}
    event = {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": event_type,
        "event_time": iso_millis(ms),
        "payload": payload,
        "user_id": f"user-{rng.randrange(5000):04d}",
        "session_id": f"s-{rng.getrandbits(32):08x}",
        "source": rng.choice(SOURCES),
        "user_agent": rng.choice(USER_AGENTS),
    }
    if event_type == "checkout":
        event["amount"] = round(rng.uniform(5, 500), 2)
    return event


def _spoil(rng: random.Random, event: dict, kind: str) -> bytes | None:
    if kind == "null_value":
        return None
    if kind == "not_json":
        return json.dumps(event).encode()[:-7] + b"}oops"
    if kind == "missing_field":
        event.pop(rng.choice(["event_id", "event_type", "event_time", "payload"]))
    elif kind == "wrong_type":
        event[rng.choice(["event_type", "event_id"])] = rng.randrange(10_000)
    elif kind == "bad_timestamp":
        event["event_time"] = rng.choice(["yesterday", "2024-13-45T99:00:00Z", ""])
    elif kind == "out_of_range_timestamp":
        event["event_time"] = "2150-01-01T00:00:00.000Z"
    return json.dumps(event).encode()


def generate(count: int, hours: float, start_ms: int, bad_ratio: float = 0.0, seed: int = 0,
             jitter_ms: int = JITTER_MS, encode=None):
    """Yield `count` ProducedEvents: reproducible for a seed and start. `encode(event, kind)`, if given, makes each
    value instead of JSON (ingest.avro_events: Avro in Confluent's wire format)."""
    rng = random.Random(seed)
    span = int(hours * 3_600_000)
    for i in range(count):
        ms = start_ms + (span * i) // max(count, 1) + rng.randint(-jitter_ms, jitter_ms)
        ms = min(max(ms, start_ms), start_ms + span - 1)
        event = _event(rng, ms)
        kind = rng.choice(BAD_KINDS) if rng.random() < bad_ratio else "good"
        if encode is not None:
            if kind != "good":
                _spoil(rng, dict(event), kind)  # draws what the JSON spoiling draws: the same seed, the same events
            value = encode(event, kind)
        else:
            value = json.dumps(event, separators=(",", ":")).encode() if kind == "good" else _spoil(rng, event, kind)
        yield ProducedEvent(event["user_id"].encode(), value, ms, kind)


def produce(connections: Connections, topic: str, count: int, hours: float, start_ms: int,
            bad_ratio: float = 0.0, seed: int = 0, rate: float = 0.0, partitions: int = 3,
            progress: bool = True, deliveries: list | None = None, jitter_ms: int = JITTER_MS,
            value_format: str = "json", avro_schema: Path | None = None) -> Counter:
    """Send the events; returns how many of each kind were acknowledged.

    `deliveries`, if given, receives (partition, offset, kind) of every acknowledged event.
    """
    from tqdm import tqdm

    ensure_topic(connections, topic, partitions)
    encode = None
    if value_format == "avro":
        from ingest.avro_events import encoder, register

        encode = encoder(*register(connections, topic, *([avro_schema] if avro_schema else [])))
    producer = Producer(kafka_config(connections, acks="all", **{
        "enable.idempotence": True, "linger.ms": 20, "batch.num.messages": 10_000,
        "queue.buffering.max.messages": 500_000, "compression.type": "lz4",
    }))
    sent: Counter = Counter()
    failed: list[str] = []

    def delivered(err, msg, kind: str) -> None:
        if err is None:
            sent[kind] += 1
            if deliveries is not None:
                deliveries.append((msg.partition(), msg.offset(), kind))
        else:
            failed.append(str(err))

    began = time.monotonic()
    with tqdm(total=count, unit="ev", desc=f"produce {topic}", disable=not progress, mininterval=0.5) as bar:
        for i, event in enumerate(generate(count, hours, start_ms, bad_ratio, seed, jitter_ms, encode)):
            while True:
                try:
                    producer.produce(topic, key=event.key, value=event.value, timestamp=event.timestamp_ms,
                                     on_delivery=lambda err, msg, kind=event.kind: delivered(err, msg, kind))
                    break
                except BufferError:  # local queue full: let deliveries drain
                    producer.poll(0.1)
            producer.poll(0)
            if rate > 0:
                ahead = (i + 1) / rate - (time.monotonic() - began)
                if ahead > 0:
                    time.sleep(ahead)
            if i % 1000 == 999:
                bar.update(1000)
        bar.update(count - bar.n)
        remaining = producer.flush(120)
    if remaining or failed:
        raise RuntimeError(f"{remaining} events unsent, {len(failed)} failed: {failed[:3]}")
    return sent
