"""S3 on loopback: moto's server, in memory (its objects live as long as the process)."""

from __future__ import annotations

import sys

from ingest.connections import Connections
from ingest.health import check_s3
from stack.service import Service
from stack.settings import LOCAL_S3_KEY


class S3(Service):
    name = "s3"
    endpoint_var = "SLUICE_S3_ENDPOINT"

    def ports(self) -> dict[str, int]:
        return {"SLUICE_S3_PORT": self.settings.s3_port}

    def env(self) -> dict[str, str]:
        return {
            "SLUICE_S3_ENDPOINT": f"http://{self.settings.host}:{self.settings.s3_port}",
            "SLUICE_S3_REGION": "us-east-1",
            "SLUICE_S3_ACCESS_KEY_ID": LOCAL_S3_KEY,
            "SLUICE_S3_SECRET_ACCESS_KEY": LOCAL_S3_KEY,
        }

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "moto.server",
            "-H",
            self.settings.host,
            "-p",
            str(self.settings.s3_port),
        ]

    def probe(self, connections: Connections) -> str:
        return check_s3(connections)
