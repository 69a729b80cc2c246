"""Running the dbt project as a developer would (`dbt build` in dbt_project/), against one test's bucket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ingest.connections import REPO_ROOT

PROJECT = REPO_ROOT / "dbt_project"
DBT = str(Path(sys.executable).parent / "dbt")


def dbt(command: str, bucket: str, work: Path, window: tuple[str, str] | None = None,
        *args: str) -> subprocess.CompletedProcess:
    """`dbt <command>` on the `ci` target with the lake in `bucket`; output in .stdout."""
    argv = [DBT, *command.split(), "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--target", "ci",
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"), *args]
    if window is not None:
        argv += ["--vars", json.dumps({"window_start": window[0], "window_end": window[1]})]
    env = os.environ | {"SLUICE_LAKE_BUCKET": bucket, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
