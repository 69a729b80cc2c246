"""One place for every client's settings: SLUICE_KAFKA_* and SLUICE_SCHEMA_REGISTRY_* reach every client, the
connector's override.* keys reach their client, Java-only and Sluice-owned keys are refused by name, S3's SSE,
session token, CA and addressing reach boto3 and DuckDB, and SLUICE_ENV outside local has no loopback defaults."""

import botocore.awsrequest
import dagster as dg
import pytest

from ingest.clients import kafka_config, s3_client
from ingest.config import parse_sink_config
from ingest.connections import REPO_ROOT, Connections, S3Settings
from ingest.errors import ConfigError
from ingest.lake.connection import s3_secret_sql
from orchestration.resources import default_resources, service_connections

NO_FILE = REPO_ROOT / "no-such-env-file"
SECURED = {
    "SLUICE_KAFKA_BOOTSTRAP": "broker.example:9096", "SLUICE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "SLUICE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "SLUICE_KAFKA_SASL_USERNAME": "sluice",
    "SLUICE_KAFKA_SASL_PASSWORD": "kafka-secret", "SLUICE_KAFKA_SSL_CA_LOCATION": "/etc/ca.pem",
    "SLUICE_SCHEMA_REGISTRY_URL": "https://registry.example/apis/ccompat/v7",
    "SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": "key:registry-secret",
    "SLUICE_SCHEMA_REGISTRY_SSL_CA_LOCATION": "/etc/ca.pem",
}


def sink(**keys):
    config = {"connector.class": "io.confluent.connect.s3.S3SinkConnector", "topics": "events",
              "s3.bucket.name": "lake", "flush.size": "100", "timezone": "UTC", "locale": "en-US"}
    return parse_sink_config({"name": "s", "config": config | keys}, Connections.from_env(SECURED, NO_FILE))


def test_the_kafka_settings_of_the_environment_reach_every_client_and_stay_masked():
    connections = Connections.from_env(SECURED, NO_FILE)
    assert kafka_config(connections, acks="all") == {
        "bootstrap.servers": "broker.example:9096", "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "sluice", "sasl.password": "kafka-secret",
        "ssl.ca.location": "/etc/ca.pem", "acks": "all"}
    shown = connections.describe()
    assert shown["kafka sasl.password"] == "****" and shown["kafka sasl.username"] == "sluice"
    assert shown["schema registry basic.auth.user.info"] == "****"
    assert not any(secret in text for secret in ("kafka-secret", "registry-secret")
                   for text in (repr(connections), str(shown)))


def test_the_registry_settings_reach_its_client_and_a_bearer_token_is_static():
    registry = Connections.from_env(SECURED | {"SLUICE_SCHEMA_REGISTRY_BEARER_AUTH_TOKEN": "t",
                                               "SLUICE_SCHEMA_REGISTRY_BEARER_AUTH_LOGICAL_CLUSTER": "lsrc-1"},
                                    NO_FILE).registry
    assert registry.client_config(timeout=10) == {
        "url": "https://registry.example/apis/ccompat/v7", "basic.auth.user.info": "key:registry-secret",
        "bearer.auth.token": "t", "bearer.auth.logical.cluster": "lsrc-1", "ssl.ca.location": "/etc/ca.pem",
        "bearer.auth.credentials.source": "STATIC_TOKEN", "timeout": 10}


def test_the_connectors_override_keys_reach_their_own_client_over_the_environments():
    config = sink(**{"consumer.override.client.id": "c", "producer.override.sasl.username": "dlq-writer",
                     "producer.override.sasl.password": "p", "admin.override.request.timeout.ms": "5000"})
    assert config.consumer_overrides == {"client.id": "c"}
    producer = kafka_config(config.client_connections("producer"))
    assert producer["sasl.username"] == "dlq-writer" and producer["security.protocol"] == "SASL_SSL"
    admin = kafka_config(config.client_connections("admin"))
    assert admin["sasl.username"] == "sluice" and admin["request.timeout.ms"] == "5000"


@pytest.mark.parametrize(("key", "named"), [
    ("consumer.override.sasl.jaas.config", "sasl.username and sasl.password"),
    ("producer.override.ssl.truststore.location", "ssl.ca.location"),
    ("consumer.override.sasl.client.callback.handler.class", "MSK IAM is not supported"),
    ("consumer.override.group.id", "connect-<name>"),
    ("consumer.group.id", "connect-<name>"),
    ("consumer.max.poll.records", "consumer.override.max.poll.records"),
    ("sasl.mechanism", "consumer.override.sasl.mechanism"),
    ("value.converter.schema.registry.ssl.truststore.location", "SLUICE_SCHEMA_REGISTRY_SSL_CA_LOCATION"),
    ("s3.sse.customer.key", "SSE-C is not supported"),
    ("transforms", "Single Message Transforms are not run"),
    ("transforms.mask.type", "Single Message Transforms are not run"),
    ("s3.acl.canned", "private only"),
    ("s3.proxy.url", "HTTPS_PROXY"),
])
def test_keys_sluice_cannot_honor_are_refused_naming_what_to_use(key, named):
    keys = {key: "x"}
    if key.startswith("value.converter."):
        keys |= {"value.converter": "io.confluent.connect.avro.AvroConverter"}
    with pytest.raises(ConfigError) as error:
        sink(**keys)
    assert error.value.key == key and named in str(error.value)


def test_tuning_keys_warn_and_keys_with_sluices_own_value_pass():
    config = sink(**{"s3.part.size": "5242880", "s3.acl.canned": "private", "directory.delim": "/",
                     "transforms": ""})
    assert any("'s3.part.size' is accepted and changes nothing here" in w for w in config.warnings)
    assert not any("acl" in w or "delim" in w or "transforms" in w for w in config.warnings)


def test_the_converters_registry_keys_and_sasl_inherit_reach_the_registry_client():
    avro = {"value.converter": "io.confluent.connect.avro.AvroConverter"}
    keyed = sink(**avro, **{"value.converter.basic.auth.user.info": "u:p"})
    assert keyed.value_converter.registry_config()["basic.auth.user.info"] == "u:p"
    assert keyed.value_converter.registry_config()["ssl.ca.location"] == "/etc/ca.pem"  # the environment's
    inherited = sink(**avro, **{"value.converter.basic.auth.credentials.source": "SASL_INHERIT"})
    assert inherited.value_converter.registry_config()["basic.auth.user.info"] == "sluice:kafka-secret"


def test_sse_and_addressing_keys_reach_the_sinks_s3_settings():
    s3 = sink(**{"s3.ssea.name": "aws:kms", "s3.sse.kms.key.id": "arn:aws:kms:k",
                 "s3.path.style.access.enabled": "false"}).connections.s3
    assert (s3.sse, s3.sse_kms_key_id, s3.path_style) == ("aws:kms", "arn:aws:kms:k", False)
    with pytest.raises(ConfigError, match="s3.sse.kms.key.id"):
        sink(**{"s3.ssea.name": "aws:kms"})
    with pytest.raises(ConfigError, match="s3.ssea.name.*AES256, aws:kms"):
        sink(**{"s3.ssea.name": "aes"})


def test_every_write_of_sluices_s3_client_asks_for_the_configured_encryption():
    client = s3_client(S3Settings("http://127.0.0.1:1", access_key_id="k", secret_access_key="s",
                                  sse="aws:kms", sse_kms_key_id="arn:aws:kms:k"))
    sent = []

    class Raw:
        def stream(self, **_):
            yield b""

    def capture(request, **_):
        sent.append(dict(request.headers))
        return botocore.awsrequest.AWSResponse(request.url, 200, {}, Raw())

    client.meta.events.register("before-send.s3", capture)
    client.put_object(Bucket="lake", Key="a", Body=b"x")
    client.create_multipart_upload(Bucket="lake", Key="b")
    client.list_objects_v2(Bucket="lake")
    assert [h.get("x-amz-server-side-encryption") for h in sent] == [b"aws:kms", b"aws:kms", None]
    assert sent[0]["x-amz-server-side-encryption-aws-kms-key-id"] == b"arn:aws:kms:k"


def test_duckdb_gets_the_session_token_kms_key_and_addressing():
    sql, params = s3_secret_sql(S3Settings("https://s3.example", "eu-west-1", "k", "s", "token", "/ca.pem", False,
                                           "aws:kms", "arn:aws:kms:k"))
    assert "SESSION_TOKEN $s3_session_token" in sql and "KMS_KEY_ID $s3_kms_key_id" in sql
    assert params["s3_url_style"] == "vhost" and params["s3_session_token"] == "token"


def test_outside_the_local_stack_a_missing_endpoint_is_named_and_the_stack_file_is_not_read(tmp_path):
    stack_env = tmp_path / "env"
    stack_env.write_text("SLUICE_KAFKA_BOOTSTRAP=127.0.0.1:9092\n")
    with pytest.raises(ConfigError, match="SLUICE_KAFKA_BOOTSTRAP.*SLUICE_ENV=prod"):
        Connections.from_env({"SLUICE_ENV": "prod", "SLUICE_S3_ENDPOINT": "", "SLUICE_CASSANDRA_HOSTS": "c1"},
                             stack_env)
    prod = Connections.from_env({"SLUICE_ENV": "prod", "SLUICE_KAFKA_BOOTSTRAP": "b:9092", "SLUICE_S3_ENDPOINT": "",
                                 "SLUICE_CASSANDRA_SECURE_CONNECT_BUNDLE": "/bundle.zip"}, stack_env)
    assert prod.kafka_bootstrap == "b:9092" and prod.schema_registry_url == "" and prod.s3_endpoint == ""
    assert Connections.from_env({}, stack_env).kafka_bootstrap == "127.0.0.1:9092"  # local: the stack's file


def test_the_dagster_resources_carry_every_setting_with_secrets_as_environment_variables(monkeypatch):
    for name, value in SECURED.items():
        monkeypatch.setenv(name, value)
    resources = default_resources(Connections.from_env(SECURED, NO_FILE))
    kafka, registry = resources["kafka"], resources["schema_registry"]
    assert isinstance(kafka.sasl_password, dg.EnvVar)
    assert kafka.sasl_password.env_var_name == "SLUICE_KAFKA_SASL_PASSWORD"
    assert kafka.security_protocol == "SASL_SSL" and kafka.ssl_ca_location == "/etc/ca.pem"
    assert isinstance(registry.basic_auth_user_info, dg.EnvVar)
    connections = service_connections(kafka.process_config_and_initialize(), None,
                                      registry.process_config_and_initialize())
    assert kafka_config(connections)["sasl.password"] == "kafka-secret"
    assert connections.registry.client_config()["basic.auth.user.info"] == "key:registry-secret"


def test_outside_the_local_stack_a_sink_needs_only_what_its_connector_config_lacks(monkeypatch):
    for name in ("SLUICE_KAFKA_BOOTSTRAP", "SLUICE_S3_ENDPOINT", "SLUICE_CASSANDRA_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLUICE_ENV", "prod")
    config = {"connector.class": "io.confluent.connect.s3.S3SinkConnector", "topics": "events",
              "s3.bucket.name": "lake", "flush.size": "100", "bootstrap.servers": "b:9092"}
    with pytest.raises(ConfigError, match="SLUICE_S3_ENDPOINT"):
        parse_sink_config({"config": config})
    parsed = parse_sink_config({"config": config | {"store.url": "https://s3.example"}})
    assert (parsed.connections.kafka_bootstrap, parsed.connections.s3_endpoint) == ("b:9092", "https://s3.example")
