"""Clients for the configured services, built in one place: Kafka (config, admin, topics), S3, Cassandra."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ingest.connections import CassandraSettings, Connections, S3Settings
from ingest.errors import ConfigError

if TYPE_CHECKING:
    from cassandra.cluster import Cluster
    from confluent_kafka.admin import AdminClient

log = logging.getLogger("sluice.clients")

# cassandra-driver's ConsistencyLevel names, as the DataStax sink's `consistencyLevel` keys take them
CONSISTENCY_LEVELS = ("ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE")

# A consumer's prefetch, as the sink sets it, bounded: 16 MiB of records queued ahead (64 MiB by default), 20,000
# per partition (100,000), and a fetcher that resumes 10 ms after the queue drained (1 s by default, which stalled
# the sink whenever its queue had filled). The sink's consumer.override.* keys still win.
FETCH_SETTINGS = {"fetch.max.bytes": 4 * 1024 * 1024, "queued.max.messages.kbytes": 16 * 1024,
                  "queued.min.messages": 20_000, "fetch.queue.backoff.ms": 10}


def kafka_config(connections: Connections, **extra: object) -> dict[str, object]:
    """librdkafka settings for the configured bootstrap servers, plus `extra`."""
    return {"bootstrap.servers": connections.kafka_bootstrap, **extra}


def kafka_admin(connections: Connections) -> AdminClient:
    from confluent_kafka.admin import AdminClient

    return AdminClient(kafka_config(connections))


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
    """A boto3 S3 client; path-style addressing so S3Proxy, moto and MinIO endpoints work; empty keys: boto3's
    credential chain; `timeout` for connecting and for each read."""
    import boto3
    from botocore.config import Config

    s3 = s3.s3 if isinstance(s3, Connections) else s3
    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint or None,
        region_name=s3.region,
        aws_access_key_id=s3.access_key_id or None,
        aws_secret_access_key=s3.secret_access_key or None,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"},
                      connect_timeout=timeout, read_timeout=timeout),
    )


def consistency_level(name: str) -> int:
    """cassandra-driver's ConsistencyLevel for a name; a ConfigError names the allowed ones."""
    from cassandra import ConsistencyLevel

    if name.upper() not in CONSISTENCY_LEVELS:
        raise ConfigError("consistency", name, ", ".join(CONSISTENCY_LEVELS))
    return getattr(ConsistencyLevel, name.upper())


def cassandra_cluster(cassandra: CassandraSettings | Connections, consistency: str | None = None,
                      connect_timeout: float = 10.0, request_timeout: float = 30.0) -> Cluster:
    """A driver Cluster (protocol v5, token-aware in the local DC); call `.connect()` and `.shutdown()`."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    c = cassandra.cassandra if isinstance(cassandra, Connections) else cassandra
    profile = {"consistency_level": consistency_level(consistency)} if consistency else {}
    auth = PlainTextAuthProvider(username=c.username, password=c.password) if c.username else None
    return Cluster(
        contact_points=list(c.hosts),
        port=c.port,
        auth_provider=auth,
        execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=c.local_dc)),
            request_timeout=request_timeout, **profile,
        )},
        protocol_version=5,
        connect_timeout=connect_timeout,
        control_connection_timeout=connect_timeout,
    )
