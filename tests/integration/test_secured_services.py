"""Every client of Sluice through the stack's secured side, with one shared setting: `.stack/secure.env` (Kafka's
SASL_SSL listener with SCRAM-SHA-512 and the stack's CA, the schema registry behind TLS and basic auth, Cassandra
over TLS with a login) given as the environment, as a team would give its Confluent Cloud / Astra settings.

`sluice produce` (Avro, registering through the secured registry), `sluice check`, the sink with its DLQ producer and
admin client, an hour of `hourly_flow` whose raw asset audits the DLQ, the DLQ growth sensor and `dlq_reprocess`
reading Avro dead letters through the registry resource all succeed; without the password they fail naming the
authentication."""

from __future__ import annotations

import os
import subprocess

import dagster as dg
import pytest

from ingest.connections import Connections, read_env_file, stack_dir
from ingest.lake.names import LakeNames
from orchestration.assets.cassandra import cassandra_events_by_time
from orchestration.assets.dbt import dbt_models
from orchestration.assets.raw import raw_events
from orchestration.jobs import dlq_reprocess
from orchestration.resources import LakeResource, default_resources
from orchestration.sensors import dlq_growth_sensor_for
from support.sink import SLUICE, run_sink, sink_config

HOUR = "2024-01-15-10:00"


@pytest.fixture(scope="module")
def secure_env(kafka, cassandra, registry) -> dict[str, str]:
    path = stack_dir() / "secure.env"
    assert path.is_file(), f"{path} is missing: ./dev up writes it"
    return read_env_file(path)


def sluice(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SLUICE, *args], env=os.environ | env, capture_output=True, text=True, timeout=120)


def test_every_client_reaches_the_secured_services_with_one_setting(tmp_path, secure_env, names, cassandra):
    topic, dlq, bucket, connector = names["topic"], names["dlq"], names["bucket"], names["name"]
    checked = sluice(secure_env, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    produced = sluice(secure_env, "produce", "--topic", topic, "--count", "600", "--partitions", "2",
                      "--bad-ratio", "0.1", "--format", "avro", "--start", "2024-01-15T10:00:00Z", "--hours", "1",
                      "--seed", "5")
    assert produced.returncode == 0, produced.stdout + produced.stderr

    config = sink_config(tmp_path, connector, topics=topic, **{
        "s3.bucket.name": bucket, "timestamp.extractor": "RecordField", "timestamp.field": "event_time",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.context.headers.enable": "true",
        "value.converter": "io.confluent.connect.avro.AvroConverter"})
    done = run_sink(config, env=os.environ | secure_env)
    assert done.returncode == 0, done.stdout[-3000:]

    connections = Connections.from_env(os.environ | secure_env)
    resources = default_resources(connections, LakeNames(bucket=bucket, topic=topic, dlq_topic=dlq,
                                                         connector=connector), keyspace=bucket)
    served = dg.materialize([raw_events, dbt_models(), cassandra_events_by_time], partition_key=HOUR,
                            resources=resources)
    assert served.success
    failed = [c.check_name for c in served.get_asset_check_evaluations() if not c.passed]
    assert failed == []  # the offset audit read the DLQ over SASL_SSL
    rows = cassandra.execute(f"SELECT count(*) FROM {bucket}.events_by_time WHERE event_date = '2024-01-15'").one()
    assert rows.count > 400

    sensor = dlq_growth_sensor_for(dlq_reprocess, dlq, threshold=1)
    with dg.build_sensor_context(resources={"kafka": resources["kafka"]}) as context:
        assert f"ALERT: DLQ {dlq} grew by" in sensor(context).skip_message

    result = dlq_reprocess.execute_in_process(
        run_config={"ops": {"reprocess": {"config": {"dlq_topic": dlq, "parking_topic": f"{dlq}-parked",
                                                     "group_id": f"{dlq}-reprocess"}}}},
        resources={**{k: resources[k] for k in ("kafka", "s3", "schema_registry")},
                   "lake": LakeResource(bucket=bucket, connector=connector)})
    assert result.success
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata
    assert metadata["read"].value > 0
    assert metadata["replayed"].value + metadata["parked"].value == metadata["read"].value
    assert "no schema registry" not in str(metadata["parked_reasons"].value)  # the Avro letters were read


@pytest.mark.parametrize("service", ["kafka", "registry", "cassandra"])
def test_without_the_password_each_secured_service_refuses_naming_the_authentication(secure_env, service):
    wrong = {"kafka": {"SLUICE_KAFKA_SASL_PASSWORD": "wrong"},
             "registry": {"SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": "sluice:wrong"},
             "cassandra": {"SLUICE_CASSANDRA_PASSWORD": "wrong"}}[service]
    checked = sluice(secure_env | wrong, "check", service)
    said = checked.stdout + checked.stderr
    assert checked.returncode != 0
    assert any(word in said.lower() for word in ("authentication", "unauthorized", "401", "bad credentials")), said
