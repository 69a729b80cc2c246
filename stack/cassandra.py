"""Apache Cassandra 5.0, one node on JDK 17, started straight from its jars; logins and TLS (optional) on its
native port."""

from __future__ import annotations

import os

from ingest.connections import Connections
from ingest.health import check_cassandra
from stack.jars import ensure_jars, jar_dir
from stack.service import Service, heap_flags, java, render
from stack.settings import STACK_SRC
from stack.tls import tls_files

AUTH = {
    "none": ("AllowAllAuthenticator", "AllowAllAuthorizer"),
    "password": ("PasswordAuthenticator", "CassandraAuthorizer"),
}


def auth_mode() -> str:
    mode = os.environ.get("SLUICE_CASSANDRA_AUTH", "password")
    if mode not in AUTH:
        raise SystemExit(f"SLUICE_CASSANDRA_AUTH={mode!r}; allowed: {', '.join(AUTH)}")
    return mode


class Cassandra(Service):
    name = "cassandra"
    endpoint_var = "SLUICE_CASSANDRA_HOSTS"
    uses_tls = True

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
        login = self.login()
        if login:
            env |= {"SLUICE_CASSANDRA_USERNAME": login[0], "SLUICE_CASSANDRA_PASSWORD": login[1]}
        return env

    def login(self) -> tuple[str, str] | None:
        """The superuser a fresh PasswordAuthenticator node creates (change it on anything but a dev node)."""
        return ("cassandra", "cassandra") if auth_mode() == "password" else None

    def secured(self) -> str:
        return f"{self.settings.host}:{self.settings.cassandra_port} (TLS)"

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
        tls = tls_files(self.settings)
        render(
            "cassandra.yaml",
            self.settings.path("conf", "cassandra.yaml"),
            host=self.settings.host,
            port=self.settings.cassandra_port,
            storage_port=self.settings.cassandra_storage_port,
            data=data,
            authenticator=authenticator,
            authorizer=authorizer,
            keystore=tls.server_keystore,
            truststore=tls.ca,
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

    def probe_secured(self) -> str:
        """Log in over TLS, the server's certificate checked against the stack's CA and its name (127.0.0.1)."""
        import ssl

        from cassandra.auth import PlainTextAuthProvider
        from cassandra.cluster import Cluster

        context = ssl.create_default_context(cafile=str(tls_files(self.settings).ca))
        login = self.login()
        cluster = Cluster(
            [self.settings.host], port=self.settings.cassandra_port, ssl_context=context, protocol_version=5,
            auth_provider=PlainTextAuthProvider(*login) if login else None, connect_timeout=5,
            control_connection_timeout=5,
        )
        try:
            row = cluster.connect().execute("SELECT release_version FROM system.local", timeout=5).one()
        finally:
            cluster.shutdown()
        return f"TLS verified, login {login[0] if login else '(none)'}: Cassandra {row.release_version}"
