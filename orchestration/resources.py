"""Every resource of the code location, in one place, and the default set bound from the environment.

The lake's names come from SLUICE_LAKE_BUCKET (data-lake), SLUICE_LAKE_TOPIC (events), SLUICE_SINK_NAME (s3-sink,
the sink connector whose watermarks the sensor reads), SLUICE_DLQ_TOPIC (events-dlq) and SLUICE_CASSANDRA_KEYSPACE
(default: the keyspace of config/cassandra-sink.json's mapping). Service endpoints come from
`Connections.from_env()`: the environment, then the stack's `.stack/env`, then the local stack's defaults, so
`dagster dev` next to `./dev up` needs no configuration at all. Assets read only their resources.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import dagster as dg
import duckdb
from dagster_aws.s3 import S3Resource
from dagster_dbt import DbtCliResource
from packaging import version

from ingest.cassandra_client import cassandra_cluster
from ingest.connections import CassandraSettings, Connections, S3Settings
from ingest.lake import names
from ingest.lake.connection import lake_connection as connect_lake
from orchestration.dbt_project import dbt_project

DBT = str(Path(sys.executable).parent / "dbt")  # the venv's dbt, whether or not the venv is on PATH


class LakeResource(dg.ConfigurableResource):
    """Where the lake is: the bucket, the sink's topic and connector, and the prefixes each stage writes."""

    bucket: str = names.BUCKET
    topic: str = names.TOPIC
    topics_dir: str = names.TOPICS_DIR
    landed_dir: str = names.LANDED_DIR
    connector: str = names.CONNECTOR  # the sink's `name`: its watermarks and schemas are under _sluice/<connector>/
    dlq_topic: str | None = names.DLQ_TOPIC  # the sink's errors.deadletterqueue.topic.name, for the offset check


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
        settings = CassandraSettings(tuple(self.contact_points), self.port, self.local_dc, self.username or "",
                                     self.password or "")
        cluster = cassandra_cluster(settings, consistency=self.consistency)
        try:
            yield cluster.connect(keyspace)
        finally:
            cluster.shutdown()


class KafkaResource(dg.ConfigurableResource):
    """Kafka's bootstrap servers, for the offset check, the DLQ job and the DLQ sensor."""

    bootstrap_servers: str


def s3_settings(s3: S3Resource) -> S3Settings:
    """Sluice's S3 settings of dagster-aws's resource (empty endpoint or keys: AWS and boto3's chain)."""
    return S3Settings(s3.endpoint_url or "", s3.region_name or "us-east-1", s3.aws_access_key_id or "",
                      s3.aws_secret_access_key or "")


@contextmanager
def lake_connection(s3: S3Resource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection reading and writing the lake through the S3 resource's endpoint, closed after the block."""
    con = connect_lake(s3_settings(s3))
    try:
        yield con
    finally:
        con.close()


def service_connections(kafka: KafkaResource, s3: S3Resource | None = None) -> Connections:
    """The plain-Python code's `Connections` for Kafka (and S3), from the resources; Cassandra is not used."""
    s3_values = s3_settings(s3) if s3 is not None else S3Settings()
    return Connections(kafka_bootstrap=kafka.bootstrap_servers, s3_endpoint=s3_values.endpoint,
                       s3_region=s3_values.region, s3_access_key_id=s3_values.access_key_id,
                       s3_secret_access_key=s3_values.secret_access_key, cassandra_hosts=(), cassandra_port=9042,
                       cassandra_local_dc="")


def secret(name: str, value: str) -> str | None:
    """A secret as Dagster shows it: `dg.EnvVar(name)`, the variable's name in the UI and its API, never the value.
    A value that came from `.stack/env` rather than the environment is put into this process's environment first
    (when the definitions load, never at import), so that the variable resolves here and in every run worker (each
    loads these definitions). A value that differs from the environment's (given in code, as tests do) stays a
    plain value."""
    if not value:
        return None
    if os.environ.setdefault(name, value) != value:
        return value
    return dg.EnvVar(name)


def s3_resource(connections: Connections) -> S3Resource:
    """dagster-aws's S3 resource on Sluice's S3 settings (empty endpoint or keys: boto3's defaults)."""
    return S3Resource(endpoint_url=connections.s3_endpoint or None, region_name=connections.s3_region,
                      aws_access_key_id=secret("SLUICE_S3_ACCESS_KEY_ID", connections.s3_access_key_id),
                      aws_secret_access_key=secret("SLUICE_S3_SECRET_ACCESS_KEY", connections.s3_secret_access_key))


class SluiceDbtResource(DbtCliResource):
    """dagster-dbt's resource without two costs it pays at every step before dbt starts (~2.5 s of a run on 2
    cores): a `dbt --version` subprocess, a whole dbt start-up, to learn the version of the venv's own dbt; and a dbt
    adapter built in the step's process, used only to fetch column metadata, which Sluice does not."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))  # the venv's dbt (DBT) runs this dbt-core

    def _initialize_dbt_core_adapter(self, args):
        return None


def dbt_resource() -> DbtCliResource:
    return SluiceDbtResource(project_dir=dbt_project(), dbt_executable=DBT)


def default_resources(connections: Connections | None = None, lake: names.LakeNames | None = None,
                      keyspace: str | None = None) -> dict:
    """The resources, from the environment / .stack/env."""
    connections = connections or Connections.from_env()
    lake = lake or names.LakeNames.from_env()
    keyspace = keyspace if keyspace is not None else os.environ.get("SLUICE_CASSANDRA_KEYSPACE", "")
    return {
        "s3": s3_resource(connections),
        "lake": LakeResource(bucket=lake.bucket, topic=lake.topic, connector=lake.connector,
                             dlq_topic=lake.dlq_topic),
        "cassandra": CassandraResource(
            contact_points=list(connections.cassandra_hosts), port=connections.cassandra_port,
            local_dc=connections.cassandra_local_dc,
            username=connections.cassandra_username or None,
            password=secret("SLUICE_CASSANDRA_PASSWORD", connections.cassandra_password),
            keyspace=keyspace or None,
        ),
        "dbt": dbt_resource(),
        "kafka": KafkaResource(bootstrap_servers=connections.kafka_bootstrap),
    }
