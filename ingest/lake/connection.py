"""DuckDB over the lake: a connection that reads and writes s3:// paths through the configured S3 endpoint.

The httpfs and aws extensions come from PyPI (duckdb-extension-httpfs, duckdb-extension-aws) and are loaded from
their files, so nothing is downloaded from DuckDB's extension site at run time. Explicit keys are used when set;
otherwise DuckDB takes credentials from the same chain boto3 does (environment, profiles, instance roles:
`PROVIDER credential_chain`), and none at all (a public bucket) is not an error.
"""

from __future__ import annotations

import importlib.resources
from urllib.parse import urlparse

import duckdb

from ingest.connections import S3Settings


def _extension(name: str) -> str:
    path = importlib.resources.files(f"duckdb_extension_{name}") / "extensions" / f"v{duckdb.__version__}"
    return str(path / f"{name}.duckdb_extension")


def httpfs_path() -> str:
    return _extension("httpfs")


def aws_path() -> str:
    return _extension("aws")


def s3_settings(s3: S3Settings) -> dict[str, str]:
    """DuckDB's s3_* settings for the configured endpoint: path-style unless turned off (S3Proxy, moto and MinIO
    want it), the keys and session token when given, and the KMS key of SSE-KMS (DuckDB then asks for aws:kms on
    every write; SSE-S3, AES256, is the bucket's default encryption, which DuckDB has no header for)."""
    settings = {"s3_region": s3.region, "s3_url_style": "path" if s3.path_style else "vhost"}
    if s3.endpoint:
        url = urlparse(s3.endpoint)
        settings |= {"s3_endpoint": url.netloc, "s3_use_ssl": str(url.scheme == "https").lower()}
    if s3.access_key_id:
        settings |= {"s3_access_key_id": s3.access_key_id, "s3_secret_access_key": s3.secret_access_key}
    if s3.session_token:
        settings["s3_session_token"] = s3.session_token
    if s3.sse_kms_key_id:
        settings["s3_kms_key_id"] = s3.sse_kms_key_id
    return settings


def s3_secret_sql(s3: S3Settings) -> tuple[str, dict[str, str]]:
    """A DuckDB `CREATE SECRET` for the lake (all cursors of the database use it) and its parameters."""
    names = {"s3_region": "REGION", "s3_url_style": "URL_STYLE", "s3_endpoint": "ENDPOINT", "s3_use_ssl": "USE_SSL",
             "s3_access_key_id": "KEY_ID", "s3_secret_access_key": "SECRET", "s3_session_token": "SESSION_TOKEN",
             "s3_kms_key_id": "KMS_KEY_ID"}
    settings = s3_settings(s3)
    params = {key: value for key, value in settings.items() if key != "s3_use_ssl"}
    options = [f"{names[key]} ${key}" for key in params]
    if "s3_use_ssl" in settings:
        options.append(f"USE_SSL {settings['s3_use_ssl']}")
    if not s3.access_key_id:  # boto3's chain (needs the aws extension: load_extensions)
        options = ["PROVIDER credential_chain", "VALIDATION 'none'", *options]
    return f"create or replace secret sluice_lake (TYPE s3, {', '.join(options)})", params


def load_extensions(con: duckdb.DuckDBPyConnection, s3: S3Settings) -> None:
    """httpfs, and the aws extension when the credentials come from the chain; the CA bundle of an endpoint with a
    private CA."""
    con.execute(f"load '{httpfs_path()}'")
    if s3.ca_bundle:
        con.execute("set ca_cert_file = $path", {"path": s3.ca_bundle})
    if not s3.access_key_id:
        con.execute(f"load '{aws_path()}'")


def lake_connection(s3: S3Settings, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(database)
    load_extensions(con, s3)
    for key, value in s3_settings(s3).items():
        con.execute(f"set {key} = $value", {"value": value})
    if not s3.access_key_id:
        con.execute(*s3_secret_sql(s3))
    return con
