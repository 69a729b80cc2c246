"""Clients for the configured services, built from `Connections` in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cassandra.cluster import Cluster
    from confluent_kafka.admin import AdminClient

    from ingest.connections import Connections


def kafka_config(conn: Connections, **extra: object) -> dict[str, object]:
    """librdkafka settings for the configured bootstrap servers, plus `extra`."""
    return {"bootstrap.servers": conn.kafka_bootstrap, **extra}


def kafka_admin(conn: Connections) -> AdminClient:
    from confluent_kafka.admin import AdminClient

    return AdminClient(kafka_config(conn))


def s3_client(conn: Connections):
    """A boto3 S3 client; path-style addressing so moto and MinIO endpoints work."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=conn.s3_endpoint or None,
        region_name=conn.s3_region,
        aws_access_key_id=conn.s3_access_key_id or None,
        aws_secret_access_key=conn.s3_secret_access_key or None,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
    )


def cassandra_cluster(conn: Connections, connect_timeout: float = 10.0) -> Cluster:
    """A driver Cluster for the configured contact points; call `.connect()` and `.shutdown()`."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    auth = None
    if conn.cassandra_username:
        auth = PlainTextAuthProvider(username=conn.cassandra_username, password=conn.cassandra_password)
    return Cluster(
        contact_points=list(conn.cassandra_hosts),
        port=conn.cassandra_port,
        auth_provider=auth,
        execution_profiles={
            EXEC_PROFILE_DEFAULT: ExecutionProfile(
                load_balancing_policy=TokenAwarePolicy(
                    DCAwareRoundRobinPolicy(local_dc=conn.cassandra_local_dc)
                ),
            )
        },
        connect_timeout=connect_timeout,
        control_connection_timeout=connect_timeout,
    )
