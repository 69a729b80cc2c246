"""The secured side of the local stack, through raw clients configured from `.stack/secure.env` only: Kafka's SASL_SSL
listener (SCRAM over TLS, ACLs), Cassandra's TLS and login on its native port, the registry behind HTTPS and basic
auth. What Sluice's own clients must do against Confluent Cloud, MSK or Astra, these prove the servers demand."""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request

import pytest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from ingest.connections import read_env_file, stack_dir


@pytest.fixture(scope="module")
def secure() -> dict[str, str]:
    path = stack_dir() / "secure.env"
    values = read_env_file(path)
    if not values:
        pytest.fail(f"no secured endpoints in {path}; start the stack with ./dev up", pytrace=False)
    return values


def kafka_settings(secure: dict[str, str], **extra: object) -> dict[str, object]:
    """librdkafka settings spelled out, as a Confluent Cloud client's would be."""
    return {
        "bootstrap.servers": secure["SLUICE_KAFKA_BOOTSTRAP"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": secure["SLUICE_KAFKA_SASL_MECHANISM"],
        "sasl.username": secure["SLUICE_KAFKA_SASL_USERNAME"],
        "sasl.password": secure["SLUICE_KAFKA_SASL_PASSWORD"],
        "ssl.ca.location": secure["SLUICE_KAFKA_SSL_CA_LOCATION"],
        "ssl.endpoint.identification.algorithm": "https",
        **extra,
    }


def first_error(settings: dict[str, object], timeout: float = 15.0) -> KafkaError:
    """The first error librdkafka reports for a producer with `settings` that tries to send one record."""
    errors: list[KafkaError] = []
    producer = Producer({**settings, "error_cb": errors.append, "log_level": 0})
    producer.produce("sluice-security-probe", b"x")
    deadline = time.monotonic() + timeout
    while not errors and time.monotonic() < deadline:
        producer.poll(0.1)
    producer.purge()
    assert errors, f"no error within {timeout}s"
    return errors[0]


@pytest.fixture(scope="module")
def topic(kafka, secure):
    """One topic for the module, made through the plaintext listener (the shared admin client)."""
    name = f"tsec{time.time_ns()}"
    kafka.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=30)
    yield name
    kafka.delete_topics([name], operation_timeout=30)[name].result(timeout=60)


@pytest.mark.parametrize("mechanism, client_cert", [("SCRAM-SHA-512", False), ("SCRAM-SHA-256", True)])
def test_a_scram_user_produces_and_consumes_over_tls(secure, topic, mechanism, client_cert):
    mtls = {}
    if client_cert:  # the listener requests a client certificate: one signed by the stack's CA is accepted
        tls = stack_dir() / "tls"
        mtls = {"ssl.certificate.location": str(tls / "client.pem"), "ssl.key.location": str(tls / "client-key.pem")}
    producer = Producer(kafka_settings(secure, **{"sasl.mechanism": mechanism, "enable.idempotence": True}, **mtls))
    producer.produce(topic, key=mechanism.encode(), value=b"over SASL_SSL")
    assert producer.flush(30) == 0

    group = f"{topic}-{mechanism}"
    consumer = Consumer(kafka_settings(secure, **{"sasl.mechanism": mechanism, "group.id": group,
                                                  "enable.auto.commit": False}, **mtls))
    end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)[1]
    consumer.assign([TopicPartition(topic, 0, end - 1)])  # assigned, not subscribed: no rebalance to wait for
    try:
        msg = consumer.poll(30)
        assert msg is not None and msg.error() is None, msg and msg.error()
        consumer.commit(message=msg, asynchronous=False)  # the group's READ ACL
        committed = consumer.committed([TopicPartition(topic, 0)], timeout=30)[0].offset
    finally:
        consumer.close()
    assert (msg.key(), msg.value()) == (mechanism.encode(), b"over SASL_SSL")
    assert committed == end


@pytest.mark.parametrize("username, password", [("sluice", "not-the-password"), ("nobody", "whatever")])
def test_wrong_credentials_fail_authentication(secure, username, password):
    error = first_error(kafka_settings(secure, **{"sasl.username": username, "sasl.password": password}))
    assert error.code() == KafkaError._AUTHENTICATION, error
    assert "SASL authentication error" in error.str() and "invalid credentials" in error.str(), error


def test_no_credentials_get_no_service(secure):
    with pytest.raises(KafkaException, match="sasl.username and sasl.password must be set"):
        Producer({k: v for k, v in kafka_settings(secure).items() if not k.startswith("sasl.user")
                  and k != "sasl.password"})
    # TLS without SASL: the broker waits for a SASL handshake and hangs up on anything else ("Unexpected Kafka
    # request of type METADATA during SASL handshake" in its log).
    tls_only = {k: v for k, v in kafka_settings(secure).items() if not k.startswith("sasl.")}
    with pytest.raises(KafkaException, match="transport failure"):
        AdminClient({**tls_only, "security.protocol": "SSL", "log_level": 0}).list_topics(timeout=3)


def test_the_acls_bound_the_scram_user(secure, topic):
    admin = AdminClient(kafka_settings(secure))
    future = admin.delete_topics([topic], operation_timeout=10)[topic]
    with pytest.raises(KafkaException) as refused:
        future.result(timeout=30)
    assert refused.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def cassandra_cluster(secure: dict[str, str], login: bool) -> Cluster:
    context = ssl.create_default_context(cafile=secure["SLUICE_CASSANDRA_SSL_CA_FILE"])
    assert context.check_hostname and secure["SLUICE_CASSANDRA_SSL_CHECK_HOSTNAME"] == "true"
    auth = PlainTextAuthProvider(secure["SLUICE_CASSANDRA_USERNAME"], secure["SLUICE_CASSANDRA_PASSWORD"])
    return Cluster([secure["SLUICE_CASSANDRA_HOSTS"]], port=int(secure["SLUICE_CASSANDRA_PORT"]), ssl_context=context,
                   auth_provider=auth if login else None, protocol_version=5, connect_timeout=10)


def test_cassandra_over_tls_logs_in_and_reads(secure):
    cluster = cassandra_cluster(secure, login=True)
    try:
        session = cluster.connect()
        row = session.execute("SELECT release_version FROM system.local").one()
    finally:
        cluster.shutdown()
    assert row.release_version.startswith("5.0")


def test_cassandra_refuses_a_client_without_credentials(secure):
    cluster = cassandra_cluster(secure, login=False)
    try:
        with pytest.raises(NoHostAvailable, match="requires authentication"):
            cluster.connect()
    finally:
        cluster.shutdown()


def registry_get(secure: dict[str, str], auth: str | None, context: ssl.SSLContext | None = None):
    """Status, headers and JSON body of GET /subjects through the proxy, the certificate checked against the CA."""
    context = context or ssl.create_default_context(cafile=secure["SLUICE_SCHEMA_REGISTRY_SSL_CA_LOCATION"])
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    request = urllib.request.Request(f"{secure['SLUICE_SCHEMA_REGISTRY_URL']}/subjects", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), json.load(refused)


def test_the_registry_proxy_wants_basic_auth_over_tls(secure):
    user_info = secure["SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"]
    status, headers, body = registry_get(secure, None)
    assert (status, body["error_code"]) == (401, 401)
    assert headers["WWW-Authenticate"].startswith("Basic ")
    assert registry_get(secure, user_info.split(":")[0] + ":wrong")[0] == 401

    status, _, subjects = registry_get(secure, user_info)
    assert status == 200 and isinstance(subjects, list)


def test_the_registry_proxy_certificate_is_signed_by_the_stacks_ca_only(secure):
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        registry_get(secure, None, context=ssl.create_default_context())  # the system's CAs only
