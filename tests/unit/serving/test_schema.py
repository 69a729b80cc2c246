"""DDL only for what the driver's schema metadata does not list, and a refused CREATE named with its remedy."""

from types import SimpleNamespace

import pytest
from cassandra import Unauthorized

from ingest.serving.load import (
    MissingSchema,
    ensure_counts_table,
    ensure_events_table,
    ensure_serving_tables,
)
from ingest.serving.mapping import TableMapping

MAPPING = TableMapping("events", "analytics", "events_by_time", "LOCAL_QUORUM", 3600)


class Session:
    """A session whose cluster's metadata lists `schema` ({keyspace: [tables]}); records what it executes and
    refuses every statement when `may_create` is false, as Cassandra refuses DDL to a role without CREATE."""

    def __init__(self, schema: dict[str, list[str]], may_create: bool = True):
        keyspaces = {ks: SimpleNamespace(tables={t: object() for t in tables}) for ks, tables in schema.items()}
        self.cluster = SimpleNamespace(metadata=SimpleNamespace(keyspaces=keyspaces))
        self.may_create, self.executed = may_create, []

    def execute(self, cql: str):
        if not self.may_create:
            raise Unauthorized("User loader has no CREATE permission on <all keyspaces> or any of its parents")
        self.executed.append(" ".join(cql.split()))


def test_existing_keyspace_and_tables_send_no_ddl_so_a_select_and_modify_role_can_load():
    session = Session({"analytics": ["events_by_time", "hourly_event_counts"]}, may_create=False)

    found = ensure_serving_tables(session, MAPPING)

    assert session.executed == []
    assert found == {"keyspace analytics": False, "table analytics.events_by_time": False,
                     "table analytics.hourly_event_counts": False}


def test_a_missing_table_alone_is_created():
    session = Session({"analytics": ["events_by_time"]})

    created = ensure_counts_table(session, "analytics")

    assert [cql.split(" (")[0] for cql in session.executed] == [
        "CREATE TABLE IF NOT EXISTS analytics.hourly_event_counts"]
    assert created == {"keyspace analytics": False, "table analytics.hourly_event_counts": True}


def test_a_missing_keyspace_is_created_with_its_tables_and_the_mappings_ttl():
    session = Session({})

    ensure_events_table(session, MAPPING)

    assert session.executed[0].startswith("CREATE KEYSPACE IF NOT EXISTS analytics WITH replication")
    assert session.executed[1].startswith("CREATE TABLE IF NOT EXISTS analytics.events_by_time")
    assert session.executed[1].endswith("default_time_to_live = 3600")


def test_a_refused_create_names_the_missing_table_and_sluice_cassandra_init():
    session = Session({"analytics": ["events_by_time"]}, may_create=False)

    with pytest.raises(MissingSchema) as error:
        ensure_serving_tables(session, MAPPING)

    assert error.value.name == "table analytics.hourly_event_counts"
    assert "`sluice cassandra init`" in str(error.value) and "no CREATE permission" in str(error.value)


def test_a_refused_create_of_a_missing_keyspace_names_the_keyspace():
    with pytest.raises(MissingSchema, match="^keyspace t0123 does not exist"):
        ensure_events_table(Session({}, may_create=False), TableMapping("events", "t0123", "events_by_time", "ONE", 0))
