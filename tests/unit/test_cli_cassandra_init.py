"""`sluice cassandra init`: the connector's connection keys over the environment's, the serving tables created or
found, each printed; a config Sluice cannot use exits 2 naming its key."""

import json
from types import SimpleNamespace

import pytest

from ingest import cassandra_client
from ingest.cli import main
from ingest.serving.mapping import SEED


@pytest.fixture
def clusters(monkeypatch, tmp_path) -> list:
    """The settings each cluster is built with; the cluster's metadata lists analytics.events_by_time only."""
    monkeypatch.setenv("SLUICE_STACK_DIR", str(tmp_path / "no-stack"))
    monkeypatch.delenv("SLUICE_CASSANDRA_KEYSPACE", raising=False)
    monkeypatch.setenv("SLUICE_CASSANDRA_HOSTS", "10.0.0.7")
    built = []

    class Session:
        cluster = SimpleNamespace(metadata=SimpleNamespace(keyspaces={
            "analytics": SimpleNamespace(tables={"events_by_time": object()})}))

        def execute(self, cql):
            built.append(" ".join(cql.split()[:6]))

    class Cluster:
        def connect(self):
            return Session()

        def shutdown(self):
            built.append("shutdown")

    monkeypatch.setattr(cassandra_client, "cassandra_cluster", lambda settings: built.append(settings) or Cluster())
    return built


def test_init_creates_what_is_missing_and_prints_each_table(clusters, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LOADER_PASSWORD", "pa55")
    config = json.loads(SEED.read_text())
    config["config"] |= {"auth.username": "admin", "auth.password": "${env:LOADER_PASSWORD}"}
    path = tmp_path / "sink.json"
    path.write_text(json.dumps(config))

    assert main(["cassandra", "init", "--config", str(path)]) == 0

    settings = clusters[0]
    assert (settings.hosts, settings.username, settings.password) == (("10.0.0.7",), "admin", "pa55")
    assert clusters[1:] == ["CREATE TABLE IF NOT EXISTS analytics.hourly_event_counts", "shutdown"]
    assert capsys.readouterr().out.splitlines() == [
        "found    keyspace analytics", "found    table analytics.events_by_time",
        "created  table analytics.hourly_event_counts"]


def test_a_config_sluice_cannot_use_exits_2_naming_the_key(clusters, capsys, tmp_path):
    path = tmp_path / "sink.json"
    path.write_text(json.dumps({"config": {"auth.provider": "GSSAPI"}}))

    assert main(["cassandra", "init", "--config", str(path)]) == 2

    assert "config key 'auth.provider'" in capsys.readouterr().err
    assert clusters == []
