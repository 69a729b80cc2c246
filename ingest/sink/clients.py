"""The clients a sink task talks through — its consumer in the connector's group, the object store and the
dead-letter producer — built in one place and handed to the worker and the task, so tests hand them fakes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer

from ingest.clients import kafka_config
from ingest.config import SinkConfig
from ingest.sink.consumer_settings import consumer_settings
from ingest.sink.dlq import DeadLetterQueue
from ingest.sink.storage import Storage


@dataclass(frozen=True)
class SinkClients:
    consumer: Any  # a confluent_kafka.Consumer: polled by the worker, commits the task's offsets
    storage: Any  # Storage: the files, the commit ledger and the watermarks
    dlq: Any | None  # DeadLetterQueue, with errors.tolerance=all and a DLQ topic; else None
    transactional_id: str  # the DLQ producer's, recorded in the manifests


def transactional_id(config: SinkConfig, task_id: int, instance_id: str | None) -> str:
    # Unique per process unless the instance id makes it stable: a restart then fences its predecessor at once.
    return f"{config.name}-{instance_id or uuid.uuid4().hex[:12]}-{task_id}"


def build_clients(config: SinkConfig, task_id: int, instance_id: str | None = None) -> SinkClients:
    """The real clients of task `task_id`. A librdkafka consumer and the DLQ's admin lookup talk to the brokers
    as soon as they exist: tests pass their own SinkClients instead of calling this."""
    storage = Storage(config.connections, config.bucket, config.s3_retry_backoff_ms, config.s3_retry_timeout_ms,
                      timeout=config.s3_timeout_ms / 1000)  # a frozen S3: a timeout, then a retry
    tid = transactional_id(config, task_id, instance_id)
    dlq = None
    if config.errors_tolerance == "all" and config.dlq_topic:
        dlq = DeadLetterQueue(config.client_connections("producer"), config.dlq_topic, config.dlq_context_headers,
                              config.name, task_id, tid, admin_connections=config.client_connections("admin"))
    consumer = Consumer(kafka_config(config.connections, **consumer_settings(config, task_id, instance_id)))
    return SinkClients(consumer, storage, dlq, tid)


ClientFactory = Callable[[SinkConfig, int, str | None], SinkClients]
