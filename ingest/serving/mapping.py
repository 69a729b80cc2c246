"""The DataStax Kafka sink's config (`config/cassandra-sink.json`), read as-is: table mapping, TTL, consistency,
and the connector's own login, TLS and Astra keys (`auth.*`, `ssl.*`, `cloud.secureConnectBundle`)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ingest.cassandra_client import CONSISTENCY_LEVELS
from ingest.connections import REPO_ROOT, CassandraSettings
from ingest.errors import ConfigError

SEED = REPO_ROOT / "config" / "cassandra-sink.json"
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
TTL_UNITS = {"SECONDS": 1, "MINUTES": 60, "HOURS": 3600, "DAYS": 86_400}


@dataclass(frozen=True)
class TableMapping:
    topic: str
    keyspace: str
    table: str
    consistency: str
    ttl_seconds: int  # 0: no TTL


def identifier(key: str, value: str) -> str:
    """A CQL identifier built from configuration: letters, digits, underscores (as Cassandra allows unquoted)."""
    if not IDENTIFIER.match(value):
        raise ConfigError(key, value, "a CQL identifier: a letter, then letters, digits or _ (at most 48)")
    return value


def connector_config(path: Path) -> dict[str, object]:
    """The `config` object of a connector JSON, as Kafka Connect's REST API takes it."""
    return json.loads(Path(path).read_text())["config"]


def load_mappings(path: Path = SEED) -> list[TableMapping]:
    """`topic.<topic>.<keyspace>.<table>.mapping` keys (the DataStax sink's; a value `ks.table` names the
    table, as the seed's `topic.events.keyspace.table.mapping: analytics.events_by_time` does), with their
    `.consistencyLevel`, `.ttl` and `.ttlTimeUnit`."""
    config = connector_config(path)
    mappings = []
    for key, value in config.items():
        match = re.fullmatch(r"topic\.([^.]+)\.([^.]+)\.([^.]+)\.mapping", key)
        if not match:
            continue
        topic, keyspace, table = match.groups()
        stem = f"topic.{topic}.{keyspace}.{table}"
        if "=" not in value and "." in value:  # the seed's form: the value names keyspace.table
            keyspace, table = value.split(".", 1)
        consistency = config.get(f"{stem}.consistencyLevel", "LOCAL_ONE").upper()
        if consistency not in CONSISTENCY_LEVELS:
            raise ConfigError(f"{stem}.consistencyLevel", consistency, ", ".join(CONSISTENCY_LEVELS))
        unit = config.get(f"{stem}.ttlTimeUnit", "SECONDS").upper()
        if unit not in TTL_UNITS:
            raise ConfigError(f"{stem}.ttlTimeUnit", unit, ", ".join(TTL_UNITS))
        ttl = int(config.get(f"{stem}.ttl", "-1"))
        mappings.append(TableMapping(topic, identifier(key, keyspace), identifier(key, table), consistency,
                                     max(ttl, 0) * TTL_UNITS[unit]))
    if not mappings:
        raise ConfigError("topic.<topic>.<keyspace>.<table>.mapping", None, "at least one table mapping")
    return mappings


def serving_mapping(topic: str, keyspace: str | None = None, path: Path = SEED) -> TableMapping:
    """The seed connector's mapping to events_by_time: the lake topic's own, else the only one there is (a lake
    fed from another topic name still serves into the seed's table); `keyspace` overrides the mapping's."""
    mappings = [m for m in load_mappings(path) if m.table == "events_by_time"]
    if not mappings:
        raise ConfigError("topic.<topic>.<keyspace>.events_by_time.mapping", None, "a mapping to events_by_time")
    mapping = next((m for m in mappings if m.topic == topic), mappings[0])
    if keyspace:
        mapping = dataclasses.replace(mapping, keyspace=identifier("keyspace", keyspace))
    return mapping


# Kafka Connect's config provider references, ${provider:[path:]key}; of them, EnvVarConfigProvider's ${env:NAME}
REFERENCE = re.compile(r"\$\{([^}:]*):([^}]*)\}")
CONNECTION_KEYS = (
    "auth.provider", "auth.username", "auth.password", "ssl.provider", "ssl.hostnameValidation",
    "ssl.truststore.path", "ssl.truststore.password", "ssl.keystore.path", "ssl.keystore.password",
    "ssl.openssl.keyCertChain", "ssl.openssl.privateKey", "cloud.secureConnectBundle",
)
SSL_FILE_KEYS = ("ssl.truststore.path", "ssl.keystore.path", "ssl.openssl.keyCertChain", "ssl.openssl.privateKey")
CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
TRUSTSTORE_HELP = ("a PEM CA file, not a JKS or PKCS#12 truststore: export its CA with `keytool -exportcert -rfc "
                   "-keystore <jks> -alias <alias> > ca.pem` (`keytool -list -keystore <jks>` shows the alias) and set "
                   "ssl.truststore.path to ca.pem")
KEYSTORE_HELP = ("unset: Sluice reads no JKS keystore; its PEM equivalent is ssl.openssl.keyCertChain (the certificate "
                 "chain) and ssl.openssl.privateKey (the unencrypted key): `keytool -importkeystore -srckeystore <jks> "
                 "-destkeystore client.p12 -deststoretype PKCS12`, then `openssl pkcs12 -in client.p12 -nokeys -out "
                 "chain.pem` and `openssl pkcs12 -in client.p12 -nocerts -nodes -out key.pem`")


def resolved(key: str, value: object) -> str:
    """A key's value as text, each `${env:NAME}` replaced by that variable (Kafka Connect's EnvVarConfigProvider
    syntax), so that a password need not be written in the file."""
    if isinstance(value, bool):
        return str(value).lower()

    def variable(match: re.Match) -> str:
        provider, name = match.groups()
        if provider != "env":
            raise ConfigError(key, match.group(0), "a value or ${env:NAME}: of Kafka Connect's config providers, "
                              "Sluice resolves the environment's only")
        if name not in os.environ:
            raise ConfigError(key, match.group(0), f"a variable of the environment: {name} is not set")
        return os.environ[name]

    return REFERENCE.sub(variable, str(value))


def _pem(key: str, path: str, marker: bytes, allowed: str) -> bytes:
    """The file a key names, refused (naming the key) when it cannot be read or is not the PEM it should be."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(key, path, f"{allowed} that can be read ({exc.strerror})") from exc
    if marker not in data:
        raise ConfigError(key, path, allowed)
    return data


def _auth(values: dict[str, str], base: CassandraSettings) -> dict[str, object]:
    provider = values.get("auth.provider", "None")
    if provider not in ("None", "PLAIN"):
        why = (": GSSAPI (Kerberos) needs a keytab, a ticket and the kerberos and pure-sasl packages, which Sluice "
               "does not have; give Sluice a PLAIN login role" if provider == "GSSAPI" else "")
        raise ConfigError("auth.provider", provider, "None or PLAIN" + why)
    changes = {field: values[key] for key, field in (("auth.username", "username"), ("auth.password", "password"))
               if key in values}
    # as the connector does, a username or password means PLAIN
    if (provider == "PLAIN" or changes) and not changes.get("username", base.username):
        raise ConfigError("auth.username", None, "the login role of auth.provider PLAIN and auth.password (or "
                          "SLUICE_CASSANDRA_USERNAME)")
    return changes


def _tls(values: dict[str, str], base: CassandraSettings) -> dict[str, object]:
    provider = values.get("ssl.provider", "None")
    if provider not in ("None", "JDK", "OpenSSL"):
        raise ConfigError("ssl.provider", provider, "None, JDK or OpenSSL (JDK and OpenSSL both mean TLS here)")
    if provider == "None":  # no TLS from the file: the environment's TLS settings stay
        stray = next((key for key in SSL_FILE_KEYS if key in values), None)
        if stray:
            raise ConfigError(stray, values[stray], "unset with ssl.provider None, which turns TLS off (set "
                              "ssl.provider JDK or OpenSSL to use it)")
        return {}
    if "ssl.keystore.path" in values:
        raise ConfigError("ssl.keystore.path", values["ssl.keystore.path"], KEYSTORE_HELP)
    if "ssl.keystore.password" in values:
        raise ConfigError("ssl.keystore.password", "****", "unset: it opens a JKS keystore, which Sluice does not "
                          "read; the PEM ssl.openssl.privateKey has no password")
    changes: dict[str, object] = {}
    truststore = values.get("ssl.truststore.path")
    if truststore:
        _pem("ssl.truststore.path", truststore, CERTIFICATE, TRUSTSTORE_HELP)
        changes["ssl_ca_file"] = truststore
    elif not base.ssl_ca_file:
        raise ConfigError("ssl.truststore.path", None, "the PEM CA the nodes' certificates are verified against (or "
                          "SLUICE_CASSANDRA_SSL_CA_FILE)")
    if "ssl.truststore.password" in values:
        raise ConfigError("ssl.truststore.password", "****", "unset: a PEM CA file has no password (only a JKS "
                          "truststore has one)")
    chain, key = values.get("ssl.openssl.keyCertChain"), values.get("ssl.openssl.privateKey")
    if bool(chain) != bool(key):
        missing = "ssl.openssl.privateKey" if chain else "ssl.openssl.keyCertChain"
        raise ConfigError(missing, None, "ssl.openssl.keyCertChain and ssl.openssl.privateKey together (mutual TLS)")
    if chain:
        _pem("ssl.openssl.keyCertChain", chain, CERTIFICATE, "a PEM certificate chain")
        if b"ENCRYPTED" in _pem("ssl.openssl.privateKey", key, b"PRIVATE KEY-----", "a PEM private key"):
            raise ConfigError("ssl.openssl.privateKey", key, "an unencrypted PEM private key (Sluice takes no key "
                              "password): `openssl pkey -in <key> -out key.pem` decrypts it")
        changes |= {"ssl_certfile": chain, "ssl_keyfile": key}
    if "ssl.hostnameValidation" in values:
        flag = values["ssl.hostnameValidation"].strip().lower()
        if flag not in ("true", "false"):
            raise ConfigError("ssl.hostnameValidation", values["ssl.hostnameValidation"], "true or false")
        changes["ssl_check_hostname"] = flag == "true"
    return changes


def _cloud(values: dict[str, str]) -> dict[str, object]:
    bundle = values.get("cloud.secureConnectBundle")
    if not bundle:
        return {}
    if values.get("ssl.provider", "None") != "None":
        raise ConfigError("ssl.provider", values["ssl.provider"], "None with cloud.secureConnectBundle: the bundle "
                          "holds the TLS material (the connector refuses both as well)")
    if not zipfile.is_zipfile(bundle):
        raise ConfigError("cloud.secureConnectBundle", bundle, "the path of a readable Astra secure connect bundle "
                          "(a zip)")
    return {"secure_connect_bundle": bundle}


def connection_settings(base: CassandraSettings, path: Path = SEED) -> CassandraSettings:
    """`base` (the environment's settings) with the connector's own login, TLS and Astra keys applied, so that Sluice
    reaches Cassandra as the connector does: `auth.provider` None or PLAIN, `auth.username`, `auth.password`,
    `ssl.provider` (JDK or OpenSSL: TLS), `ssl.truststore.path` (a PEM CA), `ssl.openssl.keyCertChain` and
    `ssl.openssl.privateKey` (mutual TLS), `ssl.hostnameValidation`, `cloud.secureConnectBundle`. A key left out or
    empty leaves `base` as it is. A value may be `${env:NAME}` (Kafka Connect's EnvVarConfigProvider), read from this
    process's environment, so the file need not hold the password.

    Contact points, port and local DC stay the environment's (SLUICE_CASSANDRA_HOSTS, _PORT, _LOCAL_DC): the seed's
    `contactPoints` (cassandra1..3) are the Docker host names of the connector's own network, which do not resolve
    where Sluice runs."""
    config = connector_config(path)
    values = {key: text for key in CONNECTION_KEYS if key in config and (text := resolved(key, config[key])) != ""}
    changes = _auth(values, base) | _cloud(values) | _tls(values, base)
    return dataclasses.replace(base, **changes)
