"""The dead-letter queue: bad records go to a topic unchanged, with Kafka Connect's error context headers."""

from __future__ import annotations

import threading
import traceback

from confluent_kafka import KafkaError, Producer

from ingest.clients import kafka_config
from ingest.connections import Connections
from ingest.errors import SluiceError

HEADER_PREFIX = "__connect.errors."
EXECUTING_CLASS = {"VALUE_CONVERTER": "org.apache.kafka.connect.json.JsonConverter",
                   "TASK_PUT": "io.confluent.connect.s3.S3SinkTask"}


class DeadLetterQueue:
    def __init__(self, connections: Connections, topic: str, context_headers: bool, connector: str, task_id: int):
        self.topic, self.context_headers = topic, context_headers
        self.connector, self.task_id = connector, task_id
        self.producer = Producer(kafka_config(connections, acks="all", **{"enable.idempotence": True,
                                                                           "linger.ms": 5}))
        self._failures: list[str] = []
        self._lock = threading.Lock()

    def _delivered(self, err: KafkaError | None, _msg) -> None:
        if err is not None:
            with self._lock:
                self._failures.append(str(err))

    def send(self, message, reason: str, exception_class: str, stage: str) -> None:
        headers = list(message.headers() or [])
        if self.context_headers:
            context = {
                "topic": message.topic(), "partition": str(message.partition()), "offset": str(message.offset()),
                "connector.name": self.connector, "task.id": str(self.task_id), "stage": stage,
                "class.name": EXECUTING_CLASS[stage], "exception.class.name": exception_class,
                "exception.message": reason,
                "exception.stacktrace": "".join(traceback.format_stack(limit=1)) + f"{exception_class}: {reason}",
            }
            headers += [(HEADER_PREFIX + k, v.encode()) for k, v in context.items()]
        self.producer.produce(self.topic, key=message.key(), value=message.value(), headers=headers,
                              timestamp=message.timestamp()[1], on_delivery=self._delivered)
        self.producer.poll(0)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every dead letter is acknowledged; raise if any was not (offsets must not move then)."""
        remaining = self.producer.flush(timeout)
        with self._lock:
            failures, self._failures = self._failures, []
        if remaining or failures:
            raise SluiceError(f"dead-letter queue {self.topic}: {remaining} unsent, failures: {failures[:3]}")
