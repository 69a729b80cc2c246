"""The dbt project object, built once; the manifest is prepared, not parsed at every import.

`./dev` prepares it (`dagster-dbt project prepare-and-package --file orchestration/dbt_project.py`) before tests
and the demo; under `dagster dev` the code location prepares it when it loads (dagster-dbt's `prepare_if_dev`,
guarded against concurrent writers), so edited models show up on a reload. Run processes started from that code
location inherit SLUICE_DBT_PREPARED and do not parse again.

The preparation parses with the `--vars` the hourly runs pass (the lake's names, from the same SLUICE_* variables
as the lake resource: `orchestration/lib/dbt_args.py`), so a run's dbt reuses target/partial_parse.msgpack
instead of parsing the whole project again.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from ingest.connections import REPO_ROOT
from ingest.lake import names
from orchestration.lib.dbt_args import lake_vars


def prepare_args(lake: names.LakeNames, raw_root: str = names.LANDED_DIR) -> list[str]:
    """`dbt parse` with the `--vars` of the hourly runs of a lake resource bound to `lake`."""
    return ["parse", "--quiet", "--vars", json.dumps(lake_vars(lake.bucket, raw_root, lake.topic), sort_keys=True)]


PREPARE_ARGS = prepare_args(names.LakeNames.from_env())
dbt_project = DbtProject(project_dir=REPO_ROOT / "dbt_project", profiles_dir=REPO_ROOT / "dbt_project",
                         target=os.environ.get("SLUICE_DBT_TARGET", "dev"), prepare_project_cli_args=PREPARE_ARGS)


def prepare_if_dev() -> None:
    """dagster-dbt's `prepare_if_dev`, once per process tree."""
    if os.environ.get("DAGSTER_IS_DEV_CLI") and os.environ.get("SLUICE_DBT_PREPARED") != "1":
        if shutil.which("dbt") is None:  # dagster-dbt's preparer runs `dbt`: the venv's, if it is not on PATH
            os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        dbt_project.prepare_if_dev()
        reparse_seeds()
        os.environ["SLUICE_DBT_PREPARED"] = "1"


def reparse_seeds() -> None:
    """One partial `dbt parse` in place after dagster-dbt's preparation. The preparation marks every seed changed in
    partial_parse.msgpack (for a project moved after it was parsed); left so, every run's dbt would parse the seed
    and the models that ref it again (~0.8 s of each hourly run). Under `dagster dev` the project never moves."""
    DbtCliResource(project_dir=dbt_project).cli(PREPARE_ARGS, target_path=dbt_project.target_path).wait()
