"""Resources of the code location, configured from Sluice's connection settings and overridable per deployment.

The lake's names come from SLUICE_LAKE_BUCKET (data-lake), SLUICE_LAKE_TOPIC (events), SLUICE_SINK_NAME (s3-sink,
the sink connector whose watermarks the sensor reads), SLUICE_DLQ_TOPIC (events-dlq) and SLUICE_CASSANDRA_KEYSPACE
(default: the keyspace of config/cassandra-sink.json's mapping).

Every default comes from `Connections.from_env()`: the environment, then the stack's `.stack/env`, then the
local stack's defaults, so `dagster dev` next to `./dev up` needs no configuration at all.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import dagster as dg
from dagster_aws.s3 import S3Resource

from ingest.connections import Connections

CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE", "ANY")


class LakeResource(dg.ConfigurableResource):
    """Where the lake is: the bucket, the sink's topic and connector, and the prefixes each stage writes."""

    bucket: str = "data-lake"
    topic: str = "events"
    topics_dir: str = "topics"
    landed_dir: str = "landed"
    connector: str = "s3-sink"  # the sink's `name`: its watermarks are under _sluice/<connector>/
    dlq_topic: str | None = "events-dlq"  # the sink's errors.deadletterqueue.topic.name, for the offset check


class CassandraResource(dg.ConfigurableResource):
    """A cassandra-driver session: contact points, port, local DC, consistency level, optional login."""

    contact_points: list[str]
    port: int = 9042
    local_dc: str = "datacenter1"
    consistency: str = "LOCAL_QUORUM"
    username: str | None = None
    password: str | None = None
    keyspace: str | None = None  # overrides the keyspace of config/cassandra-sink.json's table mapping

    @contextmanager
    def session(self, keyspace: str | None = None):
        from cassandra.auth import PlainTextAuthProvider
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
        from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

        if self.consistency.upper() not in CONSISTENCY_LEVELS:
            raise dg.DagsterInvalidConfigError(
                f"consistency {self.consistency!r}: allowed {', '.join(CONSISTENCY_LEVELS)}", [], None)
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=self.local_dc)),
            consistency_level=consistency_level(self.consistency), request_timeout=30,
        )
        auth = PlainTextAuthProvider(self.username, self.password) if self.username else None
        cluster = Cluster(self.contact_points, port=self.port, auth_provider=auth,
                          execution_profiles={EXEC_PROFILE_DEFAULT: profile}, protocol_version=5)
        try:
            yield cluster.connect(keyspace)
        finally:
            cluster.shutdown()


def consistency_level(name: str) -> int:
    from cassandra import ConsistencyLevel

    return getattr(ConsistencyLevel, name.upper())


def default_resources(connections: Connections | None = None) -> dict:
    """The resources, from the environment / .stack/env."""
    from orchestration.dbt import dbt_resource
    from orchestration.dlq_job import KafkaResource

    conn = connections or Connections.from_env()
    return {
        "s3": s3_resource(conn),
        "lake": LakeResource(bucket=lake_bucket(), topic=env("SLUICE_LAKE_TOPIC", "events"),
                             connector=env("SLUICE_SINK_NAME", "s3-sink"),
                             dlq_topic=env("SLUICE_DLQ_TOPIC", "events-dlq")),
        "cassandra": CassandraResource(
            contact_points=list(conn.cassandra_hosts), port=conn.cassandra_port, local_dc=conn.cassandra_local_dc,
            username=conn.cassandra_username or None, password=conn.cassandra_password or None,
            keyspace=env("SLUICE_CASSANDRA_KEYSPACE", "") or None,
        ),
        "dbt": dbt_resource(),
        "kafka": KafkaResource(bootstrap_servers=conn.kafka_bootstrap),
    }


def s3_resource(conn: Connections) -> S3Resource:
    """dagster-aws's S3 resource on Sluice's S3 settings (empty endpoint or keys: boto3's defaults)."""
    return S3Resource(endpoint_url=conn.s3_endpoint or None, region_name=conn.s3_region,
                      aws_access_key_id=conn.s3_access_key_id or None,
                      aws_secret_access_key=conn.s3_secret_access_key or None)


def env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def lake_bucket() -> str:
    return env("SLUICE_LAKE_BUCKET", "data-lake")
