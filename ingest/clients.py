"""Clients for the configured services, built in one place: Kafka (config, admin, topics) and S3; Cassandra's are in
`ingest.cassandra_client`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ingest.connections import Connections, S3Settings

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

log = logging.getLogger("sluice.clients")

# A consumer's prefetch, as the sink sets it, bounded: 16 MiB of records queued ahead (64 MiB by default), 20,000
# per partition (100,000), and a fetcher that resumes 10 ms after the queue drained (1 s by default, which stalled
# the sink whenever its queue had filled). The sink's consumer.override.* keys still win.
FETCH_SETTINGS = {"fetch.max.bytes": 4 * 1024 * 1024, "queued.max.messages.kbytes": 16 * 1024,
                  "queued.min.messages": 20_000, "fetch.queue.backoff.ms": 10}


# The S3 operations that write an object, which take the server-side encryption parameters.
SSE_OPERATIONS = ("PutObject", "CreateMultipartUpload", "CopyObject")


def kafka_config(connections: Connections, **extra: object) -> dict[str, object]:
    """librdkafka settings of every Kafka client Sluice opens: the bootstrap servers and the SLUICE_KAFKA_* security
    settings (SASL, TLS), plus `extra`."""
    return {**connections.kafka_settings(), **extra}


def kafka_admin(connections: Connections, **extra: object) -> AdminClient:
    from confluent_kafka.admin import AdminClient

    return AdminClient(kafka_config(connections, **extra))


def ensure_topic(connections: Connections, topic: str, partitions: int = 1, replication_factor: int = 1,
                 config: dict[str, str] | None = None) -> None:
    """Create the topic (with topic `config`) if missing, with no more replicas than the cluster has brokers; a
    topic created meanwhile by another process is fine."""
    from confluent_kafka.admin import NewTopic

    admin = kafka_admin(connections)
    metadata = admin.list_topics(timeout=30)
    if topic in metadata.topics:
        return
    replicas = min(replication_factor, max(len(metadata.brokers), 1))
    if replicas < replication_factor:
        log.warning("topic %s: %d broker(s), so replication factor %d instead of %d",
                    topic, len(metadata.brokers), replicas, replication_factor)
    new = NewTopic(topic, num_partitions=partitions, replication_factor=replicas, config=config or {})
    future = admin.create_topics([new])[topic]
    try:
        future.result(timeout=30)
    except Exception as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise


def topic_config(connections: Connections, topic: str, name: str) -> str | None:
    """One config value of a topic (e.g. max.message.bytes), or None if it cannot be read."""
    from confluent_kafka.admin import ConfigResource

    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    try:
        admin = kafka_admin(connections)  # kept alive until the answer is in
        entries = admin.describe_configs([resource])[resource].result(timeout=30)
    except Exception as exc:  # an older broker, no rights: the caller falls back to a default
        log.warning("topic %s: cannot read %s (%s)", topic, name, exc)
        return None
    entry = entries.get(name)
    return entry.value if entry is not None else None


def s3_client(s3: S3Settings | Connections, timeout: float = 60.0):
    """A boto3 S3 client: path-style addressing unless turned off (S3Proxy, moto and MinIO want it; Confluent's
    s3.path.style.access.enabled), empty keys: boto3's credential chain, a session token for temporary keys, a CA
    bundle for an endpoint with a private CA; `timeout` for connecting and for each read. With server-side
    encryption configured, every object the client writes (PutObject, multipart uploads, copies) asks for it."""
    import boto3
    from botocore.config import Config

    s3 = s3.s3 if isinstance(s3, Connections) else s3
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint or None,
        region_name=s3.region,
        aws_access_key_id=s3.access_key_id or None,
        aws_secret_access_key=s3.secret_access_key or None,
        aws_session_token=s3.session_token or None,
        verify=s3.ca_bundle or None,
        config=Config(s3={"addressing_style": "path" if s3.path_style else "virtual"},
                      retries={"max_attempts": 3, "mode": "standard"},
                      connect_timeout=timeout, read_timeout=timeout),
    )
    encryption = s3.put_args()
    if encryption:
        def encrypt(params, **_):
            params.update(encryption)

        for operation in SSE_OPERATIONS:
            client.meta.events.register(f"before-parameter-build.s3.{operation}", encrypt)
    return client
