"""A login role with only SELECT and MODIFY on an existing keyspace loads an hour, reaching Cassandra through the
connector config's own keys (its password by `${env:...}`, TLS with the stack's CA when the stack serves TLS); into a
keyspace that does not exist, the load fails naming `sluice cassandra init`, which a role that may create runs."""

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest

from ingest.cassandra_client import cassandra_cluster, consistency_level
from ingest.connections import REPO_ROOT, read_env_file, stack_dir
from ingest.serving.load import (
    MissingSchema,
    ensure_counts_table,
    ensure_events_table,
    ensure_serving_tables,
    load_counts_window,
    load_events_window,
    window_ids,
    write_version,
)
from ingest.serving.mapping import SEED, TableMapping, connection_settings

HOUR = dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC)
QUORUM = consistency_level("LOCAL_QUORUM")
EVENTS = [(HOUR.date(), HOUR + dt.timedelta(minutes=m), str(uuid.UUID(int=m)), "click", "{}") for m in range(3)]
COUNTS = [(HOUR.date(), 10, "click", "engagement", 3, 1, Decimal("0.00"))]


def stack_ca() -> str:
    """The CA of the stack's TLS (`.stack/secure.env`), or "" when the stack serves no TLS."""
    return read_env_file(stack_dir() / "secure.env").get("SLUICE_CASSANDRA_SSL_CA_FILE", "")


def load_hour(session, m: TableMapping) -> None:
    """What the serving assets do for one hour: their tables (created only if missing), then both loads."""
    version = write_version(dt.datetime.now(dt.UTC))
    ensure_events_table(session, m)
    load_events_window(session, m, EVENTS, HOUR, HOUR + dt.timedelta(hours=1), QUORUM, version)
    ensure_counts_table(session, m.keyspace)
    load_counts_window(session, m.keyspace, COUNTS, [(HOUR.date(), 10)], QUORUM, version)


@pytest.fixture
def mapping(cassandra, unique_name):
    """A keyspace with both serving tables, made as the superuser by what `sluice cassandra init` runs."""
    m = TableMapping("events", unique_name, "events_by_time", "LOCAL_QUORUM", 86_400)
    ensure_serving_tables(cassandra, m)
    yield m
    cassandra.execute(f"DROP KEYSPACE IF EXISTS {unique_name}")


@pytest.fixture
def loader(cassandra, connections, mapping, unique_name, tmp_path, monkeypatch):
    """A session of a login role granted SELECT and MODIFY on the mapping's keyspace and nothing else."""
    role, password = f"{unique_name}_loader", uuid.uuid4().hex
    cassandra.execute(f"CREATE ROLE {role} WITH LOGIN = true AND PASSWORD = %s", (password,))
    for permission in ("SELECT", "MODIFY"):
        cassandra.execute(f"GRANT {permission} ON KEYSPACE {mapping.keyspace} TO {role}")
    monkeypatch.setenv("SLUICE_TEST_LOADER_PASSWORD", password)
    keys = {"auth.provider": "PLAIN", "auth.username": role, "auth.password": "${env:SLUICE_TEST_LOADER_PASSWORD}"}
    if stack_ca():
        keys |= {"ssl.provider": "JDK", "ssl.truststore.path": stack_ca()}
    config = json.loads(SEED.read_text())
    config["config"] |= keys
    path = tmp_path / "cassandra-sink.json"
    path.write_text(json.dumps(config))
    cluster = cassandra_cluster(connection_settings(connections.cassandra, path))
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()
        cassandra.execute(f"DROP ROLE IF EXISTS {role}")


def test_a_select_and_modify_role_loads_an_hour_into_existing_tables(cassandra, loader, mapping):
    load_hour(loader, mapping)

    assert window_ids(cassandra, mapping, HOUR, HOUR + dt.timedelta(hours=1)) == {e[2] for e in EVENTS}
    counts = cassandra.execute(f"SELECT event_type, events FROM {mapping.keyspace}.hourly_event_counts "
                               "WHERE event_date = %s AND event_hour = 10", (HOUR.date(),))
    assert [tuple(r) for r in counts] == [("click", 3)]
    if stack_ca():
        clients = cassandra.execute("SELECT username, ssl_enabled FROM system_views.clients")
        assert {r.ssl_enabled for r in clients if r.username == loader.cluster.auth_provider.username} == {True}


def test_a_load_into_a_keyspace_that_does_not_exist_names_sluice_cassandra_init(cassandra, loader, unique_name):
    missing = TableMapping("events", f"{unique_name}_none", "events_by_time", "LOCAL_QUORUM", 86_400)

    with pytest.raises(MissingSchema, match="`sluice cassandra init`") as error:
        load_hour(loader, missing)

    assert error.value.name == f"keyspace {unique_name}_none"
    assert cassandra.cluster.metadata.keyspaces.get(missing.keyspace) is None


def test_sluice_cassandra_init_creates_the_serving_tables_then_finds_them(cassandra, unique_name):
    env = os.environ | {"SLUICE_CASSANDRA_KEYSPACE": unique_name}

    def init() -> list[str]:
        done = subprocess.run([sys.executable, "-m", "ingest.cli", "cassandra", "init"], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    try:
        names = [f"keyspace {unique_name}", f"table {unique_name}.events_by_time",
                 f"table {unique_name}.hourly_event_counts"]
        assert init() == [f"created  {name}" for name in names]
        assert init() == [f"found    {name}" for name in names]
    finally:
        cassandra.execute(f"DROP KEYSPACE IF EXISTS {unique_name}")
