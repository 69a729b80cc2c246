"""One real request to each service: the readiness probe of the stack and of `sluice check`."""

from __future__ import annotations

from ingest.cassandra_client import cassandra_cluster
from ingest.clients import kafka_admin, s3_client
from ingest.connections import Connections


def check_kafka(connections: Connections, timeout: float = 5.0) -> str:
    """List topics through the admin API; returns a one-line summary, raises when Kafka does not answer, naming
    the client's own error when it has one (a failed SASL login says so instead of a metadata timeout)."""
    from confluent_kafka import KafkaException

    errors: list = []
    try:
        metadata = kafka_admin(connections, error_cb=errors.append).list_topics(timeout=timeout)
    except KafkaException as exc:
        if errors:
            raise KafkaException(errors[-1]) from exc
        raise
    return (
        f"cluster {metadata.cluster_id}, {len(metadata.brokers)} broker(s), {len(metadata.topics)} topic(s)"
    )


def check_s3(connections: Connections) -> str:
    """List buckets; returns a one-line summary, raises when S3 does not answer."""
    buckets = s3_client(connections).list_buckets()["Buckets"]
    return f"{len(buckets)} bucket(s)"


def check_cassandra(connections: Connections, timeout: float = 5.0) -> str:
    """Read the node's release version; returns a one-line summary, raises when Cassandra does not answer."""
    cluster = cassandra_cluster(connections, connect_timeout=timeout)
    try:
        session = cluster.connect()
        row = session.execute("SELECT release_version FROM system.local", timeout=timeout).one()
        return f"Cassandra {row.release_version}, protocol v{cluster.protocol_version}"
    finally:
        cluster.shutdown()


def check_registry(connections: Connections) -> str:
    """List the schema registry's subjects (Confluent's API); raises when it does not answer."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from ingest.converter import REGISTRY_TIMEOUT_S

    client = SchemaRegistryClient(connections.registry.client_config(timeout=REGISTRY_TIMEOUT_S, **{"max.retries": 0}))
    return f"{len(client.get_subjects())} subject(s)"


CHECKS = {"kafka": check_kafka, "s3": check_s3, "cassandra": check_cassandra, "registry": check_registry}
