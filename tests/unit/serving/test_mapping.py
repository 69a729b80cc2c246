import json

import pytest

from ingest.errors import ConfigError
from ingest.serving.mapping import SEED, TableMapping, identifier, load_mappings, serving_mapping


def connector(tmp_path, **config):
    path = tmp_path / "cassandra-sink.json"
    path.write_text(json.dumps({"name": "cassandra-sink", "config": config}))
    return path


def test_the_seed_maps_events_to_analytics_events_by_time():
    assert load_mappings(SEED) == [TableMapping("events", "analytics", "events_by_time", "LOCAL_QUORUM", 31_536_000)]


def test_ttl_time_unit_and_consistency_are_read_per_table(tmp_path):
    path = connector(tmp_path, **{"topic.clicks.ks.t.mapping": "a=value.a",
                                  "topic.clicks.ks.t.ttl": "2", "topic.clicks.ks.t.ttlTimeUnit": "HOURS",
                                  "topic.clicks.ks.t.consistencyLevel": "quorum"})
    assert load_mappings(path) == [TableMapping("clicks", "ks", "t", "QUORUM", 7200)]


def test_no_ttl_is_zero_and_the_default_consistency_is_local_one(tmp_path):
    path = connector(tmp_path, **{"topic.clicks.ks.t.mapping": "a=value.a"})
    assert load_mappings(path) == [TableMapping("clicks", "ks", "t", "LOCAL_ONE", 0)]


def test_a_bad_consistency_level_names_its_key_and_the_allowed_values(tmp_path):
    path = connector(tmp_path, **{"topic.clicks.ks.t.mapping": "a=value.a",
                                  "topic.clicks.ks.t.consistencyLevel": "MOST"})
    with pytest.raises(ConfigError) as error:
        load_mappings(path)
    assert error.value.key == "topic.clicks.ks.t.consistencyLevel"
    assert "LOCAL_QUORUM" in error.value.allowed


def test_a_table_name_that_is_not_a_cql_identifier_is_refused(tmp_path):
    path = connector(tmp_path, **{"topic.clicks.ks.t.mapping": "ks.drop table x"})
    with pytest.raises(ConfigError, match="a CQL identifier"):
        load_mappings(path)


def test_a_config_without_mappings_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="at least one table mapping"):
        load_mappings(connector(tmp_path, **{"topics": "events"}))


def test_identifiers_are_letters_digits_and_underscores():
    assert identifier("keyspace", "t_1") == "t_1"
    for bad in ("1abc", "a-b", 'a"b', "", "a" * 49):
        with pytest.raises(ConfigError):
            identifier("keyspace", bad)


def test_any_lake_topic_serves_into_the_seeds_table_and_the_keyspace_can_be_overridden():
    assert serving_mapping("events").keyspace == "analytics"
    other = serving_mapping("t0123-ev", keyspace="t0123")
    assert (other.keyspace, other.table, other.ttl_seconds) == ("t0123", "events_by_time", 31_536_000)
    with pytest.raises(ConfigError):
        serving_mapping("events", keyspace="bad-name")
