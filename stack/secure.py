"""The secured side of the local stack: the `sluice` user's generated password and `.stack/secure.env`, the facts a
client needs to reach Kafka over SASL_SSL, the schema registry over HTTPS with basic auth and Cassandra over TLS
with a login, as it would reach Confluent Cloud, MSK or Astra.

The password is made at the first `./dev up` and kept in `.stack/secure/` (mode 0600), never in the repository;
the same user and password log in to Kafka (SCRAM) and to the registry proxy (basic auth).
"""

from __future__ import annotations

import secrets

from stack.settings import StackSettings
from stack.tls import tls_files, write_private

USER = "sluice"


def password_file(settings: StackSettings):
    return settings.path("secure", f"{USER}.password")


def ensure_password(settings: StackSettings) -> str:
    """The `sluice` user's password, generated once. URL-safe characters only: it goes unquoted into Kafka's
    `--add-scram 'SCRAM-SHA-512=[name=...,password=...]'` and into a basic-auth `user:password`."""
    path = password_file(settings)
    if not path.is_file():
        write_private(path, (secrets.token_urlsafe(24) + "\n").encode())
    return path.read_text().strip()


def secure_file(settings: StackSettings):
    return settings.path("secure.env")


def secure_env(settings: StackSettings, local: set[str], cassandra_login: tuple[str, str] | None) -> dict[str, str]:
    """The variables of `.stack/secure.env` for the services that run locally (names as in `local`)."""
    ca = str(tls_files(settings).ca)
    password = ensure_password(settings)
    host = settings.host
    env: dict[str, str] = {}
    if "kafka" in local:
        env |= {
            "SLUICE_KAFKA_BOOTSTRAP": f"{host}:{settings.kafka_secure_port}",
            "SLUICE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "SLUICE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "SLUICE_KAFKA_SASL_USERNAME": USER,
            "SLUICE_KAFKA_SASL_PASSWORD": password,
            "SLUICE_KAFKA_SSL_CA_LOCATION": ca,
        }
    if "registry" in local:
        env |= {
            "SLUICE_SCHEMA_REGISTRY_URL": f"https://{host}:{settings.registry_secure_port}/apis/ccompat/v7",
            "SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": f"{USER}:{password}",
            "SLUICE_SCHEMA_REGISTRY_SSL_CA_LOCATION": ca,
        }
    if "cassandra" in local:
        env |= {"SLUICE_CASSANDRA_HOSTS": host, "SLUICE_CASSANDRA_PORT": str(settings.cassandra_port)}
        if cassandra_login:
            env |= {"SLUICE_CASSANDRA_USERNAME": cassandra_login[0], "SLUICE_CASSANDRA_PASSWORD": cassandra_login[1]}
        env |= {"SLUICE_CASSANDRA_SSL_CA_FILE": ca, "SLUICE_CASSANDRA_SSL_CHECK_HOSTNAME": "true"}
    return env


def write_secure_env(settings: StackSettings, local: set[str], cassandra_login: tuple[str, str] | None) -> None:
    files = tls_files(settings)
    lines = [
        "# Written by ./dev up: the secured endpoints of the local Sluice stack (TLS, SCRAM, basic auth, logins).",
        "# Holds a password: mode 0600, never commit it. Give it to a client's environment (not to the shell that",
        "# runs ./dev), e.g.  env $(grep -v '^#' .stack/secure.env | xargs) .venv/bin/sluice check",
        *(f"{key}={value}" for key, value in secure_env(settings, local, cassandra_login).items()),
    ]
    if "kafka" in local:
        lines += [
            "# Mutual TLS with Kafka (its SASL_SSL listener requests a client certificate and verifies one if given):",
            f"# SLUICE_KAFKA_SSL_CERTIFICATE_LOCATION={files.client_cert}",
            f"# SLUICE_KAFKA_SSL_KEY_LOCATION={files.client_key}",
        ]
    write_private(secure_file(settings), ("\n".join(lines) + "\n").encode())
