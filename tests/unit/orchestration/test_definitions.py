import importlib

import dagster as dg
import yaml

from ingest.connections import REPO_ROOT


def test_workspace_points_at_a_loadable_code_location():
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    module_name = workspace["load_from"][0]["python_module"]["module_name"]

    defs = importlib.import_module(module_name).defs

    assert isinstance(defs, dg.Definitions)
    dg.Definitions.validate_loadable(defs)


def test_asset_jobs_run_their_steps_in_the_run_process():
    from orchestration.jobs import daily_aggregates, hourly_flow

    for job in (hourly_flow, daily_aggregates):
        assert job.executor_def is dg.in_process_executor, job.name


def test_a_secret_is_an_env_var_whether_it_came_from_the_environment_or_the_stacks_env_file(monkeypatch):
    import dagster as dg

    from orchestration.resources import secret

    monkeypatch.setenv("SLUICE_TEST_SECRET_A", "from-the-environment")
    monkeypatch.delenv("SLUICE_TEST_SECRET_B", raising=False)
    assert secret("SLUICE_TEST_SECRET_A", "from-the-environment") == dg.EnvVar("SLUICE_TEST_SECRET_A")
    assert secret("SLUICE_TEST_SECRET_B", "from-the-env-file") == dg.EnvVar("SLUICE_TEST_SECRET_B")
    assert dg.EnvVar("SLUICE_TEST_SECRET_B").get_value() == "from-the-env-file"  # resolves in this process
    assert secret("SLUICE_TEST_SECRET_A", "given-in-code") == "given-in-code"  # not the environment's: as given
    assert secret("SLUICE_TEST_SECRET_C", "") is None
    monkeypatch.delenv("SLUICE_TEST_SECRET_B")
