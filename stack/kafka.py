"""Apache Kafka 4, KRaft mode, one combined broker and controller."""

from __future__ import annotations

import base64
import subprocess
import uuid

from ingest.connections import Connections
from ingest.health import check_kafka
from stack.jars import ensure_jars, jar_dir
from stack.service import Service, heap_flags, java, render
from stack.settings import STACK_SRC


class Kafka(Service):
    name = "kafka"
    endpoint_var = "SLUICE_KAFKA_BOOTSTRAP"

    def ports(self) -> dict[str, int]:
        return {
            "SLUICE_KAFKA_PORT": self.settings.kafka_port,
            "SLUICE_KAFKA_CONTROLLER_PORT": self.settings.kafka_controller_port,
        }

    def env(self) -> dict[str, str]:
        return {"SLUICE_KAFKA_BOOTSTRAP": f"{self.settings.host}:{self.settings.kafka_port}"}

    @property
    def _config(self):
        return self.settings.path("conf", "kafka.properties")

    def prepare(self) -> None:
        ensure_jars(self.settings, "kafka")
        data = self.settings.path("data", "kafka")
        render(
            "kafka.properties",
            self._config,
            host=self.settings.host,
            port=self.settings.kafka_port,
            controller_port=self.settings.kafka_controller_port,
            log_dirs=data,
        )
        if not (data / "meta.properties").exists():
            self._format_storage()

    def _format_storage(self) -> None:
        # Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding (Uuid.randomUuid()).
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            [
                *self._java_prefix(),
                "kafka.tools.StorageTool",
                "format",
                # `=`: an id may start with "-", which the tool would otherwise take for an option.
                f"--cluster-id={cluster_id}",
                "--config",
                str(self._config),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")

    def _java_prefix(self) -> list[str]:
        return [
            java(),
            *heap_flags(self.settings.kafka_heap),
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:ParallelGCThreads=2",
            "-XX:ConcGCThreads=1",
            "-XX:CICompilerCount=2",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={STACK_SRC / 'conf' / 'kafka-log4j2.properties'}",
            f"-Dkafka.logs.dir={self.settings.path('logs')}",
            "-cp",
            f"{jar_dir(self.settings, 'kafka')}/*",
        ]

    def argv(self) -> list[str]:
        return [*self._java_prefix(), "kafka.Kafka", str(self._config)]

    def probe(self, connections: Connections) -> str:
        return check_kafka(connections)
