"""DuckDB's S3 settings and secret for the lake, from the configured endpoint and keys (no network)."""

import duckdb

from ingest.connections import S3Settings
from ingest.lake.connection import lake_connection, s3_secret_sql, s3_settings

LOCAL = S3Settings("http://127.0.0.1:9000", "us-east-1")
KEYED = S3Settings("https://minio.example:9443", "eu-west-1", "AKIAEXAMPLE", "secret/key")


def test_an_http_endpoint_is_used_path_style_without_ssl():
    assert s3_settings(LOCAL) == {"s3_region": "us-east-1", "s3_url_style": "path",
                                  "s3_endpoint": "127.0.0.1:9000", "s3_use_ssl": "false"}


def test_an_https_endpoint_with_keys_uses_ssl_and_the_keys():
    assert s3_settings(KEYED) == {"s3_region": "eu-west-1", "s3_url_style": "path",
                                  "s3_endpoint": "minio.example:9443", "s3_use_ssl": "true",
                                  "s3_access_key_id": "AKIAEXAMPLE", "s3_secret_access_key": "secret/key"}


def test_without_an_endpoint_only_region_and_url_style_are_set():
    assert s3_settings(S3Settings(region="ap-south-1")) == {"s3_region": "ap-south-1", "s3_url_style": "path"}


def test_the_secret_passes_every_setting_as_a_parameter_but_use_ssl():
    assert s3_secret_sql(KEYED) == (
        "create or replace secret sluice_lake (TYPE s3, REGION $s3_region, URL_STYLE $s3_url_style, "
        "ENDPOINT $s3_endpoint, KEY_ID $s3_access_key_id, SECRET $s3_secret_access_key, USE_SSL true)",
        {"s3_region": "eu-west-1", "s3_url_style": "path", "s3_endpoint": "minio.example:9443",
         "s3_access_key_id": "AKIAEXAMPLE", "s3_secret_access_key": "secret/key"})


def test_the_secret_of_a_local_endpoint_without_keys_takes_the_credential_chain():
    assert s3_secret_sql(LOCAL) == (
        "create or replace secret sluice_lake (TYPE s3, PROVIDER credential_chain, VALIDATION 'none', "
        "REGION $s3_region, URL_STYLE $s3_url_style, ENDPOINT $s3_endpoint, USE_SSL false)",
        {"s3_region": "us-east-1", "s3_url_style": "path", "s3_endpoint": "127.0.0.1:9000"})


def test_the_secret_of_aws_without_endpoint_or_keys():
    assert s3_secret_sql(S3Settings()) == (
        "create or replace secret sluice_lake (TYPE s3, PROVIDER credential_chain, VALIDATION 'none', "
        "REGION $s3_region, URL_STYLE $s3_url_style)",
        {"s3_region": "us-east-1", "s3_url_style": "path"})


def test_the_secret_sql_is_accepted_by_duckdb():
    con = lake_connection(KEYED)
    try:
        sql, params = s3_secret_sql(KEYED)
        con.execute(sql, params)
        assert con.sql("select name, type, provider from duckdb_secrets()").fetchall() == [
            ("sluice_lake", "s3", "config")]
    finally:
        con.close()


def test_a_lake_connection_is_duckdb_set_to_the_configured_endpoint():
    con = lake_connection(KEYED)
    try:
        assert isinstance(con, duckdb.DuckDBPyConnection)
        assert con.sql("select current_setting('s3_endpoint'), current_setting('s3_use_ssl'), "
                       "current_setting('s3_url_style'), current_setting('s3_region'), "
                       "current_setting('s3_access_key_id')").fetchone() == (
            "minio.example:9443", True, "path", "eu-west-1", "AKIAEXAMPLE")
    finally:
        con.close()


def test_a_lake_connection_to_a_local_endpoint_does_not_use_ssl():
    con = lake_connection(LOCAL)
    try:
        assert con.sql("select current_setting('s3_endpoint'), current_setting('s3_use_ssl')").fetchone() == (
            "127.0.0.1:9000", False)
    finally:
        con.close()


def test_without_keys_duckdb_takes_the_credentials_boto3_would(monkeypatch, tmp_path):
    """The AWS chain: here its environment variables (profiles and instance roles are the same chain)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMTHECHAIN")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain/secret")
    con = lake_connection(LOCAL)
    try:
        [(provider, secret)] = con.sql("select provider, secret_string from duckdb_secrets()").fetchall()
        assert provider == "credential_chain"
        assert "key_id=AKIDFROMTHECHAIN" in secret and "endpoint=127.0.0.1:9000" in secret
        assert "chain/secret" not in secret  # redacted
    finally:
        con.close()


def test_without_keys_or_a_chain_a_connection_still_opens(monkeypatch, tmp_path):
    """A public bucket needs no credentials: an empty chain is not an error."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    con = lake_connection(S3Settings(region="eu-west-1"))
    try:
        [(provider, secret)] = con.sql("select provider, secret_string from duckdb_secrets()").fetchall()
        assert provider == "credential_chain" and "key_id" not in secret and "region=eu-west-1" in secret
    finally:
        con.close()
