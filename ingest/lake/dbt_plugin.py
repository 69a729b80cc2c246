"""dbt-duckdb plugin: every DuckDB connection dbt opens reaches the lake through Sluice's S3 settings.

Named in dbt_project/profiles.yml (`plugins: [{module: ingest.lake.dbt_plugin}]`). It loads httpfs (and aws) from
their PyPI packages (no download at run time) and creates an S3 secret from the same settings as the rest of Sluice:
environment first, then the stack's `.stack/env`, then the local defaults.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from ingest.connections import Connections
from ingest.lake.connection import load_extensions, s3_secret_sql


class Plugin(BasePlugin):
    def configure_connection(self, con) -> None:
        s3 = Connections.from_env().s3
        load_extensions(con, s3)
        con.execute(*s3_secret_sql(s3))
