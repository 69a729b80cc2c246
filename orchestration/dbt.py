"""The dbt project as Dagster assets: partitioned by hour, the window passed as vars, tests as asset checks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from ingest.connections import REPO_ROOT
from orchestration.partitions import hourly, iso
from orchestration.resources import LakeResource

project = DbtProject(project_dir=REPO_ROOT / "dbt_project", profiles_dir=REPO_ROOT / "dbt_project",
                     target=os.environ.get("SLUICE_DBT_TARGET", "dev"))


def _manifest_is_stale() -> bool:
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = [p for p in Path(project.project_dir).rglob("*") if p.suffix in (".sql", ".yml", ".csv")
               and "target" not in p.parts]
    return any(p.stat().st_mtime > built for p in sources)


DBT = str(Path(sys.executable).parent / "dbt")  # the venv's dbt, whether or not the venv is on PATH
if _manifest_is_stale():  # a fresh clone or edited models: parse before the assets are built from the manifest
    subprocess.run([DBT, "parse", "--quiet", "--project-dir", str(project.project_dir), "--profiles-dir",
                    str(project.profiles_dir), "--target", project.target], check=True)


class SluiceTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props) -> str | None:
        return "transform"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=DBT)


@dbt_assets(
    manifest=project.manifest_path,
    project=project,
    partitions_def=hourly,
    backfill_policy=dg.BackfillPolicy.single_run(),  # a range of hours is one dbt invocation over its window
    dagster_dbt_translator=SluiceTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
)
def sluice_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource):
    """dbt build of the window: staging, enrichment and marts written to the lake's curated zone."""
    window = context.partition_time_window
    dbt_vars = {"window_start": iso(window.start), "window_end": iso(window.end), "lake_bucket": lake.bucket,
                "raw_root": lake.landed_dir, "raw_topic": lake.topic}
    context.log.info("dbt build for %s .. %s", dbt_vars["window_start"], dbt_vars["window_end"])
    yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream()
