"""Where Sluice's services are: Kafka, S3 and Cassandra endpoints, read from the environment.

Each setting comes from the process environment first, then from the local stack's env file
(`.stack/env`, written by `./dev up`), then from the local stack's defaults. Pointing Sluice at an
external Kafka, S3 (AWS, MinIO) or Cassandra is a matter of exporting the variables below.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "SLUICE_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "SLUICE_S3_ENDPOINT": "http://127.0.0.1:9000",
    "SLUICE_S3_REGION": "us-east-1",
    "SLUICE_S3_ACCESS_KEY_ID": "",
    "SLUICE_S3_SECRET_ACCESS_KEY": "",
    "SLUICE_CASSANDRA_HOSTS": "127.0.0.1",
    "SLUICE_CASSANDRA_PORT": "9042",
    "SLUICE_CASSANDRA_LOCAL_DC": "datacenter1",
    "SLUICE_CASSANDRA_USERNAME": "",
    "SLUICE_CASSANDRA_PASSWORD": "",
    "SLUICE_SCHEMA_REGISTRY_URL": "http://127.0.0.1:8081/apis/ccompat/v7",
}


def stack_dir() -> Path:
    """The folder holding the local stack's jars, data, logs, pids and env file."""
    return Path(os.environ.get("SLUICE_STACK_DIR") or REPO_ROOT / ".stack").resolve()


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a `KEY=value` file (comments and blank lines ignored); a missing file is empty."""
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def _secret(default: str = "") -> str:
    return field(default=default, repr=False)


@dataclass(frozen=True)
class S3Settings:
    """An S3 endpoint (empty: AWS) and optional static keys (empty: boto3's credential chain)."""

    endpoint: str = ""
    region: str = "us-east-1"
    access_key_id: str = _secret()
    secret_access_key: str = _secret()


@dataclass(frozen=True)
class CassandraSettings:
    """Contact points, port, local DC and optional login of a Cassandra cluster."""

    hosts: tuple[str, ...] = ("127.0.0.1",)
    port: int = 9042
    local_dc: str = "datacenter1"
    username: str = ""
    password: str = _secret()


@dataclass(frozen=True)
class Connections:
    """Endpoints and credentials of Kafka, S3 and Cassandra. Secrets never appear in its repr."""

    kafka_bootstrap: str
    s3_endpoint: str
    s3_region: str
    cassandra_hosts: tuple[str, ...]
    cassandra_port: int
    cassandra_local_dc: str
    s3_access_key_id: str = _secret()
    s3_secret_access_key: str = _secret()
    cassandra_username: str = ""
    cassandra_password: str = _secret()
    schema_registry_url: str = ""  # Confluent's Schema Registry API, for Avro topics

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, env_file: Path | None = None) -> Connections:
        environ = dict(os.environ if environ is None else environ)
        file_values = read_env_file(env_file or stack_dir() / "env")

        def get(key: str) -> str:
            if key in environ:
                return environ[key]
            return file_values.get(key, DEFAULTS[key])

        port = get("SLUICE_CASSANDRA_PORT")
        if not port.isdigit():
            raise ValueError(f"SLUICE_CASSANDRA_PORT must be a port number, got {port!r}")
        return cls(
            kafka_bootstrap=get("SLUICE_KAFKA_BOOTSTRAP"),
            s3_endpoint=get("SLUICE_S3_ENDPOINT"),
            s3_region=get("SLUICE_S3_REGION"),
            s3_access_key_id=get("SLUICE_S3_ACCESS_KEY_ID"),
            s3_secret_access_key=get("SLUICE_S3_SECRET_ACCESS_KEY"),
            cassandra_hosts=tuple(h.strip() for h in get("SLUICE_CASSANDRA_HOSTS").split(",") if h.strip()),
            cassandra_port=int(port),
            cassandra_local_dc=get("SLUICE_CASSANDRA_LOCAL_DC"),
            cassandra_username=get("SLUICE_CASSANDRA_USERNAME"),
            cassandra_password=get("SLUICE_CASSANDRA_PASSWORD"),
            schema_registry_url=get("SLUICE_SCHEMA_REGISTRY_URL"),
        )

    @property
    def s3(self) -> S3Settings:
        return S3Settings(self.s3_endpoint, self.s3_region, self.s3_access_key_id, self.s3_secret_access_key)

    @property
    def cassandra(self) -> CassandraSettings:
        return CassandraSettings(self.cassandra_hosts, self.cassandra_port, self.cassandra_local_dc,
                                 self.cassandra_username, self.cassandra_password)

    def describe(self) -> dict[str, str]:
        """The settings as printable strings, secrets masked."""
        shown = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = ",".join(value)
            shown[f.name] = "****" if (not f.repr and value) else str(value)
        return shown
