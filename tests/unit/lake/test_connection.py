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


def test_the_secret_of_a_local_endpoint_without_keys():
    assert s3_secret_sql(LOCAL) == (
        "create or replace secret sluice_lake (TYPE s3, REGION $s3_region, URL_STYLE $s3_url_style, "
        "ENDPOINT $s3_endpoint, USE_SSL false)",
        {"s3_region": "us-east-1", "s3_url_style": "path", "s3_endpoint": "127.0.0.1:9000"})


def test_the_secret_of_aws_without_endpoint_or_keys():
    assert s3_secret_sql(S3Settings()) == (
        "create or replace secret sluice_lake (TYPE s3, REGION $s3_region, URL_STYLE $s3_url_style)",
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
