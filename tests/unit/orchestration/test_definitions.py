import importlib
import os
import subprocess
import sys
from unittest import mock

import dagster as dg
import yaml

from ingest.connections import REPO_ROOT

# Imports every module of the code location in a fresh process (a `dagster dev` one, where preparing the dbt
# project would parse it) and prints what the import did: the factories called, the variables written.
IMPORT_ONLY = """
import os
before = dict(os.environ)
import orchestration.definitions
from orchestration.assets.dbt import dbt_models, lake_models
from orchestration.dbt_project import dbt_project
print(dbt_project.cache_info().currsize, dbt_models.cache_info().currsize, lake_models.cache_info().currsize,
      sorted(set(os.environ.items()) ^ set(before.items())))
"""


def test_workspace_points_at_a_loadable_code_location():
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    module_name = workspace["load_from"][0]["python_module"]["module_name"]

    with mock.patch.dict(os.environ):  # resources bound from .stack/env export its secrets: not to other tests
        dg.Definitions.validate_loadable(importlib.import_module(module_name).defs())


def test_importing_the_code_location_builds_nothing_and_writes_no_variable():
    env = {**os.environ, "DAGSTER_IS_DEV_CLI": "1", "SLUICE_DBT_PREPARED": ""}
    result = subprocess.run([sys.executable, "-c", IMPORT_ONLY], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == "0 0 0 []"


def test_the_dbt_assets_are_built_once_per_process():
    from orchestration.assets.dbt import dbt_models

    assert dbt_models() is dbt_models()
    assert dbt_models().op.name == "sluice_dbt_models"  # the step key runs and the UI name


def test_a_secret_is_an_env_var_whether_it_came_from_the_environment_or_the_stacks_env_file(monkeypatch):
    from orchestration.resources import secret

    monkeypatch.setenv("SLUICE_TEST_SECRET_A", "from-the-environment")
    monkeypatch.delenv("SLUICE_TEST_SECRET_B", raising=False)
    assert secret("SLUICE_TEST_SECRET_A", "from-the-environment") == dg.EnvVar("SLUICE_TEST_SECRET_A")
    assert secret("SLUICE_TEST_SECRET_B", "from-the-env-file") == dg.EnvVar("SLUICE_TEST_SECRET_B")
    assert dg.EnvVar("SLUICE_TEST_SECRET_B").get_value() == "from-the-env-file"  # resolves in this process
    assert secret("SLUICE_TEST_SECRET_A", "given-in-code") == "given-in-code"  # not the environment's: as given
    assert secret("SLUICE_TEST_SECRET_C", "") is None
    monkeypatch.delenv("SLUICE_TEST_SECRET_B")
