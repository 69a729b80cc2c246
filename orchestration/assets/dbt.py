"""The dbt project as Dagster assets: partitioned by hour, the window passed as vars, tests as asset checks."""

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.dbt_project import dbt_project, prepare_if_dev
from orchestration.lib.dbt_args import dbt_build_args, dbt_vars, environ, window_env
from orchestration.partitions import hourly_asset_args
from orchestration.resources import LakeResource

prepare_if_dev()  # under `dagster dev` only; elsewhere the manifest was prepared by ./dev


class SluiceTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props) -> str | None:
        return "transform"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    **hourly_asset_args,
    dagster_dbt_translator=SluiceTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
)
def sluice_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource):
    """dbt build of the window: staging, enrichment and marts written to the lake's curated zone."""
    window = context.partition_time_window
    variables = dbt_vars(window.start, window.end, lake.bucket, lake.landed_dir, lake.topic)
    context.log.info("dbt build for %s .. %s", variables["window_start"], variables["window_end"])
    with environ(window_env(variables)):  # the window outside --vars: dbt parses nothing again (lib/dbt_args.py)
        invocation = dbt.cli(dbt_build_args(variables), context=context)
    yield from invocation.stream()
