"""cassandra-driver clusters for the configured Cassandra: contact points or an Astra bundle, login, TLS."""

from __future__ import annotations

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


def cassandra_cluster(cassandra: CassandraSettings | Connections, consistency: str | None = None,
                      connect_timeout: float = 10.0, request_timeout: float = 30.0) -> Cluster:
    """A driver Cluster (protocol v5, token-aware in the local DC); call `.connect()` and `.shutdown()`."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    c = cassandra.cassandra if isinstance(cassandra, Connections) else cassandra
    profile = {"consistency_level": consistency_level(consistency)} if consistency else {}
    auth = PlainTextAuthProvider(username=c.username, password=c.password) if c.username else None
    return Cluster(
        contact_points=list(c.hosts),
        port=c.port,
        auth_provider=auth,
        execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=c.local_dc)),
            request_timeout=request_timeout, **profile,
        )},
        protocol_version=5,
        connect_timeout=connect_timeout,
        control_connection_timeout=connect_timeout,
    )
