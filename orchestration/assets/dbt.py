"""The dbt project as Dagster assets: partitioned by hour, the window passed as vars, tests as asset checks.

`@dbt_assets` reads the manifest when it decorates, so the assets are built on first use (`dbt_models()`, from the
definitions), as dagster-open-platform builds its dbt assets: importing this module reads no file and no variable.
"""

import json
from functools import cache

import dagster as dg
from dagster_aws.s3 import S3Resource
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from ingest.lake.curated import model_rows
from ingest.lake.names import CURATED_DIR
from orchestration.dbt_project import dbt_project
from orchestration.lib.dbt_args import dbt_build_args, dbt_vars, environ, window_env
from orchestration.metadata import table_metadata
from orchestration.partitions import hourly_asset_args, window_hours
from orchestration.resources import LakeResource, lake_connection


class SluiceTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props) -> str | None:
        return "transform"


@cache
def dbt_models() -> dg.AssetsDefinition:
    """The dbt models of the prepared manifest as one multi-asset, `sluice_dbt_models` (its op's name)."""
    project = dbt_project()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        **hourly_asset_args,
        dagster_dbt_translator=SluiceTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    )
    def sluice_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource,
                          s3: S3Resource):
        """dbt build of the window: staging, enrichment and marts written to the lake's curated zone."""
        window = context.partition_time_window
        variables = dbt_vars(window.start, window.end, lake.bucket, lake.landed_dir, lake.topic)
        context.log.info("dbt build for %s .. %s", variables["window_start"], variables["window_end"])
        with environ(window_env(variables)):  # the window outside --vars: dbt parses nothing again (lib/dbt_args.py)
            invocation = dbt.cli(dbt_build_args(variables), context=context)
        hours = window_hours(context)
        with lake_connection(s3) as con:
            for event in invocation.stream():  # a model of the lake: its row count for the window and its location
                if isinstance(event, dg.Output) and event.output_name in lake_models():
                    rows = model_rows(con, lake.bucket, event.output_name, hours)
                    table = f"s3://{lake.bucket}/{CURATED_DIR}/{event.output_name}"
                    event = event.with_metadata({**event.metadata, **table_metadata(context, rows, table)})
                yield event

    return sluice_dbt_models


@cache
def lake_models() -> frozenset[str]:
    """The dbt models written to the lake's curated zone, from the prepared manifest."""
    nodes = json.loads(dbt_project().manifest_path.read_text())["nodes"].values()
    return frozenset(n["name"] for n in nodes
                     if n["resource_type"] == "model" and n["config"].get("materialized") == "lake_window")

