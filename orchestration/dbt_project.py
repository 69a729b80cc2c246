"""The dbt project object, built on first use; the manifest is prepared, not parsed at every import.

Importing this module does nothing: `dbt_project()` builds the project once per process from the environment.
`./dev` prepares the manifest before tests and the demo (`python -m orchestration.dbt_project`: dagster-dbt's
prepare-and-package of this project); under `dagster dev` the first `dbt_project()` of the code location prepares
it (dagster-dbt's `prepare_if_dev`, guarded against concurrent writers), so edited models show up on a reload.
Run processes started from that code location inherit SLUICE_DBT_PREPARED and do not parse again.

The preparation parses with the `--vars` the hourly runs pass (the lake's names, from the same SLUICE_* variables
as the lake resource: `orchestration/lib/dbt_args.py`), so a run's dbt reuses target/partial_parse.msgpack
instead of parsing the whole project again.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from ingest.connections import REPO_ROOT
from ingest.lake import names
from orchestration.lib.dbt_args import environ, lake_vars

PREPARED = "SLUICE_DBT_PREPARED"  # set once the code location prepared the project: its run processes inherit it


def prepare_args(lake: names.LakeNames, raw_root: str = names.LANDED_DIR) -> list[str]:
    """`dbt parse` with the `--vars` of the hourly runs of a lake resource bound to `lake`."""
    return ["parse", "--quiet", "--vars", json.dumps(lake_vars(lake.bucket, raw_root, lake.topic), sort_keys=True)]


def build_project(args: list[str]) -> DbtProject:
    """The repository's dbt project on the target SLUICE_DBT_TARGET (dev), prepared with `dbt <args>`."""
    return DbtProject(project_dir=REPO_ROOT / "dbt_project", profiles_dir=REPO_ROOT / "dbt_project",
                      target=os.environ.get("SLUICE_DBT_TARGET", "dev"), prepare_project_cli_args=args)


@cache
def dbt_project() -> DbtProject:
    """The dbt project of this process, prepared first when the process is `dagster dev`'s."""
    args = prepare_args(names.LakeNames.from_env())
    project = build_project(args)
    prepare_if_dev(project, args)
    return project


def prepare_if_dev(project: DbtProject, args: list[str]) -> None:
    """dagster-dbt's `prepare_if_dev`, then `reparse_seeds`, once per process tree."""
    if os.environ.get("DAGSTER_IS_DEV_CLI") and os.environ.get(PREPARED) != "1":
        with environ(dbt_on_path()):
            project.prepare_if_dev()
            reparse_seeds(project, args)
        os.environ[PREPARED] = "1"  # not at import: the code location's first load, inherited by its runs


def dbt_on_path() -> dict[str, str]:
    """PATH with the venv's `dbt` when it is not on PATH: dagster-dbt's preparer runs `dbt` by name."""
    path = os.environ.get("PATH", "")
    return {} if shutil.which("dbt") else {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{path}"}


def reparse_seeds(project: DbtProject, args: list[str]) -> None:
    """One partial `dbt parse` in place after dagster-dbt's preparation. The preparation marks every seed changed in
    partial_parse.msgpack (for a project moved after it was parsed); left so, every run's dbt would parse the seed
    and the models that ref it again (~0.8 s of each hourly run). Under `dagster dev` the project never moves."""
    DbtCliResource(project_dir=project).cli(args, target_path=project.target_path).wait()


def prepare_and_package() -> None:
    """What `dagster-dbt project prepare-and-package` does for a module-level project, for this factory's."""
    from dagster_dbt.cli.app import prepare_and_package as package

    with environ(dbt_on_path()):
        package(build_project(prepare_args(names.LakeNames.from_env())))


if __name__ == "__main__":
    prepare_and_package()
