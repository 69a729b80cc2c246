"""The driver Cluster Sluice builds from its Cassandra settings, inspected without connecting: TLS, mutual TLS, the
hostname check, an Astra bundle, login, the protocol version, load balancing and timeouts."""

import datetime as dt
import ssl
from dataclasses import replace

import pytest
from cassandra import ConsistencyLevel, ProtocolVersion
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT
from cassandra.connection import SniEndPoint

from ingest.cassandra_client import cassandra_cluster
from ingest.connections import CassandraSettings
from ingest.errors import ConfigError

LOCAL = CassandraSettings(hosts=("localhost", "127.0.0.1"), port=9142, local_dc="dc9")


def self_signed(tmp_path, name: str) -> tuple[str, str]:
    """A certificate (usable as a CA too) and its unencrypted key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def built():
    """Build clusters (never connected) and shut them down after the test."""
    clusters = []

    def build(settings: CassandraSettings, **kwargs):
        clusters.append(cassandra_cluster(settings, **kwargs))
        return clusters[-1]

    yield build
    for cluster in clusters:
        cluster.shutdown()


@pytest.fixture
def ca(tmp_path) -> str:
    return self_signed(tmp_path, "sluice-test-ca")[0]


def test_without_a_ca_there_is_no_tls_and_the_contact_points_and_port_are_the_settings(built):
    cluster = built(LOCAL)

    assert (cluster.contact_points, cluster.port) == (["localhost", "127.0.0.1"], 9142)
    assert (cluster.ssl_context, cluster.ssl_options, cluster.cloud) == (None, None, None)


def test_a_ca_turns_on_tls_verifying_the_nodes_against_it_and_the_first_contact_points_name(built, ca):
    cluster = built(replace(LOCAL, ssl_ca_file=ca))

    context = cluster.ssl_context
    assert (context.protocol, context.verify_mode, context.check_hostname) == (
        ssl.PROTOCOL_TLS_CLIENT, ssl.CERT_REQUIRED, True)
    assert [dict(c["subject"][0])["commonName"] for c in context.get_ca_certs()] == ["sluice-test-ca"]
    assert cluster.ssl_options == {"server_hostname": "localhost"}


def test_the_hostname_check_off_still_verifies_the_certificate(built, ca):
    cluster = built(replace(LOCAL, ssl_ca_file=ca, ssl_check_hostname=False))

    assert (cluster.ssl_context.verify_mode, cluster.ssl_context.check_hostname) == (ssl.CERT_REQUIRED, False)
    assert cluster.ssl_options is None


def test_a_client_certificate_and_key_are_loaded_for_mutual_tls(built, ca, tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path, "sluice-client")
    loaded = []
    load_cert_chain = ssl.SSLContext.load_cert_chain
    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain",
                        lambda self, *args: loaded.append(args) or load_cert_chain(self, *args))

    built(replace(LOCAL, ssl_ca_file=ca, ssl_certfile=cert, ssl_keyfile=key))

    assert loaded == [(cert, key)]


def test_a_key_that_is_not_the_certificates_is_refused_naming_the_setting(built, ca, tmp_path):
    cert, _ = self_signed(tmp_path, "sluice-client")
    _, other_key = self_signed(tmp_path, "someone-else")

    with pytest.raises(ConfigError) as error:
        built(replace(LOCAL, ssl_ca_file=ca, ssl_certfile=cert, ssl_keyfile=other_key))
    assert error.value.key == "SLUICE_CASSANDRA_SSL_CERTFILE"


def test_a_ca_file_that_cannot_be_read_is_named(built, tmp_path):
    with pytest.raises(ConfigError) as error:
        built(replace(LOCAL, ssl_ca_file=str(tmp_path / "missing.pem")))
    assert (error.value.key, error.value.value) == ("SLUICE_CASSANDRA_SSL_CA_FILE", str(tmp_path / "missing.pem"))


def test_a_client_certificate_without_a_ca_is_refused_rather_than_sent_in_clear(built, tmp_path):
    cert, key = self_signed(tmp_path, "sluice-client")
    with pytest.raises(ConfigError) as error:
        built(replace(LOCAL, ssl_certfile=cert, ssl_keyfile=key))
    assert error.value.key == "SLUICE_CASSANDRA_SSL_CA_FILE"


def test_a_client_key_without_its_certificate_is_refused(built, ca, tmp_path):
    _, key = self_signed(tmp_path, "sluice-client")
    with pytest.raises(ConfigError) as error:
        built(replace(LOCAL, ssl_ca_file=ca, ssl_keyfile=key))
    assert error.value.key == "SLUICE_CASSANDRA_SSL_CERTFILE"


def test_a_username_logs_in_with_plain_text_auth(built):
    cluster = built(replace(LOCAL, username="loader", password="pa55"))

    assert isinstance(cluster.auth_provider, PlainTextAuthProvider)
    assert (cluster.auth_provider.username, cluster.auth_provider.password) == ("loader", "pa55")
    assert built(LOCAL).auth_provider is None


def test_without_a_protocol_version_the_driver_negotiates_down_from_its_newest(built):
    cluster = built(LOCAL)

    assert cluster.protocol_version == ProtocolVersion.MAX_SUPPORTED
    assert cluster._protocol_version_explicit is False  # what lets the driver step down on a refusal


def test_a_protocol_version_that_is_set_is_the_only_one_used(built):
    cluster = built(replace(LOCAL, protocol_version=4))

    assert (cluster.protocol_version, cluster._protocol_version_explicit) == (4, True)


def test_load_balancing_is_token_aware_in_the_local_dc_with_the_timeouts_and_consistency(built):
    cluster = built(LOCAL, consistency="LOCAL_QUORUM", connect_timeout=3.0, request_timeout=7.0)

    profile = cluster.profile_manager.profiles[EXEC_PROFILE_DEFAULT]
    assert profile.load_balancing_policy._child_policy.local_dc == "dc9"
    assert (profile.request_timeout, profile.consistency_level) == (7.0, ConsistencyLevel.LOCAL_QUORUM)
    assert (cluster.connect_timeout, cluster.control_connection_timeout) == (3.0, 3.0)


class FakeCloudConfig:
    """What cassandra-driver reads from a bundle and Astra's metadata service (which Cluster() calls at once)."""

    username = password = None
    ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    sni_host, sni_port, host_ids = "db.astra.example", 29042, ["host-1", "host-2"]


def test_a_secure_connect_bundle_replaces_contact_points_port_and_tls(built, ca, monkeypatch):
    asked = []
    monkeypatch.setattr("cassandra.cluster.dscloud.get_cloud_config",
                        lambda cloud, create_pyopenssl_context: asked.append(cloud) or FakeCloudConfig())
    settings = replace(LOCAL, secure_connect_bundle="/secrets/bundle.zip", ssl_ca_file=ca, username="u", password="p")

    cluster = built(settings, connect_timeout=4.0)

    assert asked == [{"secure_connect_bundle": "/secrets/bundle.zip", "connect_timeout": 4.0}]
    assert cluster.ssl_context is FakeCloudConfig.ssl_context  # the bundle's TLS, not the CA file's
    assert all(isinstance(p, SniEndPoint) for p in cluster.contact_points)
    assert cluster.auth_provider.username == "u"
    profile = cluster.profile_manager.profiles[EXEC_PROFILE_DEFAULT]
    assert profile.load_balancing_policy._child_policy.local_dc == ""  # the bundle's DC, not dc9
