"""The dbt project object, built once; the manifest is prepared, not parsed at every import.

`./dev` prepares it (`dagster-dbt project prepare-and-package --file orchestration/dbt_project.py`) before tests
and the demo; under `dagster dev` the code location prepares it when it loads (dagster-dbt's `prepare_if_dev`,
guarded against concurrent writers), so edited models show up on a reload. Run and step processes started from
that code location inherit SLUICE_DBT_PREPARED and do not parse again.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from ingest.connections import REPO_ROOT

dbt_project = DbtProject(project_dir=REPO_ROOT / "dbt_project", profiles_dir=REPO_ROOT / "dbt_project",
                         target=os.environ.get("SLUICE_DBT_TARGET", "dev"))


def prepare_if_dev() -> None:
    """dagster-dbt's `prepare_if_dev`, once per process tree."""
    if os.environ.get("DAGSTER_IS_DEV_CLI") and os.environ.get("SLUICE_DBT_PREPARED") != "1":
        if shutil.which("dbt") is None:  # dagster-dbt's preparer runs `dbt`: the venv's, if it is not on PATH
            os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        dbt_project.prepare_if_dev()
        os.environ["SLUICE_DBT_PREPARED"] = "1"
