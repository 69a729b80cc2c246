"""Apache Kafka 4, KRaft mode, one combined broker and controller, with a plaintext listener for the stack's own
clients and a SASL_SSL one (SCRAM, TLS, ACLs) for clients that must work against a secured cluster."""

from __future__ import annotations

import base64
import os
import subprocess
import time
import uuid

from ingest.connections import Connections
from ingest.health import check_kafka
from stack import kafka_auth
from stack.jars import ensure_jars, jar_dir
from stack.secure import USER, ensure_password, password_file
from stack.service import Service, heap_flags, java, render
from stack.settings import STACK_SRC
from stack.tls import tls_files


def properties_value(text: str) -> str:
    """A multi-line value (a PEM block) for a Java properties file: each line ends in an escaped newline and a
    line continuation, so Kafka reads the block with its line breaks."""
    return "\\n\\\n    ".join(text.strip().splitlines())


class Kafka(Service):
    name = "kafka"
    endpoint_var = "SLUICE_KAFKA_BOOTSTRAP"
    uses_tls = True

    def ports(self) -> dict[str, int]:
        return {
            "SLUICE_KAFKA_PORT": self.settings.kafka_port,
            "SLUICE_KAFKA_CONTROLLER_PORT": self.settings.kafka_controller_port,
            "SLUICE_KAFKA_SECURE_PORT": self.settings.kafka_secure_port,
        }

    def env(self) -> dict[str, str]:
        return {"SLUICE_KAFKA_BOOTSTRAP": f"{self.settings.host}:{self.settings.kafka_port}"}

    def secured(self) -> str:
        return f"{self.settings.host}:{self.settings.kafka_secure_port}"

    def is_external(self) -> bool:
        # A shell that sourced .stack/secure.env points at the secured listener of this very Kafka.
        return super().is_external() and os.environ.get(self.endpoint_var) != self.secured()

    @property
    def _config(self):
        return self.settings.path("conf", "kafka.properties")

    def prepare(self) -> None:
        ensure_jars(self.settings, "kafka")
        data = self.settings.path("data", "kafka")
        tls = tls_files(self.settings)
        render(
            "kafka.properties",
            self._config,
            private=True,  # the server's private key is inline
            host=self.settings.host,
            port=self.settings.kafka_port,
            controller_port=self.settings.kafka_controller_port,
            secure_port=self.settings.kafka_secure_port,
            log_dirs=data,
            certificate_chain=properties_value(tls.server_cert.read_text()),
            private_key=properties_value(tls.server_key.read_text()),
            ca=tls.ca,
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
                *kafka_auth.format_args(USER, ensure_password(self.settings)),
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

    def after_ready(self) -> str:
        """The `sluice` user's SCRAM credentials (when the data directory predates them, or the password file was
        made anew) and ACLs, made through the plaintext listener; then a login through the secured one."""
        admin = kafka_auth.admin(f"{self.settings.host}:{self.settings.kafka_port}")
        password = ensure_password(self.settings)
        made = []
        missing = kafka_auth.missing_mechanisms(admin, USER)
        if missing:
            kafka_auth.set_password(admin, USER, password, missing)
            made.append(f"SCRAM user {USER} made ({', '.join(missing)})")
        created = kafka_auth.ensure_acls(admin, USER)
        if created:
            made.append(f"{created} ACL(s) of User:{USER} made")
        try:
            summary = self._login()
        except Exception as exc:  # a password file made anew: set the password again, once
            if "authentication" not in str(exc).lower():
                raise
            kafka_auth.set_password(admin, USER, password, list(kafka_auth.SCRAM_MECHANISMS))
            made.append(f"password of {USER} set anew from {password_file(self.settings)}")
            summary = self._login(attempts=10)
        return f"SASL_SSL {self.secured()}: {summary}" + (f" ({'; '.join(made)})" if made else "")

    def _login(self, attempts: int = 1) -> str:
        for _ in range(attempts - 1):
            try:
                return self.probe_secured()
            except Exception:  # a new credential reaches the broker with the next metadata record: try again
                time.sleep(0.5)
        return self.probe_secured()

    def probe_secured(self) -> str:
        config = kafka_auth.secure_config(self.secured(), USER, ensure_password(self.settings),
                                          str(tls_files(self.settings).ca))
        return kafka_auth.check_secure(config)
