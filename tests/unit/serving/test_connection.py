"""The DataStax sink's own login, TLS and Astra keys applied over the environment's Cassandra settings: each key's
honored value, and each value Sluice cannot use refused naming its key."""

import json
import zipfile
from dataclasses import replace

import pytest

from ingest.connections import CassandraSettings
from ingest.errors import ConfigError
from ingest.serving.mapping import connection_settings

BASE = CassandraSettings(hosts=("10.0.0.7",), port=9142, local_dc="dc1", username="env_user", password="env_pw")
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def connector(tmp_path, **config) -> str:
    path = tmp_path / "cassandra-sink.json"
    path.write_text(json.dumps({"name": "cassandra-sink", "config": {
        "contactPoints": "cassandra1,cassandra2", "port": "9042", "loadBalancing.localDc": "datacenter9",
        "topic.events.analytics.events_by_time.mapping": "analytics.events_by_time", **config}}))
    return path


@pytest.fixture
def files(tmp_path):
    """A PEM CA, a PEM chain and key, a JKS truststore (by its magic number) and a bundle zip."""
    made = {"ca": PEM_CERT, "chain": PEM_CERT, "key": PEM_KEY,
            "encrypted": PEM_KEY.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY")}
    paths = {}
    for name, text in made.items():
        paths[name] = tmp_path / f"{name}.pem"
        paths[name].write_text(text)
    paths["jks"] = tmp_path / "truststore.jks"
    paths["jks"].write_bytes(b"\xfe\xed\xfe\xed\x00\x00\x00\x02")
    paths["bundle"] = tmp_path / "secure-connect-db.zip"
    with zipfile.ZipFile(paths["bundle"], "w") as bundle:
        bundle.writestr("config.json", "{}")
    return {name: str(path) for name, path in paths.items()}


def refused(tmp_path, base=BASE, **config) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        connection_settings(base, connector(tmp_path, **config))
    return error.value


def test_the_seed_changes_nothing_and_contact_points_port_and_dc_stay_the_environments(tmp_path):
    from ingest.serving.mapping import SEED

    assert connection_settings(BASE, SEED) == BASE
    assert connection_settings(BASE, connector(tmp_path)) == BASE


def test_plain_login_replaces_the_environments(tmp_path):
    path = connector(tmp_path, **{"auth.provider": "PLAIN", "auth.username": "loader", "auth.password": "pa55"})

    settings = connection_settings(BASE, path)

    assert (settings.username, settings.password) == ("loader", "pa55")


def test_a_username_without_a_provider_means_plain_as_in_the_connector(tmp_path):
    settings = connection_settings(BASE, connector(tmp_path, **{"auth.username": "loader"}))
    assert (settings.username, settings.password) == ("loader", "env_pw")


def test_a_password_is_read_from_the_environment_by_env_reference(tmp_path, monkeypatch):
    monkeypatch.setenv("LOADER_PASSWORD", "from-env")
    path = connector(tmp_path, **{"auth.provider": "PLAIN", "auth.username": "loader",
                                  "auth.password": "${env:LOADER_PASSWORD}"})

    assert connection_settings(BASE, path).password == "from-env"


def test_a_missing_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("LOADER_PASSWORD", raising=False)
    error = refused(tmp_path, **{"auth.username": "u", "auth.password": "${env:LOADER_PASSWORD}"})
    assert error.key == "auth.password"
    assert "LOADER_PASSWORD is not set" in str(error)


def test_other_config_providers_are_refused(tmp_path):
    error = refused(tmp_path, **{"auth.password": "${file:/etc/secrets.properties:password}"})
    assert error.key == "auth.password"
    assert "${env:NAME}" in error.allowed


def test_gssapi_is_refused_saying_why(tmp_path):
    error = refused(tmp_path, **{"auth.provider": "GSSAPI"})
    assert error.key == "auth.provider"
    assert "Kerberos" in error.allowed and "PLAIN" in error.allowed


def test_an_unknown_auth_provider_is_refused(tmp_path):
    assert refused(tmp_path, **{"auth.provider": "LDAP"}).allowed == "None or PLAIN"


def test_plain_without_any_username_is_refused(tmp_path):
    error = refused(tmp_path, base=replace(BASE, username=""), **{"auth.provider": "PLAIN"})
    assert error.key == "auth.username"


@pytest.mark.parametrize("provider", ["JDK", "OpenSSL"])
def test_a_tls_provider_with_a_pem_truststore_is_tls_with_that_ca(tmp_path, files, provider):
    settings = connection_settings(BASE, connector(tmp_path, **{"ssl.provider": provider,
                                                                "ssl.truststore.path": files["ca"]}))
    assert (settings.ssl_ca_file, settings.ssl_check_hostname) == (files["ca"], True)


@pytest.mark.parametrize("value", ["false", False, "FALSE"])
def test_hostname_validation_can_be_turned_off(tmp_path, files, value):
    path = connector(tmp_path, **{"ssl.provider": "JDK", "ssl.truststore.path": files["ca"],
                                  "ssl.hostnameValidation": value})
    assert connection_settings(BASE, path).ssl_check_hostname is False


def test_hostname_validation_that_is_not_a_boolean_is_refused(tmp_path, files):
    error = refused(tmp_path, **{"ssl.provider": "JDK", "ssl.truststore.path": files["ca"],
                                 "ssl.hostnameValidation": "sometimes"})
    assert (error.key, error.allowed) == ("ssl.hostnameValidation", "true or false")


def test_a_tls_provider_without_a_truststore_keeps_the_environments_ca(tmp_path, files):
    base = replace(BASE, ssl_ca_file=files["ca"])
    assert connection_settings(base, connector(tmp_path, **{"ssl.provider": "OpenSSL"})).ssl_ca_file == files["ca"]
    assert refused(tmp_path, **{"ssl.provider": "OpenSSL"}).key == "ssl.truststore.path"


def test_an_unknown_ssl_provider_is_refused(tmp_path):
    assert refused(tmp_path, **{"ssl.provider": "BoringSSL"}).key == "ssl.provider"


def test_a_truststore_with_ssl_provider_none_is_refused_as_it_would_mean_no_tls(tmp_path, files):
    error = refused(tmp_path, **{"ssl.truststore.path": files["ca"]})
    assert error.key == "ssl.truststore.path"
    assert "ssl.provider" in error.allowed


def test_a_jks_truststore_is_refused_naming_the_conversion(tmp_path, files):
    error = refused(tmp_path, **{"ssl.provider": "JDK", "ssl.truststore.path": files["jks"]})
    assert error.key == "ssl.truststore.path"
    assert "keytool -exportcert -rfc -keystore <jks> -alias <alias> > ca.pem" in error.allowed
    assert "set ssl.truststore.path to ca.pem" in error.allowed


def test_a_truststore_that_cannot_be_read_is_named(tmp_path):
    error = refused(tmp_path, **{"ssl.provider": "JDK", "ssl.truststore.path": str(tmp_path / "gone.pem")})
    assert (error.key, error.value) == ("ssl.truststore.path", str(tmp_path / "gone.pem"))


def test_a_truststore_password_with_a_pem_is_refused_without_showing_it(tmp_path, files):
    error = refused(tmp_path, **{"ssl.provider": "JDK", "ssl.truststore.path": files["ca"],
                                 "ssl.truststore.password": "changeit"})
    assert error.key == "ssl.truststore.password"
    assert "JKS" in error.allowed and "changeit" not in str(error)


def test_a_jks_keystore_is_refused_naming_its_pem_equivalent(tmp_path, files):
    error = refused(tmp_path, **{"ssl.provider": "JDK", "ssl.truststore.path": files["ca"],
                                 "ssl.keystore.path": files["jks"], "ssl.keystore.password": "changeit"})
    assert error.key == "ssl.keystore.path"
    assert "ssl.openssl.keyCertChain" in error.allowed and "ssl.openssl.privateKey" in error.allowed


def test_a_keystore_password_alone_is_refused_without_showing_it(tmp_path, files):
    error = refused(tmp_path, **{"ssl.provider": "JDK", "ssl.truststore.path": files["ca"],
                                 "ssl.keystore.password": "changeit"})
    assert error.key == "ssl.keystore.password" and "changeit" not in str(error)


def test_an_openssl_chain_and_key_are_the_client_certificate(tmp_path, files):
    path = connector(tmp_path, **{"ssl.provider": "OpenSSL", "ssl.truststore.path": files["ca"],
                                  "ssl.openssl.keyCertChain": files["chain"], "ssl.openssl.privateKey": files["key"]})

    settings = connection_settings(BASE, path)

    assert (settings.ssl_certfile, settings.ssl_keyfile) == (files["chain"], files["key"])


def test_a_chain_without_its_key_is_refused_naming_the_missing_one(tmp_path, files):
    error = refused(tmp_path, **{"ssl.provider": "OpenSSL", "ssl.truststore.path": files["ca"],
                                 "ssl.openssl.keyCertChain": files["chain"]})
    assert error.key == "ssl.openssl.privateKey"


def test_an_encrypted_private_key_is_refused(tmp_path, files):
    error = refused(tmp_path, **{"ssl.provider": "OpenSSL", "ssl.truststore.path": files["ca"],
                                 "ssl.openssl.keyCertChain": files["chain"],
                                 "ssl.openssl.privateKey": files["encrypted"]})
    assert error.key == "ssl.openssl.privateKey"
    assert "unencrypted" in error.allowed


def test_a_secure_connect_bundle_is_taken(tmp_path, files):
    settings = connection_settings(BASE, connector(tmp_path, **{"cloud.secureConnectBundle": files["bundle"]}))
    assert settings.secure_connect_bundle == files["bundle"]


def test_a_bundle_that_is_not_a_zip_is_refused(tmp_path, files):
    assert refused(tmp_path, **{"cloud.secureConnectBundle": files["ca"]}).key == "cloud.secureConnectBundle"


def test_a_bundle_with_a_tls_provider_is_refused(tmp_path, files):
    error = refused(tmp_path, **{"cloud.secureConnectBundle": files["bundle"], "ssl.provider": "JDK",
                                 "ssl.truststore.path": files["ca"]})
    assert error.key == "ssl.provider"
    assert "cloud.secureConnectBundle" in error.allowed


def test_empty_values_as_in_the_connectors_sample_change_nothing(tmp_path):
    path = connector(tmp_path, **{"auth.provider": "None", "auth.username": "", "auth.password": "",
                                  "ssl.provider": "None", "ssl.truststore.path": "", "ssl.keystore.password": "",
                                  "ssl.hostnameValidation": "true", "cloud.secureConnectBundle": ""})
    assert connection_settings(BASE, path) == BASE
