"""The schema an Avro sink writes: `sluice.schema.file` when given, else the latest version registered for its
topics' subjects (`<topic>-value`, Confluent's TopicNameStrategy) when the sink starts.

A subject not registered yet is waited for, as Kafka Connect waits for a topic; a registry that does not answer
is asked again with backoff. Both end when the sink is asked to stop.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time

from ingest.config import SinkConfig
from ingest.errors import ConfigError
from ingest.schema import EventSchema, from_avro_schema, load_avro_schema, load_schema

log = logging.getLogger("sluice.sink")


def event_schema(config: SinkConfig) -> EventSchema:
    """The EventSchema of the sink's rows."""
    if config.reader_schema is not None:
        return from_avro_schema(config.reader_schema)
    return load_schema(config.schema_file)


def avro_reader_document(config: SinkConfig) -> dict:
    return config.reader_schema if config.reader_schema is not None else load_avro_schema(config.schema_file)


def resolve(config: SinkConfig, stop: threading.Event, client=None, sleep=time.sleep) -> SinkConfig | None:
    """`config` with its reader schema; None if `stop` was set while waiting for the registry."""
    if config.value_converter.kind != "avro" or config.schema_file is not None:
        return config
    if not config.topics:
        raise ConfigError("sluice.schema.file", None,
                          "an Avro schema file (.avsc): with topics.regex the sink cannot know its subjects up front")
    if client is None:
        from confluent_kafka.schema_registry import SchemaRegistryClient

        client = SchemaRegistryClient(config.value_converter.registry_config())
    documents, ids = {}, {}  # topic -> the latest schema and its version
    for topic in config.topics:
        latest = _latest(client, f"{topic}-value", stop, sleep)
        if latest is None:
            return None
        documents[topic], ids[topic] = latest
    if len({json.dumps(d, sort_keys=True) for d in documents.values()}) > 1:
        raise ConfigError("sluice.schema.file", None,
                          f"an Avro schema file (.avsc): topics {', '.join(config.topics)} have different latest "
                          "registered schemas, and one sink writes one schema")
    first = config.topics[0]
    return dataclasses.replace(config, reader_schema=documents[first], reader_subject=f"{first}-value",
                               reader_version=ids[first])


def _latest(client, subject: str, stop: threading.Event, sleep) -> tuple[dict, int] | None:
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    wait, said_missing = 0.5, False
    while not stop.is_set():
        try:
            registered = client.get_latest_version(subject)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                if not said_missing:
                    log.warning("schema registry has no subject %s yet: waiting for it to be registered", subject)
                    said_missing = True
                sleep(2.0)
                continue
            problem = exc
        except Exception as exc:  # connection refused, timeouts: the registry is away
            problem = exc
        else:
            document = json.loads(registered.schema.schema_str)
            from_avro_schema(document)  # a schema Sluice cannot write fails here, naming the field
            log.info("reader schema: subject %s version %s (id %s)", subject, registered.version,
                     registered.schema_id)
            return document, registered.version
        log.warning("schema registry: %s; asking again in %.1fs", problem, wait)
        sleep(wait)
        wait = min(wait * 2, 10.0)
    return None
