"""The local schema registry (Apicurio, Confluent's API): BACKWARD compatibility by default, and schemas on disk
(H2 under .stack/data/registry) that survive `./dev down registry && ./dev up registry` and a SIGKILL."""

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from support.faults import dev, kill_mid_writes


def avro(name: str, *fields: dict) -> Schema:
    """A record with an `id` field and `fields`; a unique `name` makes unique content, hence a new schema id."""
    record = {"type": "record", "name": name, "namespace": "sluice.test",
              "fields": [{"name": "id", "type": "string"}, *fields]}
    return Schema(json.dumps(record), "AVRO")


def served(url: str, subject: str, schema_id: int, schema: Schema) -> None:
    """A new client (no cache) reads `schema` by id and as the subject's latest version."""
    fresh = SchemaRegistryClient({"url": url})
    assert json.loads(fresh.get_schema(schema_id).schema_str) == json.loads(schema.schema_str)
    latest = fresh.get_latest_version(subject)
    assert (latest.schema_id, latest.version) == (schema_id, 1)


def test_backward_compatibility_is_the_default(registry, unique_name):
    subject = f"{unique_name}-value"
    assert registry.get_compatibility() == "BACKWARD"
    v1 = avro(unique_name)
    v2 = avro(unique_name, {"name": "tag", "type": ["null", "string"], "default": None})
    breaking = avro(unique_name, {"name": "count", "type": "long"})  # a new field without default

    id1 = registry.register_schema(subject, v1)
    id2 = registry.register_schema(subject, v2)
    assert id2 != id1
    assert registry.register_schema(subject, v1) == id1  # the same schema again: the same id
    with pytest.raises(SchemaRegistryError) as refused:
        registry.register_schema(subject, breaking)
    assert refused.value.http_status_code == 409
    assert registry.get_versions(subject) == [1, 2]


@pytest.mark.disrupts_stack
def test_schemas_survive_dev_down_and_up(registry, registry_url, unique_name):
    subject, schema = f"{unique_name}-value", avro(unique_name)
    schema_id = registry.register_schema(subject, schema)

    down = dev("down", "registry")
    assert down.returncode == 0 and "stopped" in down.stdout, down.stdout + down.stderr
    up = dev("up", "registry")
    assert up.returncode == 0 and "registry   ready" in up.stdout, up.stdout + up.stderr

    served(registry_url, subject, schema_id, schema)
    assert SchemaRegistryClient({"url": registry_url}).get_compatibility() == "BACKWARD"


@pytest.mark.disrupts_stack
def test_a_sigkill_of_the_registry_loses_no_acknowledged_schema(registry, registry_url, unique_name):
    # One attempt per request: a registration was either acknowledged before the kill or failed.
    client = SchemaRegistryClient({"url": registry_url, "max.retries": 0, "timeout": 5})
    acked: dict[str, tuple[int, Schema]] = {}

    def write(i: int) -> None:
        subject, schema = f"{unique_name}-{i}-value", avro(f"{unique_name}_{i}")
        acked[subject] = (client.register_schema(subject, schema), schema)

    kill_mid_writes("registry", write, acked, 20)  # the kill shows as a connection error

    subjects = set(SchemaRegistryClient({"url": registry_url}).get_subjects())
    assert set(acked) <= subjects, f"acknowledged but lost: {sorted(set(acked) - subjects)[:5]}"
    for subject, (schema_id, schema) in acked.items():
        served(registry_url, subject, schema_id, schema)
