"""Apache Cassandra 5.0, one node on JDK 17, started straight from its jars."""

from __future__ import annotations

import os

from ingest.connections import Connections
from ingest.health import check_cassandra
from stack.jars import ensure_jars, jar_dir
from stack.service import Service, heap_flags, java, render
from stack.settings import STACK_SRC

AUTH = {
    "none": ("AllowAllAuthenticator", "AllowAllAuthorizer"),
    "password": ("PasswordAuthenticator", "CassandraAuthorizer"),
}


def auth_mode() -> str:
    mode = os.environ.get("SLUICE_CASSANDRA_AUTH", "none")
    if mode not in AUTH:
        raise SystemExit(f"SLUICE_CASSANDRA_AUTH={mode!r}; allowed: {', '.join(AUTH)}")
    return mode


class Cassandra(Service):
    name = "cassandra"
    endpoint_var = "SLUICE_CASSANDRA_HOSTS"

    def ports(self) -> dict[str, int]:
        return {
            "SLUICE_CASSANDRA_PORT": self.settings.cassandra_port,
            "SLUICE_CASSANDRA_STORAGE_PORT": self.settings.cassandra_storage_port,
        }

    def env(self) -> dict[str, str]:
        env = {
            "SLUICE_CASSANDRA_HOSTS": self.settings.host,
            "SLUICE_CASSANDRA_PORT": str(self.settings.cassandra_port),
        }
        if auth_mode() == "password":
            # The superuser a fresh PasswordAuthenticator node creates; change it on anything but a dev node.
            env |= {"SLUICE_CASSANDRA_USERNAME": "cassandra", "SLUICE_CASSANDRA_PASSWORD": "cassandra"}
        return env

    @property
    def endpoint(self) -> str:
        if self.is_external():
            return f"{os.environ[self.endpoint_var]}:{os.environ.get('SLUICE_CASSANDRA_PORT', '9042')}"
        return f"{self.settings.host}:{self.settings.cassandra_port}"

    def prepare(self) -> None:
        ensure_jars(self.settings, "cassandra")
        data = self.settings.path("data", "cassandra")
        for sub in ("data", "commitlog", "saved_caches", "hints", "cdc_raw", "triggers"):
            (data / sub).mkdir(parents=True, exist_ok=True)
        authenticator, authorizer = AUTH[auth_mode()]
        render(
            "cassandra.yaml",
            self.settings.path("conf", "cassandra.yaml"),
            host=self.settings.host,
            port=self.settings.cassandra_port,
            storage_port=self.settings.cassandra_storage_port,
            data=data,
            authenticator=authenticator,
            authorizer=authorizer,
        )

    def argv(self) -> list[str]:
        jars = jar_dir(self.settings, "cassandra")
        jamm = next(jars.glob("jamm-*.jar"))
        options = [
            line.strip()
            for line in (STACK_SRC / "conf" / "cassandra-jvm17.options").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        return [
            java(),
            *heap_flags(self.settings.cassandra_heap),
            *options,
            f"-javaagent:{jamm}",
            f"-Dcassandra.config=file://{self.settings.path('conf', 'cassandra.yaml')}",
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.storagedir={self.settings.path('data', 'cassandra')}",
            f"-Dcassandra.logdir={self.settings.path('logs')}",
            f"-Dcassandra.triggers_dir={self.settings.path('data', 'cassandra', 'triggers')}",
            f"-Dlogback.configurationFile={STACK_SRC / 'conf' / 'cassandra-logback.xml'}",
            # One node has no gossip to wait for and no ring to learn: start at once.
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            "-Dcassandra.ring_delay_ms=1000",
            "-Dcassandra.superuser_setup_delay_ms=0",
            "-cp",
            f"{jars}/*",
            "org.apache.cassandra.service.CassandraDaemon",
        ]

    def probe(self, connections: Connections) -> str:
        return check_cassandra(connections)
