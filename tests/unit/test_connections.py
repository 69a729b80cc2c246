import pytest

from ingest.connections import DEFAULTS, Connections, read_env_file
from ingest.errors import ConfigError


def test_process_env_wins_over_env_file_which_wins_over_defaults(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nSLUICE_KAFKA_BOOTSTRAP=127.0.0.1:19092\nSLUICE_CASSANDRA_PORT=19042\n")

    connections = Connections.from_env({"SLUICE_CASSANDRA_PORT": "29042"}, env_file=env_file)

    assert connections.kafka_bootstrap == "127.0.0.1:19092"
    assert connections.cassandra_port == 29042
    assert connections.s3_endpoint == DEFAULTS["SLUICE_S3_ENDPOINT"]


def test_hosts_are_split_on_commas(tmp_path):
    connections = Connections.from_env({"SLUICE_CASSANDRA_HOSTS": "c1, c2,,c3"}, env_file=tmp_path / "none")
    assert connections.cassandra_hosts == ("c1", "c2", "c3")


def test_secrets_never_show_in_repr_or_describe(tmp_path):
    connections = Connections.from_env(
        {
            "SLUICE_S3_SECRET_ACCESS_KEY": "s3cr3t",
            "SLUICE_CASSANDRA_PASSWORD": "pa55",
            "SLUICE_CASSANDRA_USERNAME": "u",
        },
        env_file=tmp_path / "none",
    )
    assert "s3cr3t" not in repr(connections) and "pa55" not in repr(connections)
    shown = connections.describe()
    assert shown["s3_secret_access_key"] == "****"
    assert shown["cassandra_password"] == "****"
    assert shown["cassandra_username"] == "u"


def test_a_port_that_is_not_a_number_is_named(tmp_path):
    with pytest.raises(ConfigError, match="SLUICE_CASSANDRA_PORT.*'90x42'"):
        Connections.from_env({"SLUICE_CASSANDRA_PORT": "90x42"}, env_file=tmp_path / "none")


def test_env_file_accepts_export_and_quotes(tmp_path):
    path = tmp_path / "env"
    path.write_text("export A='1'\nB=\"two\"\n\nnot a pair\n")
    assert read_env_file(path) == {"A": "1", "B": "two"}
