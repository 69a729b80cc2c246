"""The stack's layout on disk and its ports, from environment variables with defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ingest.connections import stack_dir

STACK_SRC = Path(__file__).resolve().parent

# The S3 keys of the embedded S3Proxy, which listens on loopback only: a fixed, published pair, not a secret.
LOCAL_S3_KEY = "sluice-local"


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"{name}={raw!r} is not a TCP port (1-65535)")
    return int(raw)


@dataclass(frozen=True)
class StackSettings:
    root: Path
    host: str
    kafka_port: int
    kafka_controller_port: int
    cassandra_port: int
    cassandra_storage_port: int
    s3_port: int
    registry_port: int
    kafka_heap: str
    cassandra_heap: str
    s3_heap: str
    registry_heap: str
    start_timeout: float
    # The secured side's ports (SASL_SSL listener, registry proxy), last and with defaults: older callers that build
    # settings field by field need not name them.
    kafka_secure_port: int = 9094
    registry_secure_port: int = 8444

    @classmethod
    def from_env(cls) -> StackSettings:
        return cls(
            root=stack_dir(),
            host=os.environ.get("SLUICE_STACK_HOST", "127.0.0.1"),
            kafka_port=_port("SLUICE_KAFKA_PORT", 9092),
            kafka_controller_port=_port("SLUICE_KAFKA_CONTROLLER_PORT", 9093),
            cassandra_port=_port("SLUICE_CASSANDRA_PORT", 9042),
            cassandra_storage_port=_port("SLUICE_CASSANDRA_STORAGE_PORT", 7000),
            s3_port=_port("SLUICE_S3_PORT", 9000),
            registry_port=_port("SLUICE_SCHEMA_REGISTRY_PORT", 8081),
            kafka_heap=os.environ.get("SLUICE_KAFKA_HEAP", "512m"),
            cassandra_heap=os.environ.get("SLUICE_CASSANDRA_HEAP", "1G"),
            s3_heap=os.environ.get("SLUICE_S3_HEAP", "256m"),
            registry_heap=os.environ.get("SLUICE_REGISTRY_HEAP", "256m"),
            start_timeout=float(os.environ.get("SLUICE_STACK_TIMEOUT", "300")),
            kafka_secure_port=_port("SLUICE_KAFKA_SECURE_PORT", 9094),
            registry_secure_port=_port("SLUICE_SCHEMA_REGISTRY_SECURE_PORT", 8444),
        )

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    @property
    def env_file(self) -> Path:
        return self.path("env")
