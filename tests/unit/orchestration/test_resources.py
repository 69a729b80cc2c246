import duckdb
import pytest
from dagster_aws.s3 import S3Resource

from ingest.connections import S3Settings
from orchestration import resources


class Boom(Exception):
    pass


@pytest.fixture
def opened(monkeypatch) -> list:
    """The connections `lake_connection` opens, on an in-memory DuckDB instead of the lake's S3."""
    connections = []

    def connect(settings: S3Settings) -> duckdb.DuckDBPyConnection:
        connections.append((settings, duckdb.connect()))
        return connections[-1][1]

    monkeypatch.setattr(resources, "connect_lake", connect)
    return connections


def closed(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        con.execute("select 1")
    except duckdb.ConnectionException:
        return True
    return False


def test_the_lake_connection_uses_the_s3_resources_endpoint_and_closes_after_the_block(opened):
    s3 = S3Resource(endpoint_url="http://127.0.0.1:9000", region_name="eu-west-1")
    with resources.lake_connection(s3) as con:
        assert con.execute("select 41 + 1").fetchone() == (42,)
    [(settings, con)] = opened
    assert (settings.endpoint, settings.region) == ("http://127.0.0.1:9000", "eu-west-1")
    assert closed(con)


def test_the_lake_connection_closes_when_the_block_raises(opened):
    with pytest.raises(Boom), resources.lake_connection(S3Resource()):
        raise Boom
    assert closed(opened[0][1])
