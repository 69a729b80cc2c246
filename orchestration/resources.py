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
from ingest.clients import s3_client
from ingest.connections import (
    KAFKA_CLIENT_KEYS,
    KAFKA_SECRETS,
    REGISTRY_CLIENT_KEYS,
    REGISTRY_SECRETS,
    CassandraSettings,
    Connections,
    RegistrySettings,
    S3Settings,
    env_name,
)
from ingest.lake import names
from ingest.lake.connection import lake_connection as connect_lake
from ingest.serving.mapping import connection_settings
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
    """A cassandra-driver session: contact points, port, local DC, consistency level, optional login, TLS (a CA,
    an optional client certificate, the hostname check), an Astra secure connect bundle, the protocol version
    (empty: negotiated)."""

    contact_points: list[str]
    port: int = 9042
    local_dc: str = "datacenter1"
    consistency: str = "LOCAL_QUORUM"
    username: str | None = None
    password: str | None = None
    keyspace: str | None = None  # overrides the keyspace of config/cassandra-sink.json's table mapping
    ssl_ca_file: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True
    secure_connect_bundle: str | None = None
    protocol_version: int | None = None

    def settings(self) -> CassandraSettings:
        return CassandraSettings(tuple(self.contact_points), self.port, self.local_dc, self.username or "",
                                 self.password or "", self.ssl_ca_file or "", self.ssl_certfile or "",
                                 self.ssl_keyfile or "", self.ssl_check_hostname, self.secure_connect_bundle or "",
                                 self.protocol_version)

    @contextmanager
    def session(self, keyspace: str | None = None):
        """A session as the DataStax connector's config (config/cassandra-sink.json) logs in: its auth.*, ssl.* and
        cloud.* keys over these fields, read when the session opens, so a password in the file (or its
        `${env:NAME}`) never becomes Dagster config."""
        cluster = cassandra_cluster(connection_settings(self.settings()), consistency=self.consistency)
        try:
            yield cluster.connect(keyspace)
        finally:
            cluster.shutdown()


class KafkaResource(dg.ConfigurableResource):
    """Kafka's bootstrap servers and the librdkafka settings every client takes (SASL, TLS), for the offset check,
    the DLQ job and the DLQ sensor. Each field is the librdkafka key with '_' for '.' (sasl_password:
    sasl.password); secrets are read from the environment (`dg.EnvVar`), never shown."""

    bootstrap_servers: str
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    sasl_oauthbearer_method: str | None = None
    sasl_oauthbearer_client_id: str | None = None
    sasl_oauthbearer_client_secret: str | None = None
    sasl_oauthbearer_token_endpoint_url: str | None = None
    sasl_oauthbearer_scope: str | None = None
    sasl_oauthbearer_extensions: str | None = None
    sasl_oauthbearer_config: str | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: str | None = None
    ssl_keystore_location: str | None = None
    ssl_keystore_password: str | None = None
    ssl_endpoint_identification_algorithm: str | None = None
    enable_ssl_certificate_verification: str | None = None
    client_id: str | None = None

    def client_settings(self) -> tuple[tuple[str, str], ...]:
        return tuple((key, value) for key in KAFKA_CLIENT_KEYS if (value := getattr(self, key.replace(".", "_"))))


class SchemaRegistryResource(dg.ConfigurableResource):
    """A Confluent-API schema registry (Avro dead letters are read with its writer schemas): the URL and
    confluent-kafka's client settings, each field the client's key with '_' for '.'; secrets from the environment."""

    url: str | None = None
    basic_auth_user_info: str | None = None
    bearer_auth_credentials_source: str | None = None
    bearer_auth_token: str | None = None
    bearer_auth_logical_cluster: str | None = None
    bearer_auth_identity_pool_id: str | None = None
    bearer_auth_client_id: str | None = None
    bearer_auth_client_secret: str | None = None
    bearer_auth_scope: str | None = None
    bearer_auth_issuer_endpoint_url: str | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: str | None = None

    def settings(self) -> RegistrySettings:
        return RegistrySettings(self.url or "", tuple(
            (key, value) for key in REGISTRY_CLIENT_KEYS if (value := getattr(self, key.replace(".", "_")))))


class SluiceS3Resource(S3Resource):
    """dagster-aws's S3 resource with what Sluice's S3 settings add: a CA bundle for an endpoint with a private CA,
    path-style or virtual-hosted addressing, and server-side encryption on every write; its client is Sluice's
    (`ingest.clients.s3_client`), so the assets write as the sink does."""

    ca_bundle: str | None = None
    path_style: bool = True
    sse: str | None = None  # AES256 or aws:kms (s3.ssea.name)
    sse_kms_key_id: str | None = None

    def get_client(self):
        return s3_client(s3_settings(self))


def s3_settings(s3: S3Resource) -> S3Settings:
    """Sluice's S3 settings of dagster-aws's resource (empty endpoint or keys: AWS and boto3's chain)."""
    return S3Settings(s3.endpoint_url or "", s3.region_name or "us-east-1", s3.aws_access_key_id or "",
                      s3.aws_secret_access_key or "", s3.aws_session_token or "",
                      getattr(s3, "ca_bundle", None) or "", getattr(s3, "path_style", True),
                      getattr(s3, "sse", None) or "", getattr(s3, "sse_kms_key_id", None) or "")


@contextmanager
def lake_connection(s3: S3Resource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection reading and writing the lake through the S3 resource's endpoint, closed after the block."""
    con = connect_lake(s3_settings(s3))
    try:
        yield con
    finally:
        con.close()


def service_connections(kafka: KafkaResource, s3: S3Resource | None = None,
                        registry: SchemaRegistryResource | None = None) -> Connections:
    """The plain-Python code's `Connections` for Kafka (and S3, and the registry), from the resources; Cassandra is
    not used."""
    return Connections.of(kafka.bootstrap_servers, s3_settings(s3) if s3 is not None else S3Settings(),
                          CassandraSettings(hosts=()), registry.settings() if registry else None,
                          kafka.client_settings())


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


def s3_resource(connections: Connections) -> SluiceS3Resource:
    """The S3 resource on Sluice's S3 settings (empty endpoint or keys: boto3's defaults)."""
    s3 = connections.s3
    return SluiceS3Resource(endpoint_url=s3.endpoint or None, region_name=s3.region,
                            aws_access_key_id=secret("SLUICE_S3_ACCESS_KEY_ID", s3.access_key_id),
                            aws_secret_access_key=secret("SLUICE_S3_SECRET_ACCESS_KEY", s3.secret_access_key),
                            aws_session_token=secret("SLUICE_S3_SESSION_TOKEN", s3.session_token),
                            ca_bundle=s3.ca_bundle or None, path_style=s3.path_style, sse=s3.sse or None,
                            sse_kms_key_id=s3.sse_kms_key_id or None)


def kafka_resource(connections: Connections) -> KafkaResource:
    """Kafka's resource on the SLUICE_KAFKA_* settings; secrets as `dg.EnvVar` of their variables."""
    fields = {key.replace(".", "_"): (secret(env_name("SLUICE_KAFKA_", key), value) if key in KAFKA_SECRETS
                                      else value) for key, value in connections.kafka_client}
    return KafkaResource(bootstrap_servers=connections.kafka_bootstrap, **fields)


def registry_resource(connections: Connections) -> SchemaRegistryResource:
    """The registry's resource on the SLUICE_SCHEMA_REGISTRY_* settings; secrets as `dg.EnvVar`."""
    registry = connections.registry
    fields = {key.replace(".", "_"): (secret(env_name("SLUICE_SCHEMA_REGISTRY_", key), value)
                                      if key in REGISTRY_SECRETS else value) for key, value in registry.client}
    return SchemaRegistryResource(url=registry.url or None, **fields)


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
    cassandra = connections.cassandra
    return {
        "s3": s3_resource(connections),
        "lake": LakeResource(bucket=lake.bucket, topic=lake.topic, connector=lake.connector,
                             dlq_topic=lake.dlq_topic),
        "cassandra": CassandraResource(
            contact_points=list(cassandra.hosts), port=cassandra.port, local_dc=cassandra.local_dc,
            username=cassandra.username or None, password=secret("SLUICE_CASSANDRA_PASSWORD", cassandra.password),
            keyspace=keyspace or None, ssl_ca_file=cassandra.ssl_ca_file or None,
            ssl_certfile=cassandra.ssl_certfile or None, ssl_keyfile=cassandra.ssl_keyfile or None,
            ssl_check_hostname=cassandra.ssl_check_hostname,
            secure_connect_bundle=cassandra.secure_connect_bundle or None,
            protocol_version=cassandra.protocol_version,
        ),
        "dbt": dbt_resource(),
        "kafka": kafka_resource(connections),
        "schema_registry": registry_resource(connections),
    }
