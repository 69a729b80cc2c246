"""dbt-duckdb plugin: every DuckDB connection dbt opens reaches the lake through Sluice's S3 settings.

Named in dbt_project/profiles.yml (`plugins: [{module: ingest.lake.dbt_plugin}]`). It loads httpfs from its PyPI
package (no download at run time) and creates an S3 secret from the same settings as the rest of Sluice:
environment first, then the stack's `.stack/env`, then the local defaults.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from ingest.connections import Connections
from ingest.lake.connection import httpfs_path, s3_secret_sql


class Plugin(BasePlugin):
    def configure_connection(self, con) -> None:
        con.execute(f"load '{httpfs_path()}'")
        sql, params = s3_secret_sql(Connections.from_env().s3)
        con.execute(sql, params)
