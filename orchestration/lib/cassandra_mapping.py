"""The DataStax Kafka sink's config (`config/cassandra-sink.json`), read as-is: table mapping, TTL, consistency."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.cassandra_client import CONSISTENCY_LEVELS
from ingest.connections import REPO_ROOT
from ingest.errors import ConfigError

SEED = REPO_ROOT / "config" / "cassandra-sink.json"
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
TTL_UNITS = {"SECONDS": 1, "MINUTES": 60, "HOURS": 3600, "DAYS": 86_400}


@dataclass(frozen=True)
class TableMapping:
    topic: str
    keyspace: str
    table: str
    consistency: str
    ttl_seconds: int  # 0: no TTL


def identifier(key: str, value: str) -> str:
    """A CQL identifier built from configuration: letters, digits, underscores (as Cassandra allows unquoted)."""
    if not IDENTIFIER.match(value):
        raise ConfigError(key, value, "a CQL identifier: a letter, then letters, digits or _ (at most 48)")
    return value


def load_mappings(path: Path = SEED) -> list[TableMapping]:
    """`topic.<topic>.<keyspace>.<table>.mapping` keys (the DataStax sink's; a value `ks.table` names the
    table, as the seed's `topic.events.keyspace.table.mapping: analytics.events_by_time` does), with their
    `.consistencyLevel`, `.ttl` and `.ttlTimeUnit`."""
    config = json.loads(Path(path).read_text())["config"]
    mappings = []
    for key, value in config.items():
        match = re.fullmatch(r"topic\.([^.]+)\.([^.]+)\.([^.]+)\.mapping", key)
        if not match:
            continue
        topic, keyspace, table = match.groups()
        stem = f"topic.{topic}.{keyspace}.{table}"
        if "=" not in value and "." in value:  # the seed's form: the value names keyspace.table
            keyspace, table = value.split(".", 1)
        consistency = config.get(f"{stem}.consistencyLevel", "LOCAL_ONE").upper()
        if consistency not in CONSISTENCY_LEVELS:
            raise ConfigError(f"{stem}.consistencyLevel", consistency, ", ".join(CONSISTENCY_LEVELS))
        unit = config.get(f"{stem}.ttlTimeUnit", "SECONDS").upper()
        if unit not in TTL_UNITS:
            raise ConfigError(f"{stem}.ttlTimeUnit", unit, ", ".join(TTL_UNITS))
        ttl = int(config.get(f"{stem}.ttl", "-1"))
        mappings.append(TableMapping(topic, identifier(key, keyspace), identifier(key, table), consistency,
                                     max(ttl, 0) * TTL_UNITS[unit]))
    if not mappings:
        raise ConfigError("topic.<topic>.<keyspace>.<table>.mapping", None, "at least one table mapping")
    return mappings


def serving_mapping(topic: str, keyspace: str | None = None, path: Path = SEED) -> TableMapping:
    """The seed connector's mapping to events_by_time: the lake topic's own, else the only one there is (a lake
    fed from another topic name still serves into the seed's table); `keyspace` overrides the mapping's."""
    mappings = [m for m in load_mappings(path) if m.table == "events_by_time"]
    if not mappings:
        raise ConfigError("topic.<topic>.<keyspace>.events_by_time.mapping", None, "a mapping to events_by_time")
    mapping = next((m for m in mappings if m.topic == topic), mappings[0])
    if keyspace:
        mapping = dataclasses.replace(mapping, keyspace=identifier("keyspace", keyspace))
    return mapping
