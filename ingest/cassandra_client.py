"""cassandra-driver clusters for the configured Cassandra: contact points or an Astra bundle, login, TLS."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from ingest.connections import CassandraSettings, Connections
from ingest.errors import ConfigError

if TYPE_CHECKING:
    from cassandra.cluster import Cluster

# cassandra-driver's ConsistencyLevel names, as the DataStax sink's `consistencyLevel` keys take them
CONSISTENCY_LEVELS = ("ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE")


def consistency_level(name: str) -> int:
    """cassandra-driver's ConsistencyLevel for a name; a ConfigError names the allowed ones."""
    from cassandra import ConsistencyLevel

    if name.upper() not in CONSISTENCY_LEVELS:
        raise ConfigError("consistency", name, ", ".join(CONSISTENCY_LEVELS))
    return getattr(ConsistencyLevel, name.upper())


def ssl_context(c: CassandraSettings) -> ssl.SSLContext | None:
    """TLS when a CA is set: the nodes' certificates verified against it (also with the hostname check off, which
    only skips matching the name), and the client certificate sent when one is set (mutual TLS)."""
    if not c.ssl_ca_file:
        if c.ssl_certfile or c.ssl_keyfile:
            raise ConfigError("SLUICE_CASSANDRA_SSL_CA_FILE", None, "the CA of the nodes' certificates: a client "
                              "certificate is only sent over TLS, which this CA turns on")
        return None
    if c.ssl_keyfile and not c.ssl_certfile:
        raise ConfigError("SLUICE_CASSANDRA_SSL_CERTFILE", None,
                          "the client certificate of SLUICE_CASSANDRA_SSL_KEYFILE")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = c.ssl_check_hostname
    try:
        context.load_verify_locations(c.ssl_ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("SLUICE_CASSANDRA_SSL_CA_FILE", c.ssl_ca_file, f"a readable PEM CA file ({exc})") from exc
    if c.ssl_certfile:
        try:  # no key file: the certificate file holds the key too, as Python's ssl allows
            context.load_cert_chain(c.ssl_certfile, c.ssl_keyfile or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError("SLUICE_CASSANDRA_SSL_CERTFILE", c.ssl_certfile,
                              f"a readable PEM certificate whose key is SLUICE_CASSANDRA_SSL_KEYFILE ({exc})") from exc
    return context


def endpoint_options(c: CassandraSettings, connect_timeout: float) -> dict[str, object]:
    """Where the driver connects and how: an Astra bundle alone (the driver refuses contact points, port and TLS
    options beside it: the bundle holds the endpoints and the TLS material), else the contact points, the port and
    TLS. With the hostname check on, the first contact point is the name every node's certificate must hold: the
    driver takes one `server_hostname` for every connection, and without it would match the node's IP address."""
    if c.secure_connect_bundle:
        return {"cloud": {"secure_connect_bundle": c.secure_connect_bundle, "connect_timeout": connect_timeout}}
    options: dict[str, object] = {"contact_points": list(c.hosts), "port": c.port}
    context = ssl_context(c)
    if context is not None:
        options["ssl_context"] = context
        if c.ssl_check_hostname:
            options["ssl_options"] = {"server_hostname": c.hosts[0]}
    return options


def cassandra_cluster(cassandra: CassandraSettings | Connections, consistency: str | None = None,
                      connect_timeout: float = 10.0, request_timeout: float = 30.0) -> Cluster:
    """A driver Cluster, token-aware in the local DC (with a bundle: the bundle's DC, as Astra names its own);
    the protocol version the settings name, else the highest both sides speak (the driver starts at its newest and
    steps down when the node refuses, so a v4-only cluster works). Call `.connect()` and `.shutdown()`."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    c = cassandra.cassandra if isinstance(cassandra, Connections) else cassandra
    profile = {"consistency_level": consistency_level(consistency)} if consistency else {}
    auth = PlainTextAuthProvider(username=c.username, password=c.password) if c.username else None
    version = {} if c.protocol_version is None else {"protocol_version": c.protocol_version}
    local_dc = "" if c.secure_connect_bundle else c.local_dc  # "": the DC of the first node reached
    return Cluster(
        **endpoint_options(c, connect_timeout),
        auth_provider=auth,
        execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
            request_timeout=request_timeout, **profile,
        )},
        connect_timeout=connect_timeout,
        control_connection_timeout=connect_timeout,
        **version,
    )
